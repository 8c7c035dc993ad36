using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using FilterService.Proxy;

namespace FilterService.Benchmarks;

/// <summary>
/// What an inspected tunnel pays for its leaf certificate (src/FilterService/Proxy/Inspection.cs):
/// <see cref="MintLeaf"/> is a cache miss (a new host: key, certificate signed by the CA, chain context),
/// <see cref="CachedLeaf"/> a hit. <see cref="Pkcs12RoundTrip"/> is the PKCS#12 export and re-import that minting
/// once did on every platform and now does only off Linux, timed alone. bench/load measures the same minting under
/// load, from the service's <c>filterservice_inspection_leaf_mint_duration_seconds</c>.
/// </summary>
[MemoryDiagnoser]
public class InspectionAuthorityBenchmarks
{
    private InspectionAuthority _authority = null!;
    private X509Certificate2 _leaf = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Benchmark Inspection CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        _authority = new InspectionAuthority(ca, TimeProvider.System);
        _authority.ContextFor("cached.bench.test");

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=leaf.bench.test", leafKey, HashAlgorithmName.SHA256);
        using var issued = leafRequest.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), [1, 2, 3, 4]);
        _leaf = issued.CopyWithPrivateKey(leafKey);
    }

    [Benchmark(Baseline = true)]
    public object MintLeaf() => _authority.ContextFor($"h{_next++}.bench.test");

    [Benchmark]
    public object CachedLeaf() => _authority.ContextFor("cached.bench.test");

    [Benchmark]
    public object Pkcs12RoundTrip()
    {
        using var copy = X509CertificateLoader.LoadPkcs12(_leaf.Export(X509ContentType.Pfx), null);
        return copy.Thumbprint;
    }
}
