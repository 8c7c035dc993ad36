using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FilterService.Hosting;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin;

/// <summary>HTTPS on the admin listeners (Admin:Certificate, Admin:CertificateKey) and the console's settings' validation.</summary>
public sealed class ConsoleTlsTests
{
    /// <summary>A self-signed certificate for 127.0.0.1 written as PEM files: (certificate path, key path, thumbprint).</summary>
    private static (string Certificate, string Key, string Thumbprint) NewCertificate()
    {
        var dir = TempDir.Create("admin-tls");
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=filter.school.test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        string certPath = Path.Combine(dir, "admin.crt"), keyPath = Path.Combine(dir, "admin.key");
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath, certificate.Thumbprint);
    }

    [Fact]
    public async Task With_a_certificate_the_console_health_and_metrics_are_served_over_HTTPS_and_the_cookie_is_Secure()
    {
        var (cert, key, thumbprint) = NewCertificate();
        string[] settings = [$"--Policy:Path={RepoPaths.Sample("default")}", $"--Audit:Path={TempDir.Create("audit")}",
            $"--Admin:Certificate={cert}", $"--Admin:CertificateKey={key}"];
        await using var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "jo", "ict-manager");
        var url = $"https://127.0.0.1:{service.AdminPort}";
        string? presented = null;
        using var https = new ConsoleHttp(url, (_, c, _, _) =>
        {
            presented = c?.Thumbprint;
            return c?.Thumbprint == thumbprint; // trust exactly this certificate
        });
        Assert.Equal(HttpStatusCode.OK, (await https.Client.GetAsync("/health")).StatusCode);
        Assert.Equal(thumbprint, presented);
        Assert.Equal(HttpStatusCode.OK, (await https.Client.GetAsync("/metrics")).StatusCode);
        var signIn = await https.SignInAsync("jo", AdminAccounts.Password);
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("filter-console="));
        Assert.Contains("; secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        // Plain HTTP on the same port gets no console.
        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync($"http://127.0.0.1:{service.AdminPort}/health"));

        await using var browser = await ConsoleBrowser.LaunchAsync(ignoreHttpsErrors: true);
        await browser.SignInAsync(url, "jo", AdminAccounts.Password);
        Assert.StartsWith("https://", browser.Page.Url);
        var browserCookie = Assert.Single(await browser.Context.CookiesAsync(), c => c.Name == "filter-console");
        Assert.True(browserCookie.Secure && browserCookie.HttpOnly);
        await browser.ScreenshotAsync("console-home-https.png");
    }

    [Fact]
    public void Every_problem_in_the_console_s_settings_is_listed_and_the_service_does_not_start()
    {
        var (cert, _, _) = NewCertificate();
        var app = ProxyHost.Build([$"--Policy:Path={RepoPaths.Sample("default")}", $"--Audit:Path={TempDir.Create("audit")}",
            $"--Admin:Certificate={cert}", "--Console:PublicUrl=filter.school/console", "--Console:Lockout:MaxFailures=0",
            "--Console:Lockout:Duration=00:00:00", "--Console:Colour=blue"], null, out var errors);
        Assert.Null(app);
        Assert.Equal(
        [
            "config: error FS0001: Console:Colour: unknown setting",
            "config: error FS0001: Console:PublicUrl: 'filter.school/console' is not an absolute http:// or https:// URL",
            "config: error FS0001: Console:Lockout:MaxFailures: 0 is outside 1-1000",
            "config: error FS0001: Console:Lockout:Duration: 00:00:00 must be positive",
            "config: error FS0001: Admin:Certificate and Admin:CertificateKey must be set together",
        ], errors);
    }

    [Fact]
    public void A_certificate_that_does_not_load_is_a_located_configuration_error()
    {
        var (cert, _, _) = NewCertificate();
        var (_, otherKey, _) = NewCertificate();
        var app = ProxyHost.Build([$"--Policy:Path={RepoPaths.Sample("default")}", $"--Audit:Path={TempDir.Create("audit")}",
            $"--Admin:Certificate={cert}", $"--Admin:CertificateKey={otherKey}"], null, out var errors);
        Assert.Null(app);
        Assert.StartsWith("config: error FS0001: Admin:Certificate/CertificateKey: ", Assert.Single(errors));
    }
}
