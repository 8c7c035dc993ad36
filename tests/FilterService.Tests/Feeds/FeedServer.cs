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

namespace FilterService.Tests.Feeds;

/// <summary>
/// A real HTTPS feed server on 127.0.0.1 (port 0), with a certificate from its own test CA (<see cref="CaFile"/>, for
/// <c>Feeds:TrustedCaFile</c>). Serves <see cref="Files"/> by path with a strong ETag (304 on If-None-Match), and
/// <c>PATH.sha256</c> / <c>PATH.sig</c> beside each as <see cref="Publish"/> made them. <see cref="Faults"/> make a path
/// answer 500 or a truncated body. Every GET is counted in <see cref="Hits"/>.
/// </summary>
public sealed class FeedServer : IAsyncDisposable
{
    public enum Fault
    {
        None,
        ServerError,
        Truncated,
        /// <summary>No Content-Length: the body is sent chunked, so only counting while streaming can limit it.</summary>
        Chunked,
    }

    private readonly WebApplication _app;

    private FeedServer(WebApplication app, string caFile, ECDsa signingKey)
    {
        _app = app;
        CaFile = caFile;
        SigningKey = signingKey;
    }

    public string CaFile { get; }

    /// <summary>The publisher's key: <see cref="Publish"/> signs with it; the policy's <c>key:</c> file holds its public half.</summary>
    public ECDsa SigningKey { get; }

    public int Port { get; private set; }

    public ConcurrentDictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, Fault> Faults { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, int> Hits { get; } = new(StringComparer.Ordinal);

    /// <summary>Paths (and their .sha256/.sig) answered 401 unless the request's Authorization header is exactly this.</summary>
    public ConcurrentDictionary<string, string> Authorization { get; } = new(StringComparer.Ordinal);

    public string Url(string path) => $"https://127.0.0.1:{Port}{path}";

    /// <summary>Serves <paramref name="bytes"/> at <paramref name="path"/>, with its SHA-256 and signature beside it (or the given wrong ones).</summary>
    public void Publish(string path, byte[] bytes, byte[]? hashOf = null, ECDsa? signWith = null)
    {
        Files[path + ".sha256"] = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(hashOf ?? bytes)) + "  list\n");
        Files[path + ".sig"] = (signWith ?? SigningKey).SignData(bytes, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        Files[path] = bytes;
    }

    public void Publish(string path, string text) => Publish(path, Encoding.UTF8.GetBytes(text));

    public static async Task<FeedServer> StartAsync()
    {
        var dir = Directory.CreateTempSubdirectory("feedca-").FullName;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Feed Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var caFile = Path.Combine(dir, "feed-ca.pem");
        await File.WriteAllTextAsync(caFile, ca.ExportCertificatePem());

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=127.0.0.1", leafKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        leafRequest.CertificateExtensions.Add(san.Build());
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leafPublic = leafRequest.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), RandomNumberGenerator.GetBytes(8));
        var leaf = X509CertificateLoader.LoadPkcs12(leafPublic.CopyWithPrivateKey(leafKey).Export(X509ContentType.Pkcs12), null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        ListenOptions? https = null;
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, lo =>
        {
            lo.Protocols = HttpProtocols.Http1;
            lo.UseHttps(leaf);
            https = lo;
        }));
        var app = builder.Build();
        var server = new FeedServer(app, caFile, ECDsa.Create(ECCurve.NamedCurves.nistP256));
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Port = https!.IPEndPoint!.Port;
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        Hits.AddOrUpdate(path, 1, (_, n) => n + 1);
        if (Authorization.FirstOrDefault(a => path == a.Key || path.StartsWith(a.Key + ".", StringComparison.Ordinal)) is { Value: { } required }
            && context.Request.Headers.Authorization.ToString() != required)
        {
            context.Response.StatusCode = 401;
            return;
        }
        var fault = Faults.GetValueOrDefault(path);
        if (fault == Fault.ServerError)
        {
            context.Response.StatusCode = 500;
            return;
        }
        if (!Files.TryGetValue(path, out var bytes))
        {
            context.Response.StatusCode = 404;
            return;
        }
        var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"";
        context.Response.Headers.ETag = etag;
        if (context.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            context.Response.StatusCode = 304;
            return;
        }
        if (fault == Fault.Chunked)
        {
            for (int i = 0; i < bytes.Length; i += 1024)
            {
                await context.Response.Body.WriteAsync(bytes.AsMemory(i, Math.Min(1024, bytes.Length - i)));
            }
            return;
        }
        context.Response.ContentLength = bytes.Length;
        if (fault == Fault.Truncated)
        {
            // Half the announced body, then the connection is cut.
            await context.Response.Body.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
            await context.Response.Body.FlushAsync();
            // Let the client take the head and the half before the reset (a reset discards what it has not read).
            await Task.Delay(300);
            context.Abort();
            return;
        }
        await context.Response.Body.WriteAsync(bytes);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        SigningKey.Dispose();
    }
}
