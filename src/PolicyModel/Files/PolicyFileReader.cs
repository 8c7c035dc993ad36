using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using PolicyModel.Diagnostics;

namespace PolicyModel.Files;

/// <summary>Told the bytes of one file as the loader read them (before any BOM is stripped).</summary>
public delegate void BytesRead(string file, ReadOnlySpan<byte> bytes);

/// <summary>
/// Every file a policy load reads goes through here, and every byte read goes into one SHA-256: the policy's version
/// is the hash of exactly what was compiled, in the order it was read, so nothing is read twice and no file is named
/// by its time or size. Each file is framed (its name, a NUL, its bytes, their count) so that moving bytes from one file
/// to the next changes the version. Not thread-safe: one reader per load.
/// </summary>
internal sealed class PolicyFileReader(string directory) : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>The policy directory the names are relative to.</summary>
    public string Directory { get; } = directory;

    /// <summary>The first 12 hex digits of the hash of everything read so far.</summary>
    public string Version => Convert.ToHexStringLower(_hash.GetCurrentHash())[..12];

    /// <summary>Adds one whole file's bytes, read elsewhere, to the version.</summary>
    public void Observe(string file, ReadOnlySpan<byte> bytes)
    {
        Begin(file);
        _hash.AppendData(bytes);
        End(bytes.Length);
    }

    /// <summary>
    /// The text of <paramref name="file"/> (relative to the policy directory) as <see cref="PolicyFiles.ReadText"/>
    /// reads it, with its bytes added to the version; null after reporting why not.
    /// </summary>
    public string? ReadText(string file, SourceLocation at, DiagnosticMessage cannotRead, string what, DiagnosticBag diagnostics, long maxBytes = PolicyFiles.MaxTableBytes) =>
        PolicyFiles.ReadText(Directory, file, at, cannotRead, what, diagnostics, maxBytes, Observe);

    /// <summary>Opens <paramref name="fullPath"/> for reading; what is read through the stream goes into the version under <paramref name="name"/>.</summary>
    public Stream Open(string fullPath, string name)
    {
        var file = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        Begin(name);
        return new HashingStream(file, this);
    }

    public void Dispose() => _hash.Dispose();

    private void Begin(string file)
    {
        _hash.AppendData(Encoding.UTF8.GetBytes(file));
        _hash.AppendData([0]);
    }

    private void End(long length)
    {
        Span<byte> count = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(count, length);
        _hash.AppendData(count);
    }

    /// <summary>A read-only pass-through that adds what is read to the reader's hash, and the count when it is closed.</summary>
    private sealed class HashingStream(Stream inner, PolicyFileReader reader) : Stream
    {
        private long _read;
        private bool _ended;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            reader._hash.AppendData(buffer[..n]);
            _read += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_ended)
            {
                _ended = true;
                reader.End(_read);
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
