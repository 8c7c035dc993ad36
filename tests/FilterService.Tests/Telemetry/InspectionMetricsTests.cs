using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Telemetry;

/// <summary>
/// The leaf cache's metrics, read from the service running as its own process: a school CA made here, the default
/// sample (its no-wikipedia-edits rule makes *.wikipedia.org inspected), and two Wikipedia names overridden to a local
/// TLS origin. bench/load reads the same series for its hit rate and minting cost.
/// </summary>
public sealed class InspectionMetricsTests
{
    [Fact]
    public async Task InspectedTunnels_CountLeafCacheHitsAndMissesAndTimeEachMint()
    {
        var dir = TempDir.Create("inspection-metrics");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Test School Inspection CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddYears(1));
        var caPem = Path.Combine(dir, "ca.pem");
        var caKey = Path.Combine(dir, "ca.key");
        await File.WriteAllTextAsync(caPem, ca.ExportCertificatePem());
        await File.WriteAllTextAsync(caKey, key.ExportPkcs8PrivateKeyPem());

        await using var origin = await TestOrigin.StartAsync();
        var originPem = Path.Combine(dir, "origin.pem");
        await File.WriteAllTextAsync(originPem, origin.Certificate.ExportCertificatePem());
        await using var service = await ServiceProcess.StartAsync([
            $"--Policy:Path={Samples.CopyDefault()}", $"--Audit:Path={TempDir.Create("audit")}", "--Proxy:AllowLoopbackUpstream=true",
            $"--Proxy:InspectionCaCertificate={caPem}", $"--Proxy:InspectionCaKey={caKey}", $"--Proxy:UpstreamTrustedCertificates={originPem}",
            $"--Proxy:HostOverrides:en.wikipedia.org=127.0.0.1:{origin.HttpsPort}",
            $"--Proxy:HostOverrides:de.wikipedia.org=127.0.0.1:{origin.HttpsPort}"]);

        // Before any tunnel both series are there, at 0.
        var start = await ScrapeAsync(service.AdminPort);
        Assert.Equal(0, Lookups(start, "hit"));
        Assert.Equal(0, Lookups(start, "miss"));

        // en: minted (miss), then served from the cache (hit) on a new tunnel; de: minted (miss).
        foreach (var host in new[] { "en.wikipedia.org", "en.wikipedia.org", "de.wikipedia.org" })
        {
            var result = await Curl.RunAsync("--cacert", caPem, "--proxy", service.Proxy, "--proxy-user", "staff1:staff1-demo",
                $"https://{host}/hello");
            Assert.True(result.HttpCode == 200, $"{host}: curl exit {result.ExitCode}, HTTP {result.HttpCode}: {result.Stderr}");
        }

        var after = await ScrapeAsync(service.AdminPort);
        Assert.Equal(1, Lookups(after, "hit"));
        Assert.Equal(2, Lookups(after, "miss"));
        Assert.Equal(2, Value(after, "filterservice_inspection_leaf_mint_duration_seconds_count"));
        Assert.True(Value(after, "filterservice_inspection_leaf_mint_duration_seconds_sum") > 0);
    }

    [Fact]
    public async Task WithoutInspectionCa_NoLeafSeries()
    {
        await using var service = await ServiceProcess.StartAsync([$"--Policy:Path={Samples.CopyDefault()}", $"--Audit:Path={TempDir.Create("audit")}"]);
        Assert.DoesNotContain("filterservice_inspection_leaf_cache_lookups_total{", await ScrapeAsync(service.AdminPort));
    }

    private static double Lookups(string scrape, string outcome) =>
        Value(scrape, $@"filterservice_inspection_leaf_cache_lookups_total\{{[^}}]*outcome=""{outcome}""[^}}]*\}}");

    private static double Value(string scrape, string series)
    {
        var m = Regex.Match(scrape, $@"(?m)^{series} (\S+)");
        Assert.True(m.Success, $"no {series} in the scrape:\n{scrape}");
        return double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> ScrapeAsync(int adminPort)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await client.GetStringAsync($"http://127.0.0.1:{adminPort}/metrics");
    }
}
