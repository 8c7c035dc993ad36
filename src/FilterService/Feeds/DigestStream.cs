using System.Security.Cryptography;

namespace FilterService.Feeds;

/// <summary>
/// With <c>Proxy:InlineCompletions</c> every socket completion in the process, the feed client's included, runs on
/// the epoll thread that carries the proxy's connections and the admin endpoint. A feed's work after a read (hashing,
/// writing, parsing 1.4M entries, the reload) must not run there: bench/load/feedupdate showed /metrics and the proxy
/// stalled for the whole update. So every continuation after a network read moves to the thread pool.
/// </summary>
internal static class FeedThreads
{
    /// <summary>Completes at once on a pool thread; elsewhere (the epoll thread) continues on the pool.</summary>
    public static async ValueTask LeaveSocketThread()
    {
        if (!Thread.CurrentThread.IsThreadPoolThread)
        {
            await Task.Yield();
        }
    }
}

/// <summary>Thrown by <see cref="DigestStream"/> past its limit.</summary>
internal sealed class FeedTooLargeException(long limit) : IOException($"larger than Feeds:MaxBytes ({limit:N0} bytes)");

/// <summary>
/// A read-only pass-through that counts bytes against a limit and computes the SHA-256 of everything read, so a
/// download is bounded and its digest known when the last byte arrives, without a second pass over it.
/// </summary>
internal sealed class DigestStream(Stream inner, long limit) : Stream
{
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long BytesRead { get; private set; }

    private byte[]? _digest;

    /// <summary>The SHA-256 of every byte read; call at the end (also after a reader disposed the stream).</summary>
    public byte[] Digest() => _digest ??= _sha.GetHashAndReset();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        return Count(buffer[..n]);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await inner.ReadAsync(buffer, cancellationToken);
        await FeedThreads.LeaveSocketThread();
        return Count(buffer.Span[..n]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Count(ReadOnlySpan<byte> read)
    {
        BytesRead += read.Length;
        if (BytesRead > limit)
        {
            throw new FeedTooLargeException(limit);
        }
        _sha.AppendData(read);
        return read.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            Digest();
            _sha.Dispose();
        }
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
