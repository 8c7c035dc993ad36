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
/// <paramref name="Blocked"/> is set for a tunnel bumped only to show the block page (<see cref="ConnectFlow.ConnectVerdict.BlockPage"/>):
/// every request inside gets the page for this decision, and nothing is ever forwarded.
/// </summary>
internal sealed record InspectedTunnel(string Host, int Port, string? User, string Reference, Decision? Blocked = null);

/// <summary>Holds Kestrel's HTTP delegate, captured behind the TLS middleware, so plain HTTP can skip TLS.</summary>
internal sealed class HttpDelegateHolder
{
    public Microsoft.AspNetCore.Connections.ConnectionDelegate? Http { get; set; }
}

/// <summary>
/// The school's inspection CA: mints a leaf certificate per host (ECDSA P-256, 30 days, never outside the CA's own
/// validity), cached with its chain; a mint that fails is not cached. Thread-safe. Clients must trust the CA for inspected hosts to work.
/// The leaf's private key lives only in this process's memory: it is never exported, written or persisted.
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

    /// <summary>
    /// Raised on every <see cref="ContextFor"/>: true when the host's leaf was already cached (a hit), false when it is
    /// minted now (a miss; two first lookups of one host racing both count as misses, and one mint serves both).
    /// </summary>
    public event Action<bool>? LeafLookup;

    /// <summary>Raised after each leaf is minted, with the time minting took (key, certificate, chain context).</summary>
    public event Action<TimeSpan>? LeafMinted;

    /// <summary>The CA certificate (public part), as served on <c>/ca.crt</c> for the school's devices to trust.</summary>
    public X509Certificate2 Certificate => _ca;

    public static InspectionAuthority Load(string certificatePem, string keyPem, TimeProvider time) =>
        new(X509Certificate2.CreateFromPemFile(certificatePem, keyPem), time);

    public SslStreamCertificateContext ContextFor(string host)
    {
        if (_cache.TryGetValue(host, out var cached))
        {
            LeafLookup?.Invoke(true);
            return cached.Value;
        }
        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }
        LeafLookup?.Invoke(false);
        var entry = _cache.GetOrAdd(host, h => new Lazy<SslStreamCertificateContext>(() => Mint(h)));
        try
        {
            return entry.Value;
        }
        catch
        {
            _cache.TryRemove(new KeyValuePair<string, Lazy<SslStreamCertificateContext>>(host, entry)); // the next tunnel tries again
            throw;
        }
    }

    private SslStreamCertificateContext Mint(string host)
    {
        var started = _time.GetTimestamp();
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
        // A day back for clients with slow clocks, but never before the CA itself (a CA made today, e.g. by openssl).
        var notBefore = now.AddDays(-1) > _ca.NotBefore ? now.AddDays(-1) : new DateTimeOffset(_ca.NotBefore);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var issued = request.Create(_ca, notBefore, notAfter, serial);
        // CopyWithPrivateKey keeps the key in memory (OpenSSL duplicates its handle, so disposing `key` is safe), and
        // SslStream on Linux serves it as it is. The PKCS#12 export and re-import once done here on every platform cost
        // more than the rest of minting together (its key-derivation iterations; InspectionAuthorityBenchmarks in
        // bench/FilterService.Benchmarks) and bought nothing on Linux. Windows' SChannel and macOS need a key their
        // stores can find, so they keep it.
        var leaf = issued.CopyWithPrivateKey(key);
        if (!OperatingSystem.IsLinux())
        {
            using var ephemeral = leaf;
            leaf = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
        }
        var context = SslStreamCertificateContext.Create(leaf, new X509Certificate2Collection(_ca), offline: true);
        LeafMinted?.Invoke(_time.GetElapsedTime(started));
        return context;
    }
}
