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
}
