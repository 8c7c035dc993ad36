using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>A school inspection CA (made here), the default sample, and a local TLS origin standing in for Wikipedia.</summary>
public sealed class InspectionFixture : IAsyncLifetime
{
    public TestOrigin Origin { get; private set; } = null!;
    public RunningService Service { get; private set; } = null!;
    public string CaPem { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var dir = TempDir.Create("inspection");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Test School Inspection CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddYears(1));
        CaPem = Path.Combine(dir, "ca.pem");
        var caKey = Path.Combine(dir, "ca.key");
        await File.WriteAllTextAsync(CaPem, ca.ExportCertificatePem());
        await File.WriteAllTextAsync(caKey, key.ExportPkcs8PrivateKeyPem());

        Origin = await TestOrigin.StartAsync();
        var originPem = Path.Combine(dir, "origin.pem");
        await File.WriteAllTextAsync(originPem, Origin.Certificate.ExportCertificatePem());
        Service = await RunningService.StartAsync(Samples.CopyDefault(), Origin,
            $"--Proxy:InspectionCaCertificate={CaPem}", $"--Proxy:InspectionCaKey={caKey}", $"--Proxy:UpstreamTrustedCertificates={originPem}",
            $"--Proxy:HostOverrides:en.wikipedia.org=127.0.0.1:{Origin.HttpsPort}");
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

/// <summary>
/// TLS interception for hosts whose rules need methods or paths: the sample's no-wikipedia-edits rule blocks staff
/// POSTs to *.wikipedia.org/w/index.php, which only an intercepted tunnel can see.
/// </summary>
public sealed class InspectionTests(InspectionFixture fixture) : IClassFixture<InspectionFixture>
{
    private string Proxy => fixture.Service.ProxyUri.ToString();

    [Fact]
    public async Task Inspected_StaffPostToWikipediaEdit_GetsBlockPageInsideTls()
    {
        var result = await Curl.RunAsync("--cacert", fixture.CaPem, "--proxy", Proxy, "--proxy-user", "staff1:staff1-demo",
            "--data-binary", "wpTextbox1=vandalism", "https://en.wikipedia.org/w/index.php?title=School&action=submit");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(200, result.ConnectCode);
        Assert.Equal(403, result.HttpCode);
        Assert.Contains("no-wikipedia-edits", result.Body);
        var r = await fixture.Service.WaitForAuditAsync(r => r.Str("url") == "https://en.wikipedia.org/w/index.php?title=School&action=submit", "the inspected POST");
        Assert.Equal("POST", r.Str("method"));
        Assert.Equal("staff1", r.Str("user"));
        Assert.Equal("no-wikipedia-edits", r.Str("rule"));
        Assert.Equal(403, r.Int("status"));
    }

    [Fact]
    public async Task Inspected_StaffReadsWikipedia_IsForwardedOverUpstreamTls()
    {
        var result = await Curl.RunAsync("--cacert", fixture.CaPem, "--proxy", Proxy, "--proxy-user", "staff1:staff1-demo", "https://en.wikipedia.org/hello");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(200, result.HttpCode);
        Assert.Contains("Hello from the origin", result.Body);
        var post = await Curl.RunAsync("--cacert", fixture.CaPem, "--proxy", Proxy, "--proxy-user", "staff1:staff1-demo",
            "--data-binary", "not an edit", "https://en.wikipedia.org/echo");
        Assert.Equal(200, post.HttpCode);
        Assert.Equal("not an edit", post.Body);
        await fixture.Service.WaitForAuditAsync(r => r.Str("url") == "https://en.wikipedia.org/hello" && r.Int("status") == 200, "the inspected GET");
    }

    [Fact]
    public async Task NotInspected_OtherHosts_AreStillSpliced()
    {
        // secure.test has no method or path rules: its tunnel is spliced and the client sees the origin's own certificate.
        var result = await Curl.RunAsync("--cacert", fixture.CaPem, "--proxy", Proxy, "https://secure.test/hello");
        Assert.NotEqual(0, result.ExitCode); // the origin's self-signed certificate is not signed by the school CA
        var spliced = await Curl.RunAsync("-k", "--proxy", Proxy, "https://secure.test/hello");
        Assert.Equal(200, spliced.HttpCode);
    }
}
