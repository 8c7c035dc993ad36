using System.Diagnostics;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>A real browser (Debian's chromium, headless) using the proxy: an allowed page loads, a blocked one shows the block page.</summary>
public sealed class ChromiumTests(ProxyFixture fixture) : IClassFixture<ProxyFixture>
{

    private Task<string> RunChromiumAsync(string url, params string[] extra) =>
        TestSupport.Chromium.RunAsync(url, [.. TestSupport.Chromium.ThroughProxy(fixture.Service.ProxyPort), .. extra]);

    [Fact]
    public async Task Chromium_AllowedPage_LoadsThroughTheProxy()
    {
        var dom = await RunChromiumAsync("http://allowed.test/hello", "--dump-dom");
        Assert.Contains("Hello from the origin", dom);
        await fixture.Service.WaitForAuditAsync(r => r.Str("url") == "http://allowed.test/hello" && r.Str("action") == "allow", "chromium's allowed request");
    }

    [Fact]
    public async Task Chromium_LoopbackOrigin_GoesThroughTheProxyWithBypassDisabled()
    {
        var url = $"http://127.0.0.1:{fixture.Origin.HttpPort}/hello";
        var dom = await RunChromiumAsync(url, "--dump-dom");
        Assert.Contains("Hello from the origin", dom);
        await fixture.Service.WaitForAuditAsync(r => r.Str("url") == url, "chromium's loopback request");
    }

    [Fact]
    public async Task Chromium_BlockedPage_ShowsTheBlockPageAndSavesAScreenshot()
    {
        var dom = await RunChromiumAsync("http://blocked-terror.test/", "--dump-dom");
        Assert.Contains("This page is blocked", dom);
        Assert.Contains("statutory:terrorism", dom);
        Assert.Contains("Reference", dom);

        var dir = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "chromium-block-page.png");
        File.Delete(file);
        await RunChromiumAsync("http://blocked-terror.test/", $"--screenshot={file}");
        Assert.True(File.Exists(file), "no screenshot written");
        Assert.True(new FileInfo(file).Length > 1000, "screenshot is empty");
    }

    [Fact]
    public async Task Chromium_Https_TunnelsToAllowedAndGetsNothingFromBlocked()
    {
        // The local TLS origin's certificate is self-signed, hence --ignore-certificate-errors; the tunnel is real.
        var allowed = await RunChromiumAsync("https://secure.test/hello", "--ignore-certificate-errors", "--dump-dom");
        Assert.Contains("Hello from the origin", allowed);
        await fixture.Service.WaitForAuditAsync(r => r.Str("url") == "secure.test:443" && r.Str("method") == "CONNECT" && r.Int("status") == 200, "chromium's tunnel");

        var blocked = await RunChromiumAsync("https://blocked-terror.test/", "--ignore-certificate-errors", "--dump-dom");
        Assert.DoesNotContain("Hello from the origin", blocked);
        await fixture.Service.WaitForAuditAsync(r => r.Str("url") == "blocked-terror.test:443" && r.Int("status") == 403, "chromium's blocked tunnel");
    }
}
