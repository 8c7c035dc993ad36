using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PolicyModel.Decisions;

namespace FilterService.Proxy;

/// <summary>
/// Set on a tunnelled connection whose TLS the proxy terminates: the decrypted requests reach the HTTP stage,
/// which decides each one against this host and identity (they carry no proxy credentials of their own).
/// <paramref name="Blocked"/> is set for a tunnel bumped only to show the block page (<see cref="ConnectMiddleware.ConnectVerdict.BlockPage"/>):
/// every request inside gets the page for this decision, and nothing is ever forwarded.
/// </summary>
internal sealed record InspectedTunnel(string Host, int Port, string? User, string Reference, Decision? Blocked = null);

/// <summary>Holds Kestrel's HTTP delegate, captured behind the TLS middleware, so plain HTTP can skip TLS.</summary>
internal sealed class HttpDelegateHolder
{
    public Microsoft.AspNetCore.Connections.ConnectionDelegate? Http { get; set; }
}

/// <summary>
/// The school's inspection CA: mints a leaf certificate per host (ECDSA P-256, 30 days, never past the CA's own
/// expiry), cached with its chain. Thread-safe. Clients must trust the CA for inspected hosts to work.
/// </summary>
internal sealed class InspectionAuthority
{
    private const int MaxCached = 5_000;
    private readonly X509Certificate2 _ca;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Lazy<SslStreamCertificateContext>> _cache = new(StringComparer.Ordinal);

    public InspectionAuthority(X509Certificate2 ca, TimeProvider time)
    {
        if (!ca.HasPrivateKey)
        {
            throw new ArgumentException("The inspection CA certificate has no private key.", nameof(ca));
        }
        _ca = ca;
        _time = time;
    }

    /// <summary>The CA certificate (public part), as served on <c>/ca.crt</c> for the school's devices to trust.</summary>
    public X509Certificate2 Certificate => _ca;

    public static InspectionAuthority Load(string certificatePem, string keyPem, TimeProvider time) =>
        new(X509Certificate2.CreateFromPemFile(certificatePem, keyPem), time);

    public SslStreamCertificateContext ContextFor(string host)
    {
        if (_cache.Count > MaxCached)
        {
            _cache.Clear();
        }
        return _cache.GetOrAdd(host, h => new Lazy<SslStreamCertificateContext>(() => Mint(h))).Value;
    }

    private SslStreamCertificateContext Mint(string host)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + host, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(host, out var ip))
        {
            san.AddIpAddress(ip);
        }
        else
        {
            san.AddDnsName(host);
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = _time.GetUtcNow();
        var notAfter = now.AddDays(30) < _ca.NotAfter ? now.AddDays(30) : new DateTimeOffset(_ca.NotAfter);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var issued = request.Create(_ca, now.AddDays(-1), notAfter, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        // Re-import so the private key is usable by SslStream on every platform.
        var leaf = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null);
        return SslStreamCertificateContext.Create(leaf, new X509Certificate2Collection(_ca), offline: true);
    }
}
