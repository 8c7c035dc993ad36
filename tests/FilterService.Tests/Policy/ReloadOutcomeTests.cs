using System.Text.Json;
using FilterService.Cli;
using FilterService.Policy;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using PolicyModel.Documents;

namespace FilterService.Tests.Policy;

/// <summary>Issue 15 items 11 and 12, and the inspection-CA warnings: every reload outcome and a lost watch are visible.</summary>
public sealed class ReloadOutcomeTests
{
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

    private static async Task<JsonElement> WaitForHealthAsync(int adminPort, Func<JsonElement, bool> done, string what, int seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var health = await HealthAsync(adminPort);
            if (done(health))
            {
                return health;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{what}: {health.GetRawText()}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Item11_ReloadThatThrows_IsReportedAsFailedInHealthAndMetrics_AndTheLastGoodPolicyStaysLive()
    {
        var policy = Samples.CopyDefault();
        var fail = false;
        // The seam: the loader as the service calls it, throwing on demand as a loader bug would.
        PolicyLoad load = dir => Volatile.Read(ref fail) ? throw new InvalidOperationException("injected loader fault") : PolicyLoader.Load(dir);
        await using var service = await RunningService.StartWithServicesAsync(policy, null, s => s.AddSingleton(load), "--Policy:Watch=true");
        var version = service.App.Policy.Current.Version;
        Assert.Contains("filterservice_policy_last_reload_success 1", await ScrapeAsync(service.AdminPort));

        Volatile.Write(ref fail, true);
        await File.AppendAllTextAsync(Path.Combine(policy, "lists", "social-extra.txt"), "\nexample.org\n");

        var health = await WaitForHealthAsync(service.AdminPort, h => !h.GetProperty("lastLoad").GetProperty("succeeded").GetBoolean(),
            "the reload that threw was not reported");
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.Equal("file change", health.GetProperty("lastLoad").GetProperty("trigger").GetString());
        Assert.Equal($"{policy}: error FS0105: loading the policy failed unexpectedly (InvalidOperationException: injected loader fault); the previous policy (if any) stays live",
            health.GetProperty("lastLoad").GetProperty("error").GetString());
        Assert.Equal(version, health.GetProperty("policy").GetProperty("version").GetString());
        var metrics = await ScrapeAsync(service.AdminPort);
        Assert.Contains("filterservice_policy_last_reload_success 0", metrics);
        Assert.Contains("filterservice_policy_reloads_total{outcome=\"failure\",trigger=\"file change\"} 1", metrics);
    }

    [Fact]
    public async Task Item12_PolicyDirectoryDeletedAndRecreated_WatcherReportsTheGapAndPicksUpTheNewPolicy()
    {
        var policy = Samples.CopyDefault();
        var audit = TempDir.Create("audit");
        await using var service = await ServiceProcess.StartAsync([$"--Policy:Path={policy}", $"--Audit:Path={audit}", "--Policy:Watch=true",
            "--Policy:ReloadDelay=00:00:00.200", "--Logging:LogLevel:Default=Warning"]);
        var before = await HealthAsync(service.AdminPort);
        Assert.Equal("watching", before.GetProperty("policy").GetProperty("watcher").GetProperty("state").GetString());
        var generation = before.GetProperty("policy").GetProperty("generation").GetInt64();
        Assert.Contains("filterservice_policy_watcher_up 1", await ScrapeAsync(service.AdminPort));

        // A deploy script's rm -rf: the watch on the directory dies with it, and says so.
        Directory.Delete(policy, recursive: true);
        // Wait for the reload the deletion itself triggers (it fails: no policy.yaml), so that what follows can only be
        // picked up by a re-armed watch.
        var gap = await WaitForHealthAsync(service.AdminPort, h => h.GetProperty("policy").GetProperty("watcher").GetProperty("state").GetString() == "dead"
            && !h.GetProperty("lastLoad").GetProperty("succeeded").GetBoolean(), "the lost watch was not reported");
        Assert.Equal("degraded", gap.GetProperty("status").GetString());
        Assert.Contains(gap.GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("directory watcher is dead"));
        Assert.Contains("filterservice_policy_watcher_up 0", await ScrapeAsync(service.AdminPort));

        // ... and cp -r of a changed policy: picked up without a signal, within a bounded time.
        TempDir.CopyDirectory(Samples.DefaultDir, policy);
        await File.AppendAllTextAsync(Path.Combine(policy, "lists", "social-extra.txt"), "\nexample.org\n");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        JsonElement after;
        while (true)
        {
            after = await HealthAsync(service.AdminPort);
            if (after.GetProperty("status").GetString() == "ok")
            {
                var result = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "pupil1:pupil1-demo", "http://www.example.org/hello");
                if (result.HttpCode == 403 && result.Body.Contains("pupils-social"))
                {
                    break;
                }
            }
            Assert.True(DateTime.UtcNow < deadline, "the recreated directory was not picked up: " + after.GetRawText());
            await Task.Delay(200);
        }
        Assert.True(after.GetProperty("policy").GetProperty("generation").GetInt64() > generation);
        Assert.Equal("watching", after.GetProperty("policy").GetProperty("watcher").GetProperty("state").GetString());
        Assert.Contains("filterservice_policy_watcher_up 1", await ScrapeAsync(service.AdminPort));

        // And the re-armed watch keeps working for the next edit.
        var again = after.GetProperty("policy").GetProperty("generation").GetInt64();
        await File.AppendAllTextAsync(Path.Combine(policy, "lists", "social-extra.txt"), "\nexample.net\n");
        await WaitForHealthAsync(service.AdminPort, h => h.GetProperty("policy").GetProperty("generation").GetInt64() > again, "the next edit was not picked up");
    }
}

/// <summary>The Must-show item: what cannot be enforced over HTTPS without an inspection CA is named, at start and in check.</summary>
public sealed class InspectionWarningTests
{
    private const string NoCa = "cannot be enforced over HTTPS without an inspection CA (Proxy:InspectionCaCertificate): HTTPS to its host is decided on the host alone";

    private static string PolicyWithStatutoryUrls()
    {
        var policy = Samples.CopyDefault();
        Directory.CreateDirectory(Path.Combine(policy, "lists", "terror-urls"));
        File.WriteAllText(Path.Combine(policy, "lists", "terror-urls", "urls"), "stand-in.test/terror/recruitment\nwhole-site.test/\n");
        var yaml = Path.Combine(policy, "policy.yaml");
        File.WriteAllText(yaml, File.ReadAllText(yaml).Replace("lists: [ { path: lists/terrorism.sha256, format: hashed } ]",
            "lists: [ { path: lists/terrorism.sha256, format: hashed }, { path: lists/terror-urls, format: ut1 } ]"));
        return policy;
    }

    private static int RuleLine(string policy, string rule) =>
        Array.FindIndex(File.ReadAllLines(Path.Combine(policy, "policy.yaml")), l => l.Contains($"name: {rule}")) + 1;

    private static string[] Expected(string policy) =>
    [
        $"policy.yaml:{RuleLine(policy, "no-wikipedia-edits")}:1: warning FS0110: rule 'no-wikipedia-edits' uses methods or paths, which {NoCa}",
        $"policy.yaml:{RuleLine(policy, "pupils-youtube-embeds")}:1: warning FS0110: rule 'pupils-youtube-embeds' uses methods or paths, which {NoCa}",
        $"policy.yaml:{RuleLine(policy, "pupils-youtube-pages")}:1: warning FS0110: rule 'pupils-youtube-pages' uses methods or paths, which {NoCa}",
        $"lists/terror-urls: warning FS0111: statutory URL entry 'stand-in.test/terror/recruitment' {NoCa}",
        $"lists/terrorism.sha256: warning FS0112: statutory list 'lists/terrorism.sha256' holds 5 hashed entries; any that is the digest of a URL (host/path) rather than a host {NoCa}",
    ];

    [Fact]
    public async Task MustShow_Check_WithoutInspectionCa_NamesEveryRuleAndStatutoryUrlEntryItCannotEnforce()
    {
        var policy = PolicyWithStatutoryUrls();
        var stdout = new StringWriter();

        var exit = await CliCommands.RunAsync(["check", "--policy", policy], stdout, new StringWriter(), new StringReader(""));

        Assert.True(exit == 0, stdout.ToString());
        var warnings = stdout.ToString().Split('\n').Where(l => l.Contains(": warning FS011")).ToArray();
        Assert.Equal(Expected(policy), warnings);
        Assert.DoesNotContain("whole-site.test", stdout.ToString()); // a whole-site entry is decided at CONNECT
    }

    [Fact]
    public async Task MustShow_Check_WithInspectionCa_DoesNotWarn()
    {
        var policy = PolicyWithStatutoryUrls();
        var stdout = new StringWriter();
        var ca = Path.Combine(policy, "policy.yaml"); // any existing file: check only needs to know one is configured

        var exit = await CliCommands.RunAsync(["check", "--policy", policy, "--inspection-ca", ca], stdout, new StringWriter(), new StringReader(""));

        Assert.True(exit == 0, stdout.ToString());
        Assert.DoesNotContain("FS011", stdout.ToString());
    }

    [Fact]
    public async Task MustShow_Start_WithoutInspectionCa_WarnsWithTheSameText()
    {
        var policy = PolicyWithStatutoryUrls();
        await using var service = await ServiceProcess.StartAsync([$"--Policy:Path={policy}", $"--Audit:Path={TempDir.Create("audit")}"]);
        var lines = service.Output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Contains(": warning FS011")).ToArray();
        Assert.Equal(Expected(policy), lines);
    }
}
