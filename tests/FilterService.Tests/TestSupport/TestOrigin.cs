using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// A real origin server on loopback: plain HTTP and HTTPS (self-signed for secure.test) on port 0.
/// /hello, /echo (POST body back), /headers (request headers as text), /big?mb=N, /gated (1 MB, then waits for
/// <see cref="ReleaseGate"/> before the remaining 49 MB: proof that the proxy streams); any path under a prefix in
/// <see cref="Pages"/> gets that HTML page. Every request is recorded in <see cref="Seen"/>.
/// </summary>
public sealed class TestOrigin : IAsyncDisposable
{
    public const int GatedTotal = 50 * 1024 * 1024;
    public const int GatedFirst = 1024 * 1024;

    private readonly WebApplication _app;
    private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TestOrigin(WebApplication app, X509Certificate2 certificate)
    {
        _app = app;
        Certificate = certificate;
    }

    /// <summary>One request as received: method, path and query, and the headers (comma-joined values).</summary>
    public sealed record SeenRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers);

    /// <summary>HTML pages by path prefix (<c>/wiki/</c>), answered 200 for GET and POST alike; set before use.</summary>
    public ConcurrentDictionary<string, string> Pages { get; } = new();

    /// <summary>Every request received, in order.</summary>
    public ConcurrentQueue<SeenRequest> Seen { get; } = new();

    public int HttpPort { get; private set; }
    public int HttpsPort { get; private set; }
    public X509Certificate2 Certificate { get; }

    /// <summary>Set when /gated has written its first megabyte and is waiting.</summary>
    public TaskCompletionSource GateReached { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseGate() => _gate.TrySetResult();

    /// <param name="certificate">The HTTPS listener's certificate (with its key); default: self-signed for secure.test.</param>
    public static async Task<TestOrigin> StartAsync(X509Certificate2? certificate = null)
    {
        certificate ??= CreateCertificate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        ListenOptions? http = null, https = null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            k.Listen(IPAddress.Loopback, 0, lo => http = lo);
            k.Listen(IPAddress.Loopback, 0, lo =>
            {
                lo.Protocols = HttpProtocols.Http1;
                lo.UseHttps(certificate);
                https = lo;
            });
        });
        var app = builder.Build();
        var origin = new TestOrigin(app, certificate);
        app.Run(origin.HandleAsync);
        await app.StartAsync();
        origin.HttpPort = http!.IPEndPoint!.Port;
        origin.HttpsPort = https!.IPEndPoint!.Port;
        return origin;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        Seen.Enqueue(new SeenRequest(request.Method, request.Path.Value + request.QueryString.Value,
            request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
        if (Pages.FirstOrDefault(p => request.Path.Value!.StartsWith(p.Key, StringComparison.Ordinal)) is { Value: { } page })
        {
            response.ContentType = "text/html; charset=utf-8";
            await WriteFixedAsync(response, page);
            return;
        }
        switch (request.Path.Value)
        {
            case "/hello":
                response.ContentType = "text/html; charset=utf-8";
                await WriteFixedAsync(response, $"<!DOCTYPE html><html><head><title>Allowed page</title></head><body><h1>Hello from the origin</h1><p>host {request.Host}</p></body></html>");
                break;
            case "/slow":
                await Task.Delay(TimeSpan.FromSeconds(8), context.RequestAborted).ContinueWith(_ => { });
                if (!context.RequestAborted.IsCancellationRequested)
                {
                    await WriteFixedAsync(response, "finally");
                }
                break;
            case "/echo":
                response.Headers["X-Request-Chunked"] = request.Headers.TransferEncoding.ToString().Contains("chunked") ? "yes" : "no";
                response.Headers["X-Request-Length"] = request.ContentLength?.ToString() ?? "none";
                response.ContentType = request.ContentType ?? "application/octet-stream";
                await request.Body.CopyToAsync(response.Body);
                break;
            case "/headers":
                var sb = new StringBuilder();
                foreach (var (name, values) in request.Headers)
                {
                    sb.Append(name).Append(": ").Append(values.ToString()).Append('\n');
                }
                response.ContentType = "text/plain";
                response.Headers["Connection"] = "X-Origin-Hop";
                response.Headers["X-Origin-Hop"] = "should-not-pass";
                await WriteFixedAsync(response, sb.ToString());
                break;
            case "/big":
                int mb = int.Parse(request.Query["mb"].ToString() is { Length: > 0 } s ? s : "1");
                response.ContentLength = mb * 1024L * 1024;
                await WritePatternAsync(response.Body, mb * 1024L * 1024, context.RequestAborted);
                break;
            case "/gated":
                response.ContentLength = GatedTotal;
                await WritePatternAsync(response.Body, GatedFirst, context.RequestAborted);
                await response.Body.FlushAsync();
                GateReached.TrySetResult();
                var released = await Task.WhenAny(_gate.Task, Task.Delay(TimeSpan.FromSeconds(20))) == _gate.Task;
                if (!released)
                {
                    context.Abort(); // the client never saw the first megabyte: the proxy buffered
                    return;
                }
                await WritePatternAsync(response.Body, GatedTotal - GatedFirst, context.RequestAborted);
                break;
            default:
                response.StatusCode = 404;
                break;
        }
    }

    private static Task WriteFixedAsync(HttpResponse response, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        response.ContentLength = bytes.Length;
        return response.Body.WriteAsync(bytes).AsTask();
    }

    private static async Task WritePatternAsync(Stream body, long count, CancellationToken cancellationToken)
    {
        var chunk = new byte[64 * 1024];
        for (int i = 0; i < chunk.Length; i++)
        {
            chunk[i] = (byte)(i % 251);
        }
        while (count > 0)
        {
            int n = (int)Math.Min(chunk.Length, count);
            await body.WriteAsync(chunk.AsMemory(0, n), cancellationToken);
            count -= n;
        }
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=secure.test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("secure.test");
        san.AddDnsName("www.example.org");
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    public async ValueTask DisposeAsync()
    {
        ReleaseGate();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
