using System.Net;
using System.Text.Json;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Policy;

/// <summary>Hot reload against the running service, on a private copy of the default sample.</summary>
public sealed class ReloadTests : IAsyncLifetime
{
    private TestOrigin _origin = null!;
    private RunningService _service = null!;
    private string _policy = null!;

    public async Task InitializeAsync()
    {
        _policy = Samples.CopyDefault();
        _origin = await TestOrigin.StartAsync();
        _service = await RunningService.StartAsync(_policy, _origin, "--Policy:Watch=true");
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        await _origin.DisposeAsync();
    }

    private async Task<JsonElement> HealthAsync()
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var json = await client.GetStringAsync($"http://127.0.0.1:{_service.AdminPort}/health");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    private async Task<JsonElement> WaitForLoadAsync(long afterGeneration, string trigger, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var health = await HealthAsync();
            if (done(health))
            {
                return health;
            }
            Assert.True(DateTime.UtcNow < deadline, $"no {trigger} reload reported: {health.GetRawText()}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task EditUnderLoad_BlocksNewDomainWithinSeconds_WithoutFailedRequests()
    {
        // Sent preemptively: with proxy_auth optional there is no 407 to make HttpClient offer credentials.
        using var client = _service.CreateClient();
        client.DefaultRequestHeaders.ProxyAuthorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("pupil1:pupil1-demo"u8.ToArray()));
        var statuses = new List<(DateTime At, HttpStatusCode Status, string Body)>();
        var failures = new List<string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        DateTime? editedAt = null;
        var loop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync("http://www.example.org/hello", stop.Token);
                    var body = await response.Content.ReadAsStringAsync(stop.Token);
                    lock (statuses)
                    {
                        statuses.Add((DateTime.UtcNow, response.StatusCode, body));
                    }
                    if (response.StatusCode == HttpStatusCode.Forbidden)
                    {
                        break;
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    lock (failures)
                    {
                        failures.Add(ex.Message);
                    }
                }
            }
        });

        var warmUp = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < warmUp)
        {
            lock (statuses)
            {
                if (statuses.Count(s => s.Status == HttpStatusCode.OK) >= 3)
                {
                    break;
                }
            }
            await Task.Delay(50);
        }
        lock (statuses)
        {
            Assert.True(statuses.Count(s => s.Status == HttpStatusCode.OK) >= 3, "the loop never got going: " + string.Join(", ", failures));
        }
        var generation = (await HealthAsync()).GetProperty("policy").GetProperty("generation").GetInt64();
        editedAt = DateTime.UtcNow;
        await File.AppendAllTextAsync(Path.Combine(_policy, "lists", "social-extra.txt"), "\nexample.org\n");
        await loop.WaitAsync(TimeSpan.FromSeconds(45));

        Assert.Empty(failures);
        var blocked = statuses.Where(s => s.Status == HttpStatusCode.Forbidden).ToList();
        Assert.True(blocked.Count > 0, (await HealthAsync()).GetRawText() + " statuses " + statuses.Count);
        Assert.True(blocked[0].At - editedAt.Value < TimeSpan.FromSeconds(10), $"took {blocked[0].At - editedAt.Value}");
        Assert.Contains("pupils-social", blocked[0].Body);
        Assert.All(statuses, s => Assert.True(s.Status is HttpStatusCode.OK or HttpStatusCode.Forbidden, s.Status.ToString()));
        var health = await HealthAsync();
        Assert.True(health.GetProperty("policy").GetProperty("generation").GetInt64() > generation);
        Assert.True(health.GetProperty("lastLoad").GetProperty("succeeded").GetBoolean());
    }

    [Fact]
    public async Task BrokenEdit_ChangesNothingAndIsReported()
    {
        var before = await HealthAsync();
        var version = before.GetProperty("policy").GetProperty("version").GetString();
        var yaml = Path.Combine(_policy, "policy.yaml");
        var original = await File.ReadAllTextAsync(yaml);
        await File.WriteAllTextAsync(yaml, original.Replace("roles: [pupil]\n    category: social\n    action: block", "roles: [pupill]\n    category: social\n    action: block"));

        var health = await WaitForLoadAsync(0, "rejected", h => h.GetProperty("lastLoad").GetProperty("succeeded").GetBoolean() == false);
        Assert.Equal(version, health.GetProperty("policy").GetProperty("version").GetString());
        var diagnostics = health.GetProperty("lastLoad").GetProperty("diagnostics").EnumerateArray().Select(d => d.GetString()!).ToList();
        Assert.Contains(diagnostics, d => d.StartsWith("policy.yaml:") && d.Contains("PM0103") && d.Contains("pupill"));

        // The last good policy is still deciding: pupil1 still gets the block page for facebook.
        var result = await Curl.RunAsync("--proxy", _service.ProxyUri.ToString(), "--proxy-user", "pupil1:pupil1-demo", "http://www.facebook.com/");
        Assert.Equal(403, result.HttpCode);
        Assert.Contains("pupils-social", result.Body);
    }

    [Fact]
    public async Task EditThatEmptiesTheStatutoryList_IsRejected()
    {
        await File.WriteAllTextAsync(Path.Combine(_policy, "lists", "terrorism.sha256"), "# emptied by mistake\n");
        var health = await WaitForLoadAsync(0, "rejected", h => h.GetProperty("lastLoad").GetProperty("succeeded").GetBoolean() == false);
        var diagnostics = string.Join("\n", health.GetProperty("lastLoad").GetProperty("diagnostics").EnumerateArray().Select(d => d.GetString()));
        Assert.Contains("terrorism", diagnostics);
        var result = await Curl.RunAsync("--proxy", _service.ProxyUri.ToString(), "http://blocked-terror.test/");
        Assert.Equal(403, result.HttpCode);
        Assert.Contains("statutory:terrorism", result.Body);
    }

    [Fact]
    public async Task EditThatRemovesTheStatutoryCategory_IsRejected()
    {
        var yaml = Path.Combine(_policy, "policy.yaml");
        var text = await File.ReadAllTextAsync(yaml);
        int start = text.IndexOf("  terrorism:", StringComparison.Ordinal);
        int end = text.IndexOf("\nschedules:", StringComparison.Ordinal);
        Assert.True(start > 0 && end > start);
        await File.WriteAllTextAsync(yaml, text[..start] + text[end..]);
        var health = await WaitForLoadAsync(0, "rejected", h => h.GetProperty("lastLoad").GetProperty("succeeded").GetBoolean() == false);
        var diagnostics = string.Join("\n", health.GetProperty("lastLoad").GetProperty("diagnostics").EnumerateArray().Select(d => d.GetString()));
        Assert.Contains("FS0102", diagnostics);
        var result = await Curl.RunAsync("--proxy", _service.ProxyUri.ToString(), "https://blocked-terror.test/");
        Assert.Equal(403, result.ConnectCode);
    }
}

/// <summary>
/// SIGHUP reloads even when the directory is not watched. The service runs as its own process, as deployed: the signal
/// goes to it alone, not to the test process and every service hosted there.
/// </summary>
public sealed class SighupTests
{
    /// <param name="underNohup">Started under nohup, which sets SIGHUP to ignored and execs the service: .NET would
    /// otherwise leave it ignored for good. The service says it took the signal back, and says nothing of it otherwise.</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sighup_ReloadsAnUnwatchedPolicy(bool underNohup)
    {
        if (underNohup && !OperatingSystem.IsLinux())
        {
            return;
        }
        var policy = Samples.CopyDefault();
        await using var service = await ServiceProcess.StartAsync([$"--Policy:Path={policy}", $"--Audit:Path={TempDir.Create("audit")}", "--Policy:Watch=false"],
            launcher: underNohup ? ["nohup"] : null);
        const string pupil = "pupil1:pupil1-demo", url = "http://www.example.org/hello", tookBack = "SIGHUP was ignored when the service started";
        Assert.NotEqual(403, (await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", pupil, url)).HttpCode);

        await File.AppendAllTextAsync(Path.Combine(policy, "lists", "social-extra.txt"), "\nexample.org\n");
        await Task.Delay(500);
        Assert.DoesNotContain("Policy reloaded", service.Output); // not watched: an edit alone changes nothing

        await service.SignalAsync("HUP");
        Assert.True(await service.WaitForOutputAsync("Policy reloaded (SIGHUP)", TimeSpan.FromSeconds(30)), service.Output);
        Assert.Equal(403, (await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", pupil, url)).HttpCode);
        Assert.Equal(underNohup, service.Output.Contains(tookBack, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Name:\tdotnet\nSigIgn:\t0000000000000001\nSigCgt:\t0\n", true)]
    [InlineData("SigIgn:\t0000000000001001\n", true)]
    [InlineData("SigIgn:\t0000000000001000\n", false)] // SIGPIPE only, as the runtime sets it
    [InlineData("SigIgn:\t0000000000000000\n", false)]
    [InlineData("Name:\tdotnet\n", false)]
    [InlineData("SigIgn:\tnot-hex\n", false)]
    public void IgnoredAtStart_ReadsTheSigIgnMask(string status, bool ignored) =>
        Assert.Equal(ignored, FilterService.Policy.HangupLatch.IgnoredAtStart(status));
}
