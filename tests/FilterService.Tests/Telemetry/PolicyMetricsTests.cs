using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Telemetry;

/// <summary>Policy reload outcomes reach the scrape: what the PolicyReloadFailed alert and the dashboard read.</summary>
public sealed class PolicyMetricsTests
{
    private static async Task<string[]> ScrapeAsync(RunningService service)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return (await http.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/metrics")).Split('\n');
    }

    [Fact]
    public async Task RejectedReload_CountsAFailure_ClearsLastReloadSuccess_KeepsThePolicyInfo()
    {
        var policy = Samples.CopyDefault();
        await using var service = await RunningService.StartAsync(policy, null, "--Policy:Watch=false");
        var before = await ScrapeAsync(service);
        var info = Assert.Single(before, l => l.StartsWith("filterservice_policy_info{", StringComparison.Ordinal));
        Assert.Contains("filterservice_policy_last_reload_success 1", before);

        await File.AppendAllTextAsync(Path.Combine(policy, "policy.yaml"), "\nthis is: [not valid\n");
        var report = service.App.Policy.Reload("test");
        Assert.False(report.Succeeded);

        var after = await ScrapeAsync(service);
        Assert.Contains("filterservice_policy_reloads_total{outcome=\"failure\",trigger=\"test\"} 1", after);
        Assert.Contains("filterservice_policy_reloads_total{outcome=\"success\",trigger=\"start\"} 1", after);
        Assert.Contains("filterservice_policy_last_reload_success 0", after);
        Assert.Contains(info, after); // the last good policy stays live
    }

    [Fact]
    public async Task ListRemovedFromThePolicy_ItsSeriesLeaveTheScrape_TheOthersStay()
    {
        // Per-list gauges are observed at each scrape: a list the new policy no longer has must vanish, not freeze.
        var policy = Samples.CopyDefault();
        await using var service = await RunningService.StartAsync(policy, null, "--Policy:Watch=false");
        var before = await ScrapeAsync(service);
        Assert.Contains(before, l => l.StartsWith("filterservice_list_entries{category=\"social\",list=\"lists/social-extra.txt\"", StringComparison.Ordinal));
        Assert.Contains(before, l => l.StartsWith("filterservice_list_age_seconds{category=\"social\",list=\"lists/social-extra.txt\"", StringComparison.Ordinal));

        var yaml = Path.Combine(policy, "policy.yaml");
        var text = await File.ReadAllTextAsync(yaml);
        const string Line = "      - { path: lists/social-extra.txt, format: domains }\n";
        Assert.Contains(Line, text);
        await File.WriteAllTextAsync(yaml, text.Replace(Line, ""));
        Assert.True(service.App.Policy.Reload("test").Succeeded);

        var after = await ScrapeAsync(service);
        Assert.DoesNotContain(after, l => l.Contains("social-extra.txt", StringComparison.Ordinal));
        Assert.Contains(after, l => l.StartsWith("filterservice_list_entries{category=\"social\",list=\"lists/sinfonietta-social.hosts\"", StringComparison.Ordinal));
        Assert.Single(after, l => l.StartsWith("filterservice_policy_info{", StringComparison.Ordinal)); // the old version's series is gone too
        Assert.Contains("filterservice_policy_reloads_total{outcome=\"success\",trigger=\"test\"} 1", after);
    }
}
