using System.Diagnostics;
using System.Text.Json;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// The school of <see cref="ChromiumSchool"/> with the browser on the pupil LAN (a pupil), the blocked hosts pointed at
/// a listener that counts connections.
/// </summary>
public sealed class ChromiumHttpsFixture : IAsyncLifetime
{
    public ChromiumSchool School { get; private set; } = null!;
    public CountingListener Origin { get; private set; } = null!;
    public string Outbox => School.Outbox;

    public async Task InitializeAsync()
    {
        Origin = new CountingListener();
        School = await ChromiumSchool.StartAsync("pupil-lan", null,
            $"--Proxy:HostOverrides:www.facebook.com=127.0.0.1:{Origin.Port}",
            $"--Proxy:HostOverrides:blocked-terror.test=127.0.0.1:{Origin.Port}");
    }

    public Task<string> ChromiumAsync(string url, params string[] extra) => School.ChromiumAsync(url, extra);

    public List<JsonElement> AuditRecords() => School.AuditRecords();

    public Task<JsonElement> WaitForAuditAsync(Func<JsonElement, bool> match, string what) => School.WaitForAuditAsync(match, what);

    public async Task DisposeAsync()
    {
        await School.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

/// <summary>Issue 17, as a pupil sees it in real Chromium: HTTPS block pages instead of ERR_TUNNEL_CONNECTION_FAILED.</summary>
public sealed class ChromiumHttpsTests(ChromiumHttpsFixture fixture) : IClassFixture<ChromiumHttpsFixture>
{
    [Fact]
    public async Task ChromiumHttps_PupilFacebook_ShowsTheBlockPageWithReasonAndRule_AndSavesAScreenshot()
    {
        var dom = await fixture.ChromiumAsync("https://www.facebook.com/", "--dump-dom");

        Assert.Contains("This page is blocked", dom);
        Assert.Contains("<dt>Rule</dt><dd>pupils-social</dd>", dom);
        Assert.Contains("Pupils may not use social media", dom);
        Assert.Contains("<dt>Time</dt>", dom);
        Assert.Contains("https://www.facebook.com/", dom);
        var page = await fixture.WaitForAuditAsync(r => r.Str("url") == "https://www.facebook.com/" && r.Int("status") == 403, "the block page inside the tunnel");
        Assert.Equal("pupil", page.GetProperty("roles")[0].GetString());

        var dir = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "chromium-https-block-page.png");
        File.Delete(file);
        await fixture.ChromiumAsync("https://www.facebook.com/", $"--screenshot={file}");
        Assert.True(File.Exists(file), "no screenshot written");
        Assert.True(new FileInfo(file).Length > 1000, "screenshot is empty");
        Assert.Equal(0, fixture.Origin.Accepted);
    }

    [Fact]
    public async Task ChromiumHttps_StatutoryBlock_OneNavigationRaisesOneAlert_NoRetries()
    {
        var dom = await fixture.ChromiumAsync("https://blocked-terror.test/", "--dump-dom");
        Assert.Contains("statutory:terrorism", dom);
        await fixture.WaitForAuditAsync(r => r.Str("url") == "https://blocked-terror.test/" && r.Int("status") == 403, "the block page");

        // Before issue 17 Chromium got 403 and retried the tunnel about 9 times: 9 CONNECT records, 9 alerts. Now it takes
        // the page: one request, and at most the two tunnels Chromium opens for a navigation (it connects a second
        // socket speculatively, in parallel, and leaves it unused); the second is a folded repeat, not a second alert.
        var records = fixture.AuditRecords();
        int connects = records.Count(r => r.Str("url") == "blocked-terror.test:443" && r.Str("method") == "CONNECT");
        Assert.InRange(connects, 1, 2);
        Assert.Single(records, r => r.Str("url") == "https://blocked-terror.test/");
        var incidents = OutboxLines().Where(l => l.Contains("\"add\":", StringComparison.Ordinal) && l.Contains("blocked-terror.test", StringComparison.Ordinal)).ToList();
        Assert.Equal(connects, incidents.Count); // every attempt is recorded...
        Assert.Single(incidents, l => l.Contains("\"kind\":\"Alert\"", StringComparison.Ordinal)); // ...and one is the alert sent
        Assert.Equal(0, fixture.Origin.Accepted);
    }

    /// <summary>
    /// The alert outbox's lines. The service holds the journal open with an exclusive .NET file lock (an advisory flock,
    /// which a .NET reader would honour), so it is read by cat, which takes none.
    /// </summary>
    private List<string> OutboxLines()
    {
        var psi = new ProcessStartInfo("/bin/cat") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(fixture.Outbox, FilterService.Notifications.Outbox.FileName));
        using var process = Process.Start(psi)!;
        var text = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(10_000), "cat did not finish");
        return [.. text.Split('\n')];
    }
}
