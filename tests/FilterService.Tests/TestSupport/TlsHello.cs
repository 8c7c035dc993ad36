using System.Net.Security;

namespace FilterService.Tests.TestSupport;

/// <summary>A real ClientHello: the bytes .NET's own SslStream sends first, captured without a server.</summary>
public static class TlsHello
{
    public static async Task<byte[]> CaptureAsync(string host, params string[] alpn)
    {
        var capture = new CaptureStream();
        using var tls = new SslStream(capture);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = host,
            ApplicationProtocols = alpn.Select(a => new SslApplicationProtocol(a)).ToList(),
        };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await tls.AuthenticateAsClientAsync(options, cts.Token);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            // Expected: the "server" hangs up at once.
        }
        return capture.Written.ToArray();
    }

    private sealed class CaptureStream : Stream
    {
        public MemoryStream Written { get; } = new();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => 0; // the "server" hangs up at once
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);
    }
}
