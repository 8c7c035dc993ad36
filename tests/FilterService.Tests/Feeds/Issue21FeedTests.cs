using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Feeds;

/// <summary>
/// Issue 21 must-shows, end to end: the service as its own process fetches a statutory list from a local HTTPS feed
/// server with its own test CA. A good update reaches the live proxy within the refresh interval; 304 costs no reload;
/// a 500, a truncated body, a wrong hash, a bad signature and a list shrunk by half each keep the last good list, count
/// in <c>filterservice_feed_failures_total</c> and show in /health.
/// </summary>
public sealed class Issue21FeedTests
{
    private const string List = "lists/feed-iwf.txt";

    /// <summary>Ten listed hosts: the last good list.</summary>
    private static readonly string Good = string.Concat(Enumerable.Range(1, 10).Select(i => $"listed-{i}.test\n"));

    private static async Task<(ServiceProcess Service, string Policy)> StartAsync(FeedServer server, string verify, params string[] settings)
    {
        var policy = Samples.CopyDefault();
        var yaml = await File.ReadAllTextAsync(Path.Combine(policy, "policy.yaml"));
        var key = verify == "signature" ? ", key: feed-key.pem" : "";
        yaml = yaml.Replace("categories:\n", $$"""
            categories:
              feed-iwf:
                description: A statutory list from a feed (issue 21)
                statutory: true
                lists:
                  - { path: {{List}}, format: domains, source: "{{server.Url("/iwf.txt")}}", refresh: 1s, verify: {{verify}}{{key}} }

            """);
        await File.WriteAllTextAsync(Path.Combine(policy, "policy.yaml"), yaml);
        await File.WriteAllTextAsync(Path.Combine(policy, "feed-key.pem"), server.SigningKey.ExportSubjectPublicKeyInfoPem());
        await File.WriteAllTextAsync(Path.Combine(policy, List), Good);
        var audit = TempDir.Create("audit");
        var service = await ServiceProcess.StartAsync([$"--Policy:Path={policy}", $"--Audit:Path={audit}", $"--Feeds:TrustedCaFile={server.CaFile}",
            "--Feeds:Retries=1", "--Feeds:RetryDelay=00:00:00.100", "--Logging:LogLevel:Default=Warning", .. settings]);
        return (service, policy);
    }

    private static async Task<JsonElement> HealthAsync(int adminPort)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return JsonDocument.Parse(await client.GetStringAsync($"http://127.0.0.1:{adminPort}/health")).RootElement.Clone();
    }

    private static async Task<string[]> ScrapeAsync(int adminPort)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return (await client.GetStringAsync($"http://127.0.0.1:{adminPort}/metrics")).Split('\n');
    }

    /// <summary>The sum of a metric's samples whose labels include every one of <paramref name="labels"/> (<c>reason="shrunk"</c>).</summary>
    private static double Metric(string[] lines, string name, params string[] labels) =>
        lines.Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && labels.All(l.Contains))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    private static JsonElement Feed(JsonElement health) =>
        health.GetProperty("feeds").EnumerateArray().Single(f => f.GetProperty("list").GetString() == List);

    private static async Task<T> WaitAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, int seconds = 30, Func<Task<string>>? more = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{what} ({(more is null ? "" : await more())}): {(value is string[] lines ? string.Join("\n", lines.Where(l => l.StartsWith("filterservice_feed", StringComparison.Ordinal) && !l.EndsWith(" 0", StringComparison.Ordinal))) : value)}");
            await Task.Delay(200);
        }
    }

    private static HttpClient ProxyClient(ServiceProcess service) => new(new SocketsHttpHandler
    {
        Proxy = new WebProxy(service.Proxy) { BypassProxyOnLocal = false },
        UseProxy = true,
        AllowAutoRedirect = false,
        UseCookies = false,
    }) { Timeout = TimeSpan.FromSeconds(15) };

    private static async Task<int> StatusThroughProxyAsync(ServiceProcess service, string host)
    {
        using var client = ProxyClient(service);
        using var response = await client.GetAsync($"http://{host}/");
        return (int)response.StatusCode;
    }

    [Fact]
    public async Task Issue21_FeedUpdate_LiveProxyBlocksTheNewlyListedHost_WithinTheRefreshInterval()
    {
        await using var server = await FeedServer.StartAsync();
        server.Publish("/iwf.txt", Good);
        var (service, _) = await StartAsync(server, "sha256");
        await using var _ = service;
        await WaitAsync(() => HealthAsync(service.AdminPort), h => Feed(h).GetProperty("lastSuccess").ValueKind == JsonValueKind.String, "the first check did not succeed");
        Assert.Equal(403, await StatusThroughProxyAsync(service, "listed-3.test"));
        Assert.NotEqual(403, await StatusThroughProxyAsync(service, "newly-listed.test"));

        server.Publish("/iwf.txt", Good + "newly-listed.test\n");
        var published = DateTime.UtcNow;
        await WaitAsync(() => StatusThroughProxyAsync(service, "newly-listed.test"), s => s == 403, "the newly listed host was not blocked");
        // Within the refresh interval (1 s, the policy's minimum) plus the time a loaded machine takes to fetch and reload: generous, not a timing claim.
        Assert.True(DateTime.UtcNow - published < TimeSpan.FromSeconds(20));
        var health = await HealthAsync(service.AdminPort);
        Assert.Equal(11, Feed(health).GetProperty("entries").GetInt32());
        Assert.Equal("ok", health.GetProperty("status").GetString());
        var lines = await ScrapeAsync(service.AdminPort);
        Assert.True(Metric(lines, "filterservice_feed_updates_total", $"list=\"{List}\"") >= 1);
        Assert.True(Metric(lines, "filterservice_feed_last_success_timestamp_seconds", $"list=\"{List}\"", "statutory=\"true\"") > 1.7e9);
        Assert.Equal(11, Metric(lines, "filterservice_feed_entries", $"list=\"{List}\""));
    }

    [Fact]
    public async Task Issue21_NotModified_CostsNoReload()
    {
        await using var server = await FeedServer.StartAsync();
        server.Publish("/iwf.txt", Good + "newly-listed.test\n");
        var (service, _) = await StartAsync(server, "none");
        await using var _ = service;
        var first = await WaitAsync(() => HealthAsync(service.AdminPort), h => Feed(h).GetProperty("entries").ValueKind == JsonValueKind.Number, "the first download was not loaded");
        long generation = first.GetProperty("policy").GetProperty("generation").GetInt64();
        var lines = await WaitAsync(() => ScrapeAsync(service.AdminPort),
            l => Metric(l, "filterservice_feed_not_modified_total", $"list=\"{List}\"") >= 2, "no 304s were counted");
        var reloads = Metric(lines, "filterservice_policy_reloads_total");
        var health = await HealthAsync(service.AdminPort);
        Assert.Equal(generation, health.GetProperty("policy").GetProperty("generation").GetInt64());
        Assert.Equal(reloads, Metric(await ScrapeAsync(service.AdminPort), "filterservice_policy_reloads_total"));
        Assert.StartsWith("\"", Feed(health).GetProperty("etag").GetString());
        Assert.Equal("ok", health.GetProperty("status").GetString());
    }

    public static TheoryData<string, string> Failures => new()
    {
        { "500", "http_status" },
        { "truncated", "truncated" },
        { "wrong-hash", "hash_mismatch" },
        { "bad-signature", "bad_signature" },
        { "shrunk-by-half", "shrunk" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Issue21_BadDownload_KeepsTheLastGoodList_RaisesTheMetric_ShowsInHealth(string fault, string reason)
    {
        await using var server = await FeedServer.StartAsync();
        server.Publish("/iwf.txt", Good);
        var (service, policy) = await StartAsync(server, fault == "bad-signature" ? "signature" : "sha256");
        await using var _ = service;
        await WaitAsync(() => HealthAsync(service.AdminPort), h => Feed(h).GetProperty("lastSuccess").ValueKind == JsonValueKind.String, "the first check did not succeed");
        var version = (await HealthAsync(service.AdminPort)).GetProperty("policy").GetProperty("version").GetString();

        var half = string.Concat(Good.Split('\n').Take(5).Select(l => l + "\n")) + "newly-listed.test\n";
        var bad = Encoding.UTF8.GetBytes(Good + "newly-listed.test\n");
        switch (fault)
        {
            case "500":
                server.Faults["/iwf.txt"] = FeedServer.Fault.ServerError;
                break;
            case "truncated":
                server.Publish("/iwf.txt", bad);
                server.Faults["/iwf.txt"] = FeedServer.Fault.Truncated;
                break;
            case "wrong-hash":
                server.Publish("/iwf.txt", bad, hashOf: Encoding.UTF8.GetBytes(Good));
                break;
            case "bad-signature":
                using (var other = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                {
                    server.Publish("/iwf.txt", bad, signWith: other);
                }
                break;
            case "shrunk-by-half":
                server.Publish("/iwf.txt", half);
                break;
        }

        var lines = await WaitAsync(() => ScrapeAsync(service.AdminPort),
            l => Metric(l, "filterservice_feed_failures_total", $"list=\"{List}\"", $"reason=\"{reason}\"") >= 1,
            $"no {reason} failure was counted", more: async () => Feed(await HealthAsync(service.AdminPort)).GetProperty("lastError").ToString());
        Assert.Equal(0, Metric(lines, "filterservice_feed_up", $"list=\"{List}\""));
        var health = await HealthAsync(service.AdminPort);
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.Equal(reason, Feed(health).GetProperty("lastFailure").GetString());
        Assert.Contains(health.GetProperty("problems").EnumerateArray(), p => p.GetString()!.StartsWith($"feed: statutory list {List} (feed-iwf) did not update ({reason})"));
        // The last good list stays, on disk and live: its hosts are blocked, the new one is not.
        Assert.Equal(Good, await File.ReadAllTextAsync(Path.Combine(policy, List)));
        Assert.Equal(version, health.GetProperty("policy").GetProperty("version").GetString());
        Assert.Equal(403, await StatusThroughProxyAsync(service, "listed-9.test"));
        Assert.NotEqual(403, await StatusThroughProxyAsync(service, "newly-listed.test"));
        if (reason is "hash_mismatch" or "bad_signature" or "shrunk")
        {
            // Kept for inspection, never installed.
            Assert.Equal(reason == "shrunk" ? half : Good + "newly-listed.test\n", await File.ReadAllTextAsync(Path.Combine(policy, List + ".refused")));
        }
    }
}
