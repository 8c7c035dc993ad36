using System.Diagnostics;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Hosting;

/// <summary>deploy/systemd: the unit passes systemd's own checks, and the settings file it points at is one the service accepts.</summary>
public sealed class SystemdUnitTests
{
    private static readonly string Unit = Path.Combine(RepoPaths.Root, "deploy", "systemd", "school-filter.service");

    [Fact]
    public async Task Unit_SystemdAnalyzeVerify_ReportsNothing()
    {
        // verify checks that ExecStart's binary exists: point it at the built one (the only line changed).
        var unit = await WithBuiltBinaryAsync();
        var (code, output) = await RunAsync("systemd-analyze", "verify", "--man=no", unit);
        Assert.True(code == 0 && output.Length == 0, $"systemd-analyze verify: exit {code}\n{output}");
    }

    [Fact]
    public async Task Unit_SystemdAnalyzeSecurity_ExposureAtMost2()
    {
        var unit = await WithBuiltBinaryAsync();
        // Exposure 0 (locked down) to 10 (unprotected); this unit scores 1.9 ("OK"). Losing a hardening line raises it.
        var (code, output) = await RunAsync("systemd-analyze", "security", "--offline=yes", "--threshold=20", "--no-pager", unit);
        Assert.True(code == 0, $"systemd-analyze security: exit {code}\n{output}");
        Assert.Contains("Overall exposure level for school-filter.service: 1.", output);
    }

    [Fact]
    public void Unit_RunsAsItsOwnUserWithNotifyReloadAndOnlyItsDirectoriesWritable()
    {
        var lines = File.ReadAllLines(Unit).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        foreach (var expected in new[]
        {
            "Type=notify", "User=school-filter", "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes", "ProtectSystem=strict",
            "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes", "ReadWritePaths=/var/lib/school-filter /var/log/school-filter",
            "CapabilityBoundingSet=", "SystemCallFilter=@system-service", "LimitNOFILE=65536", "Restart=on-failure", "WatchdogSec=30",
            "Environment=DOTNET_CONTENTROOT=/etc/school-filter",
        })
        {
            Assert.Contains(expected, lines);
        }
    }

    [Fact]
    public async Task DeployedSettings_AreAcceptedByTheService()
    {
        // The unit's content root holds deploy/systemd/appsettings.json; only its absolute paths are moved to temporary ones.
        var etc = TempDir.Create("etc");
        var state = TempDir.Create("state");
        var policy = Samples.CopyDefault();
        File.WriteAllText(Path.Combine(etc, "appsettings.json"), File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", "systemd", "appsettings.json"))
            .Replace("/etc/school-filter/policy", policy)
            .Replace("/var/log/school-filter", Path.Combine(state, "log"))
            .Replace("/var/lib/school-filter", Path.Combine(state, "lib")));
        await using var service = await ServiceProcess.StartAsync([], new Dictionary<string, string> { ["DOTNET_CONTENTROOT"] = etc });
        Assert.DoesNotMatch(@"error [A-Z]{2}\d", service.Output);
        using var client = new HttpClient();
        var health = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/health")).RootElement;
        Assert.Equal(policy, health.GetProperty("policy").GetProperty("directory").GetString());
    }

    private static async Task<string> WithBuiltBinaryAsync()
    {
        var binary = Path.Combine(AppContext.BaseDirectory, "FilterService");
        Assert.True(File.Exists(binary), $"the built service's launcher {binary} is missing");
        var unit = Path.Combine(TempDir.Create("unit"), "school-filter.service");
        var text = await File.ReadAllTextAsync(Unit);
        Assert.Contains("ExecStart=/usr/lib/school-filter/FilterService\n", text);
        await File.WriteAllTextAsync(unit, text.Replace("ExecStart=/usr/lib/school-filter/FilterService\n", $"ExecStart={binary}\n"));
        return unit;
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(deadline.Token);
        return (p.ExitCode, (await stdout + await stderr).Trim());
    }
}
