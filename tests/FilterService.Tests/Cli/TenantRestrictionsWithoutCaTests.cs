using System.Net.Http;
using System.Text.Json;
using FilterService.Cli;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Cli;

/// <summary>
/// Issue 17: tenant restrictions are headers added inside TLS, so without an inspection CA they cannot apply. <c>check</c>
/// says so at the section's line, and the running service shows it in /health (degraded) until a CA is configured.
/// </summary>
public sealed class TenantRestrictionsWithoutCaTests
{
    private const string Section = "\ntenant_restrictions:\n  roles: [pupil]\n  microsoft: { tenants: [cherryoak.onmicrosoft.com], context: 6c3e5c2a-1f47-4b8e-9d2a-0c5b7e8f9a10 }\n";

    private static (string Dir, int Line) PolicyWithTenantRestrictions()
    {
        var dir = Samples.CopyDefault();
        var path = Path.Combine(dir, "policy.yaml");
        var text = File.ReadAllText(path).ReplaceLineEndings("\n").TrimEnd('\n') + "\n";
        File.WriteAllText(path, text + Section);
        return (dir, text.Count(c => c == '\n') + 3); // the section's first entry (roles)
    }

    private static async Task<(int Exit, string Out)> Check(params string[] args)
    {
        var stdout = new StringWriter();
        var exit = await CliCommands.RunAsync(["check", .. args], stdout, new StringWriter(), new StringReader(""));
        return (exit, stdout.ToString());
    }

    [Fact]
    public async Task Issue17_Check_TenantRestrictionsWithoutCa_IsALocatedWarning()
    {
        var (dir, line) = PolicyWithTenantRestrictions();
        var (exit, output) = await Check("--policy", dir);
        Assert.True(exit == 0, output);
        var lines = output.ReplaceLineEndings("\n").Split('\n');
        Assert.Contains($"policy.yaml:{line}:1: warning FS0113: tenant_restrictions (microsoft) cannot apply without an inspection CA (Proxy:InspectionCaCertificate): "
            + "the sign-in headers are added inside TLS, so pupils can sign in to any tenant", lines);
        Assert.Contains("  tenant restrictions: microsoft for roles pupil (not applied without an inspection CA)", lines);

        var (_, ca, _) = await CaCommandTests.InitAsync();
        var (withCaExit, withCa) = await Check("--policy", dir, "--inspection-ca", ca);
        Assert.True(withCaExit == 0, withCa);
        Assert.DoesNotContain("FS0113", withCa);
        Assert.Contains("  tenant restrictions: microsoft for roles pupil", withCa.ReplaceLineEndings("\n").Split('\n'));
    }

    [Fact]
    public async Task Issue17_Health_TenantRestrictionsWithoutCa_IsAProblem()
    {
        var (dir, _) = PolicyWithTenantRestrictions();
        await using var service = await ServiceProcess.StartAsync([$"--Policy:Path={dir}", $"--Audit:Path={TempDir.Create("audit")}"]);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var health = JsonDocument.Parse(await client.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/health"));
        Assert.Equal("degraded", health.RootElement.GetProperty("status").GetString());
        Assert.Contains(health.RootElement.GetProperty("problems").EnumerateArray(),
            p => p.GetString()!.StartsWith("tenant_restrictions (microsoft) cannot apply without an inspection CA", StringComparison.Ordinal));
        Assert.Contains("warning FS0113: tenant_restrictions (microsoft)", service.Output);
    }
}
