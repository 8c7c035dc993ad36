using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FilterService.Cli;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Policy;

/// <summary>
/// Issue 15 item 4: a statutory list may not shrink or degrade without an explicit, logged confirmation. The last good
/// policy stays live, and /health and the metrics say why. The service runs as its own process, as deployed: what a
/// test knows of the live list it reads where an operator would, in the metrics (<c>filterservice_list_entries</c>).
/// </summary>
public sealed class StatutoryListTests
{
    private static readonly string BlockedTerror = Convert.ToHexStringLower(SHA256.HashData("blocked-terror.test"u8));

    private static async Task<JsonElement> HealthAsync(int adminPort)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var json = await client.GetStringAsync($"http://127.0.0.1:{adminPort}/health");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    private static async Task<string[]> ScrapeAsync(int adminPort)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return (await client.GetStringAsync($"http://127.0.0.1:{adminPort}/metrics")).Split('\n');
    }

    /// <summary>
    /// Scrapes until <paramref name="line"/> appears (at most 15 s): the store counts a reload in the metrics after it has
    /// published the policy and its generation, saved the counts and collected the load's garbage, so a scrape right
    /// after /health shows the new generation may come before it.
    /// </summary>
    private static async Task<string[]> WaitForMetricAsync(int adminPort, string line)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var metrics = await ScrapeAsync(adminPort);
            if (metrics.Contains(line))
            {
                return metrics;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{line} never appeared:\n{string.Join("\n", metrics)}");
            await Task.Delay(100);
        }
    }

    private static async Task<JsonElement> WaitForHealthAsync(int adminPort, Func<JsonElement, bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
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

    private static bool Failed(JsonElement health) => !health.GetProperty("lastLoad").GetProperty("succeeded").GetBoolean();

    private static List<string> Diagnostics(JsonElement health) =>
        health.GetProperty("lastLoad").GetProperty("diagnostics").EnumerateArray().Select(d => d.GetString()!).ToList();

    /// <summary>The service on <paramref name="policy"/>, its own process, with an audit directory of its own.</summary>
    private static Task<ServiceProcess> StartAsync(string policy, string? audit, params string[] settings) =>
        ServiceProcess.StartAsync([$"--Policy:Path={policy}", $"--Audit:Path={audit ?? TempDir.Create("audit")}", "--Policy:ReloadDelay=00:00:00.200",
            "--Logging:LogLevel:Default=Warning", .. settings]);

    /// <summary>The live terrorism list's entry count, as the metrics give it.</summary>
    private static async Task<long> TerrorismEntriesAsync(int adminPort)
    {
        var line = (await ScrapeAsync(adminPort)).Single(l => l.StartsWith("filterservice_list_entries{", StringComparison.Ordinal)
            && l.Contains("list=\"lists/terrorism.sha256\"", StringComparison.Ordinal));
        return long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Reloads the policy as an operator does (SIGHUP) and waits for that load's report in /health.</summary>
    private static async Task<JsonElement> ReloadAsync(ServiceProcess service)
    {
        var before = (await HealthAsync(service.AdminPort)).GetProperty("lastLoad").GetProperty("at").GetString();
        await service.SignalAsync("HUP");
        return await WaitForHealthAsync(service.AdminPort, h => h.GetProperty("lastLoad").GetProperty("at").GetString() != before,
            "SIGHUP did not reload the policy");
    }

    private static async Task<(int Exit, string Out)> CliAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var exit = await CliCommands.RunAsync(args, stdout, new StringWriter(), new StringReader(""));
        return (exit, stdout.ToString());
    }

    [Fact]
    public async Task Item04_StatutoryListReplacedByRandomLinesAndOneDigest_IsRefusedOnReload_TheLastGoodListStaysLive()
    {
        var policy = Samples.CopyDefault();
        await using var service = await StartAsync(policy, null, "--Policy:Watch=true");
        var version = (await HealthAsync(service.AdminPort)).GetProperty("policy").GetProperty("version").GetString();

        await File.WriteAllTextAsync(Path.Combine(policy, "lists", "terrorism.sha256"),
            $"# format: sha256\n{BlockedTerror}\nq8Xz1-random\n{new string('z', 64)}\n");

        var health = await WaitForHealthAsync(service.AdminPort, Failed, "the corrupted list was not refused");
        var diagnostics = Diagnostics(health);
        Assert.Contains("lists/terrorism.sha256:3:1: error PM0205: malformed line in statutory list: 'q8Xz1-random' is not a SHA-256 digest (64 hex digits)", diagnostics);
        Assert.Contains($"lists/terrorism.sha256:4:1: error PM0205: malformed line in statutory list: '{new string('z', 64)}' is not a SHA-256 digest (64 hex digits)", diagnostics);
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.Equal(version, health.GetProperty("policy").GetProperty("version").GetString());
        Assert.Contains("filterservice_policy_last_reload_success 0", await ScrapeAsync(service.AdminPort));
        // The last good list is still the live one: all five entries, not one.
        Assert.Equal(5, await TerrorismEntriesAsync(service.AdminPort));
    }

    [Fact]
    public async Task Item04_StatutoryListShrunkToOneValidEntry_IsRefused_UntilThoseExactBytesAreConfirmed()
    {
        var policy = Samples.CopyDefault();
        await using var service = await StartAsync(policy, null, "--Policy:Watch=true");
        var list = Path.Combine(policy, "lists", "terrorism.sha256");
        var generation = (await HealthAsync(service.AdminPort)).GetProperty("policy").GetProperty("generation").GetInt64();
        // The series exists at 0 from the start, so that the StatutoryListShrinkRefused alert's increase() sees the first refusal.
        Assert.Contains("filterservice_statutory_list_shrink_refused_total{category=\"terrorism\"} 0", await ScrapeAsync(service.AdminPort));

        // Every line valid: a truncated download, not a corrupted one.
        await File.WriteAllTextAsync(list, $"# format: sha256\n{BlockedTerror}\n");
        var health = await WaitForHealthAsync(service.AdminPort, Failed, "the shrunken list was not refused");
        var expected = "lists/terrorism.sha256: error FS0104: statutory list 'lists/terrorism.sha256' (category 'terrorism') has 1 entries, down from 5 at its last "
            + "good load (below 0.9 of it); refused, as a truncated or corrupted download would be. If the change is intended, confirm it: "
            + $"FilterService lists confirm --policy {policy} --list lists/terrorism.sha256 --reason \"...\"";
        Assert.Equal([expected], Diagnostics(health).Where(d => d.Contains(": error ")));
        Assert.Equal(expected, health.GetProperty("lastLoad").GetProperty("error").GetString());
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.Contains(health.GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("FS0104"));
        var metrics = await WaitForMetricAsync(service.AdminPort, "filterservice_statutory_list_shrink_refused_total{category=\"terrorism\"} 1");
        Assert.Contains("filterservice_policy_last_reload_success 0", metrics);
        Assert.Equal(5, await TerrorismEntriesAsync(service.AdminPort));

        // A reason too short to be one is refused; a real confirmation is recorded for these bytes.
        var (exit, output) = await CliAsync("lists", "confirm", "--policy", policy, "--list", "lists/terrorism.sha256", "--reason", "ok");
        Assert.Equal(1, exit);
        Assert.Contains("error FS0108", output);
        (exit, output) = await CliAsync("lists", "confirm", "--policy", policy, "--list", "lists/terrorism.sha256", "--reason", "CTIRU withdrew four entries (ticket 4411)");
        Assert.True(exit == 0, output);
        var digest = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(list)));
        Assert.StartsWith($"confirmed: lists/terrorism.sha256 (terrorism) with 1 entries, sha256 {digest}", output);

        // Writing the confirmation is itself an edit of the directory: the watcher reloads and the shrink is accepted.
        health = await WaitForHealthAsync(service.AdminPort, h => h.GetProperty("policy").GetProperty("generation").GetInt64() > generation,
            "the confirmed list was not loaded");
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(1, await TerrorismEntriesAsync(service.AdminPort));
        await WaitForMetricAsync(service.AdminPort, "filterservice_statutory_list_shrink_confirmed_total{category=\"terrorism\"} 1");
        var record = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(policy, "statutory-confirmations.json"))).RootElement[0];
        Assert.Equal(digest, record.GetProperty("sha256").GetString());
        Assert.Equal(Environment.UserName, record.GetProperty("user").GetString());
        var result = await Curl.RunAsync("--proxy", service.Proxy, "http://blocked-terror.test/");
        Assert.Equal(403, result.HttpCode);
    }

    [Fact]
    public async Task Item04_ConfirmationOfOtherBytes_DoesNotAcceptALaterTruncation()
    {
        var policy = Samples.CopyDefault();
        await using var service = await StartAsync(policy, null);
        var list = Path.Combine(policy, "lists", "terrorism.sha256");
        var lines = (await File.ReadAllLinesAsync(list)).Where(l => !l.StartsWith('#')).ToList();
        await File.WriteAllTextAsync(list, string.Join("\n", lines.Take(2)) + "\n");
        var (exit, output) = await CliAsync("lists", "confirm", "--policy", policy, "--list", "lists/terrorism.sha256", "--reason", "two entries withdrawn by CTIRU");
        Assert.True(exit == 0, output);
        // Not the confirmed bytes: one entry fewer still (another truncation of the same download).
        await File.WriteAllTextAsync(list, lines[0] + "\n");

        var health = await ReloadAsync(service);

        Assert.True(Failed(health));
        Assert.Contains(Diagnostics(health), d => d.Contains("error FS0104") && d.Contains("has 1 entries, down from 5"));
        Assert.Equal(5, await TerrorismEntriesAsync(service.AdminPort));
    }

    [Fact]
    public async Task Item04_SmallShrinkWithinTheFraction_IsAccepted_AndTheFloorIsConfigurable()
    {
        var policy = Samples.CopyDefault();
        await using var service = await StartAsync(policy, null, "--Policy:StatutoryShrinkFraction=0.8", "--Policy:StatutoryMinEntries=4");
        var list = Path.Combine(policy, "lists", "terrorism.sha256");
        var lines = (await File.ReadAllLinesAsync(list)).Where(l => !l.StartsWith('#')).ToList();

        await File.WriteAllTextAsync(list, string.Join("\n", lines.Take(4)) + "\n"); // 4 of 5: 0.8 exactly
        Assert.False(Failed(await ReloadAsync(service)));
        Assert.Equal(4, await TerrorismEntriesAsync(service.AdminPort));

        await File.WriteAllTextAsync(list, string.Join("\n", lines.Take(3)) + "\n"); // 3 of 4 is 0.75, and below the floor of 4
        var health = await ReloadAsync(service);
        Assert.True(Failed(health));
        Assert.Contains(Diagnostics(health), d => d.Contains("error FS0104") && d.Contains("has 3 entries, down from 4 at its last good load (below 0.8 of it)"));
        Assert.Equal(4, await TerrorismEntriesAsync(service.AdminPort));
    }

    [Fact]
    public async Task Item04_RestartWithAShrunkenStatutoryList_FailsToStart_UntilConfirmed()
    {
        var policy = Samples.CopyDefault();
        var audit = TempDir.Create("audit");
        await using (await StartAsync(policy, audit))
        {
        }
        Assert.True(File.Exists(Path.Combine(audit, "statutory-lists.json")));
        var list = Path.Combine(policy, "lists", "terrorism.sha256");
        await File.WriteAllTextAsync(list, $"{BlockedTerror}\n");

        // As deployed: its own process, exit code 2, the reason on stderr.
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "FilterService.dll"), $"--Policy:Path={policy}", $"--Audit:Path={audit}",
            "--Proxy:Listen=127.0.0.1:0", "--Admin:Listen=127.0.0.1:0" })
        {
            psi.ArgumentList.Add(a);
        }
        using (var process = Process.Start(psi)!)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                throw new Xunit.Sdk.XunitException("the service started with a shrunken statutory list: " + await stdout);
            }
            Assert.Equal(2, process.ExitCode);
            Assert.Contains("lists/terrorism.sha256: error FS0104: statutory list 'lists/terrorism.sha256' (category 'terrorism') has 1 entries, down from 5 at its last good load", await stderr);
        }

        var (exit, output) = await CliAsync("lists", "confirm", "--policy", policy, "--list", "lists/terrorism.sha256", "--reason", "rebuilt from the CTIRU portal");
        Assert.True(exit == 0, output);
        await using var service = await StartAsync(policy, audit);
        Assert.Equal(1, await TerrorismEntriesAsync(service.AdminPort));
    }

    [Fact]
    public async Task Item04_Check_MalformedLineInAStatutoryList_IsALocatedError()
    {
        var policy = Samples.CopyDefault();
        await File.AppendAllTextAsync(Path.Combine(policy, "lists", "terrorism.sha256"), "half-a-download-0e8573520ef6\n");

        var (exit, output) = await CliAsync("check", "--policy", policy);

        Assert.Equal(1, exit);
        Assert.Contains("lists/terrorism.sha256:11:1: error PM0205: malformed line in statutory list: 'half-a-download-0e8573520ef6' is not a SHA-256 digest (64 hex digits)", output);
    }
}
