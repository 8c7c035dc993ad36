using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// An origin on loopback (TLS unless <c>tls: false</c>) that answers every request with its own name and keeps every
/// request head (one char per byte) and, over TLS, the SNI of every handshake (any name is accepted: the test's
/// client does not verify).
/// </summary>
public sealed class RecordingOrigin : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly X509Certificate2 _certificate = CreateCertificate();
    private readonly Task _accepting;

    private readonly bool _tls;

    public RecordingOrigin(string name, bool tls = true)
    {
        Name = name;
        _tls = tls;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Name { get; }
    public X509Certificate2 Certificate => _certificate;
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public ConcurrentQueue<string> ServerNames { get; } = new();
    /// <summary>Every request head received.</summary>
    public ConcurrentQueue<string> Heads { get; } = new();

    private async Task AcceptAsync()
    {
        var served = new List<Task>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                served.Add(ServeAsync(client));
            }
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(served);
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            Stream tls = client.GetStream();
            if (_tls)
            {
                var ssl = new SslStream(tls);
                tls = ssl;
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificateSelectionCallback = (_, sni) =>
                    {
                        ServerNames.Enqueue(sni ?? "");
                        return _certificate;
                    },
                }, timeout.Token);
            }
            await using var _stream = tls;
            var head = new StringBuilder();
            var buffer = new byte[4096];
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                int n = await tls.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    return;
                }
                head.Append(Encoding.Latin1.GetString(buffer, 0, n));
            }
            Heads.Enqueue(head.ToString());
            var body = Name;
            await tls.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"), timeout.Token);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
        }
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=stand-in.test", key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
        _certificate.Dispose();
    }
}
