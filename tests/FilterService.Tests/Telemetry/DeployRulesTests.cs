namespace FilterService.Tests.Telemetry;

/// <summary>deploy/prometheus: the rules load, and their unit tests (every alert firing) pass.</summary>
public sealed class DeployRulesTests
{
    private static string PrometheusDir => Path.Combine(Promtool.DeployDir, "prometheus");

    [Fact]
    public async Task AlertRules_PassPromtoolCheckRules()
    {
        var r = await Promtool.RunAsync(null, PrometheusDir, "check", "rules", "alerts.yml");
        Assert.True(r.ExitCode == 0, $"promtool check rules: exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
    }

    [Fact]
    public async Task AlertRuleUnitTests_PassPromtoolTestRules()
    {
        var r = await Promtool.RunAsync(null, PrometheusDir, "test", "rules", "alerts.test.yml");
        Assert.True(r.ExitCode == 0, $"promtool test rules: exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
    }

    [Fact]
    public async Task AlertRuleUnitTests_CoverEveryAlertFiring()
    {
        var rules = await File.ReadAllLinesAsync(Path.Combine(PrometheusDir, "alerts.yml"));
        var alerts = rules.Select(l => l.Trim()).Where(l => l.StartsWith("- alert: ", StringComparison.Ordinal)).Select(l => l[9..].Trim()).ToList();
        Assert.NotEmpty(alerts);
        var tests = await File.ReadAllTextAsync(Path.Combine(PrometheusDir, "alerts.test.yml"));
        // A firing case is an alertname followed by a non-empty exp_alerts list (promtool checks that it fires).
        var firing = System.Text.RegularExpressions.Regex.Matches(tests, @"alertname: (\w+)\s*\n\s*exp_alerts:\s*\n\s*- exp_labels")
            .Select(m => m.Groups[1].Value).ToHashSet();
        Assert.All(alerts, a => Assert.Contains(a, firing));
    }

    [Fact]
    public async Task ScrapeConfig_PassesPromtoolCheckConfig()
    {
        var r = await Promtool.RunAsync(null, PrometheusDir, "check", "config", "prometheus.yml");
        Assert.True(r.ExitCode == 0, $"promtool check config: exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
    }
}
