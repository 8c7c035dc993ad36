using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FilterService.Tests.Cli;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Hosting;

/// <summary>
/// Issue 17: "the quick start shows HTTPS block pages without hand work beyond trusting one certificate". The service
/// is started as <c>dotnet run --project src/FilterService</c> starts it: the environment from
/// Properties/launchSettings.json, no CA configured, its current directory a fresh one (the repository root there).
/// </summary>
public sealed class QuickStartCaTests
{
    /// <summary>The environment variables of the launch profile <c>dotnet run</c> uses (the first <c>Project</c> profile).</summary>
    private static Dictionary<string, string> QuickStartEnvironment()
    {
        var file = Path.Combine(RepoPaths.Root, "src", "FilterService", "Properties", "launchSettings.json");
        using var json = JsonDocument.Parse(File.ReadAllText(file));
        var profile = json.RootElement.GetProperty("profiles").EnumerateObject()
            .First(p => p.Value.GetProperty("commandName").GetString() == "Project").Value;
        return profile.GetProperty("environmentVariables").EnumerateObject().ToDictionary(v => v.Name, v => v.Value.GetString()!);
    }

    private static string[] Settings(string audit) => [$"--Policy:Path={Samples.CopyDefault()}", $"--Audit:Path={audit}"];

    [Fact]
    public async Task Issue17_QuickStart_MakesACaOnFirstRun_ServesIt_AndAnswersABlockedConnectWithTheTlsBlockPage()
    {
        var environment = QuickStartEnvironment();
        Assert.Equal("Development", environment["DOTNET_ENVIRONMENT"]);
        var root = TempDir.Create("quick-start");
        var cert = Path.Combine(root, "ca", "ca.crt");
        var key = Path.Combine(root, "ca", "ca.key");
        string first;
        await using (var service = await ServiceProcess.StartAsync(Settings(TempDir.Create("audit")), environment, workingDirectory: root))
        {
            Assert.True(File.Exists(cert), service.Output);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            }

            using (var ca = X509Certificate2.CreateFromPemFile(cert, key))
            {
                Assert.True(ca.HasPrivateKey);
                Assert.Contains("Quick start (development only)", ca.Subject);
            }
            // The log says where the CA is and the one command that trusts it.
            Assert.Contains($"certutil -d sql:$HOME/.pki/nssdb -A -t \"C,,\" -n school-filter-quick-start -i {cert}", service.Output);

            // The proxy serves it, as the certificate to install.
            using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
            using (var served = X509CertificateLoader.LoadCertificate(await http.GetByteArrayAsync($"{service.Proxy}/ca.crt")))
            using (var made = X509CertificateLoader.LoadCertificateFromFile(cert))
            {
                Assert.Equal(made.RawData, served.RawData);
            }
            first = await File.ReadAllTextAsync(cert);

            // A statutory block (everyone, no sign-in) over HTTPS: the block page inside TLS signed by that CA, which curl
            // is told to trust and nothing else.
            var blocked = await Curl.RunAsync("--cacert", cert, "--proxy", service.Proxy, "https://blocked-terror.test/");
            Assert.True(blocked.ExitCode == 0, blocked.Stderr);
            Assert.Equal(200, blocked.ConnectCode);
            Assert.Equal(403, blocked.HttpCode);
            Assert.Contains("This page is blocked", blocked.Body);
            Assert.Contains("statutory:terrorism", blocked.Body);
        }

        // The second run uses the same CA (devices that trust it keep working); nothing is made again.
        await using (var again = await ServiceProcess.StartAsync(Settings(TempDir.Create("audit")), environment, workingDirectory: root))
        {
            Assert.Equal(first, await File.ReadAllTextAsync(cert));
            Assert.Contains("using the quick-start inspection CA", again.Output);
        }
    }

    [Fact]
    public async Task Issue17_Production_NeverMakesACa_AndABlockedConnectStays403()
    {
        var root = TempDir.Create("production");
        await using var service = await ServiceProcess.StartAsync(Settings(TempDir.Create("audit")),
            new Dictionary<string, string> { ["DOTNET_ENVIRONMENT"] = "Production" }, workingDirectory: root);

        Assert.False(Directory.Exists(Path.Combine(root, "ca")), "a deployed service must never make a CA by itself");
        Assert.DoesNotContain("Quick start", service.Output);
        var blocked = await Curl.RunAsync("-k", "--proxy", service.Proxy, "https://blocked-terror.test/");
        Assert.Equal(403, blocked.ConnectCode);
        Assert.NotEqual(200, (await Curl.RunAsync($"{service.Proxy}/ca.crt")).HttpCode); // no CA, nothing to serve
    }

    [Fact]
    public async Task Issue17_QuickStart_HalfACa_StopsStartUp_RatherThanMakeAKeyNobodyTrusts()
    {
        var root = TempDir.Create("quick-start");
        Directory.CreateDirectory(Path.Combine(root, "ca"));
        await File.WriteAllTextAsync(Path.Combine(root, "ca", "ca.crt"), "not used");
        var error = await Assert.ThrowsAsync<Xunit.Sdk.XunitException>(async () =>
        {
            await using var started = await ServiceProcess.StartAsync(Settings(TempDir.Create("audit")), QuickStartEnvironment(), workingDirectory: root);
            // Stopped again (by the using) when it wrongly started: no test leaves a service running.
        });
        Assert.Contains($"config: error FS0001: Proxy:QuickStartCaDirectory: {Path.Combine(root, "ca", "ca.key")} is missing beside", error.Message);
        Assert.False(File.Exists(Path.Combine(root, "ca", "ca.key")));
    }

    [Theory]
    [InlineData("Development", "decided on: the full URL, inside an inspected tunnel")]
    [InlineData("Production", "decided on: the host, at CONNECT")]
    public async Task Issue17_QuickStart_Explain_AnswersAsTheQuickStartServiceWould(string environment, string decidedOn)
    {
        // No CA configured: the quick start's service has its own CA (Development) and a deployed one has none (Production).
        var (exit, stdout, stderr) = await CaCommandTests.RunWithEnvironmentAsync(new Dictionary<string, string> { ["DOTNET_ENVIRONMENT"] = environment },
            "explain", "--policy", Samples.DefaultDir, "--ip", "10.40.0.5", "--at", "2026-11-23T10:00", "--url", "https://www.youtube.com/watch?v=x");
        Assert.True(exit == 0, stderr);
        Assert.Contains(decidedOn, stdout);
    }
}
