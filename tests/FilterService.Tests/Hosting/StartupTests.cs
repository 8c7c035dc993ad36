using System.Diagnostics;
using FilterService.Hosting;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Hosting;

public sealed class StartupTests
{
    [Fact]
    public void Build_BadSettings_ReportsEveryProblemAtOnce()
    {
        var app = ProxyHost.Build(
            ["--Proxy:Listen=not-an-endpoint", "--Proxy:HeadTimeout=soon", "--Audit:RetainDays=0", "--Proxy:Bogus=1", "--Admin:Listen=127.0.0.1:99999",
             "--Proxy:SocketThreads=-1",
             $"--Policy:Path={Samples.DefaultDir}"],
            null, out var errors);
        Assert.Null(app);
        Assert.Contains("config: error FS0001: Proxy:Listen: 'not-an-endpoint' is not address:port (IPv6 as [address]:port)", errors);
        Assert.Contains("config: error FS0001: Proxy:HeadTimeout: 'soon' is not a valid time span (hh:mm:ss)", errors);
        Assert.Contains("config: error FS0001: Audit:RetainDays: 0 is outside 1-3650", errors);
        Assert.Contains("config: error FS0001: Proxy:Bogus: unknown setting", errors);
        Assert.Contains("config: error FS0001: Admin:Listen: '127.0.0.1:99999' is not address:port (IPv6 as [address]:port)", errors);
        Assert.Contains("config: error FS0001: Proxy:SocketThreads: -1 is outside 0-256 (0: one per two cores)", errors);
    }

    [Fact]
    public void Build_InvalidPolicy_ReportsLocatedDiagnostics()
    {
        var policy = Samples.CopyDefault();
        var yaml = Path.Combine(policy, "policy.yaml");
        File.WriteAllText(yaml, File.ReadAllText(yaml).Replace("action: block\n    alert: low", "action: deny\n    alert: low"));
        var app = ProxyHost.Build(["--Proxy:Listen=127.0.0.1:0", "--Admin:Listen=127.0.0.1:0", $"--Policy:Path={policy}", $"--Audit:Path={TempDir.Create("audit")}"], null, out var errors);
        Assert.Null(app);
        Assert.Contains(errors, e => e.StartsWith("policy.yaml:") && e.Contains("error PM0114"));
    }

    [Fact]
    public void Build_StatutoryListMissing_DoesNotStart()
    {
        var policy = Samples.CopyDefault();
        File.Delete(Path.Combine(policy, "lists", "terrorism.sha256"));
        var app = ProxyHost.Build(["--Proxy:Listen=127.0.0.1:0", "--Admin:Listen=127.0.0.1:0", $"--Policy:Path={policy}", $"--Audit:Path={TempDir.Create("audit")}"], null, out var errors);
        Assert.Null(app);
        Assert.Contains(errors, e => e.Contains("terrorism.sha256") && e.Contains("error"));
    }

    [Fact]
    public void Build_StatutoryListEmpty_DoesNotStart()
    {
        var policy = Samples.CopyDefault();
        File.WriteAllText(Path.Combine(policy, "lists", "terrorism.sha256"), "");
        var app = ProxyHost.Build(["--Proxy:Listen=127.0.0.1:0", "--Admin:Listen=127.0.0.1:0", $"--Policy:Path={policy}", $"--Audit:Path={TempDir.Create("audit")}"], null, out var errors);
        Assert.Null(app);
        Assert.Contains(errors, e => e.Contains("terrorism") && e.Contains("error"));
    }

    [Fact]
    public async Task Run_BadPolicyPath_ExitsNonZeroWithTheProblemOnStderr()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "FilterService.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "--Policy:Path=/nonexistent/policy", "--Proxy:Listen=127.0.0.1:0", "--Admin:Listen=127.0.0.1:0" })
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("config: error FS0001: Policy:Path: directory '/nonexistent/policy' does not exist", await stderr);
    }

    [Fact]
    public async Task Start_ListensOnIPv4AndIPv6AndServesHealth()
    {
        await using var service = await RunningService.StartAsync(Samples.DefaultDir, null, "--Proxy:Listen=127.0.0.1:0,[::1]:0");
        Assert.Equal(2, service.App.Listeners.Proxy.Length);
        Assert.All(service.App.Listeners.Proxy, e => Assert.NotEqual(0, e.Port));
        using var client = new HttpClient();
        var health = await client.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/health");
        Assert.Contains("\"status\":\"ok\"", health);
    }
}
