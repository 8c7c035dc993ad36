using System.Diagnostics;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>A real browser (Debian's chromium, headless) using the proxy: an allowed page loads, a blocked one shows the block page.</summary>
public sealed class ChromiumTests(ProxyFixture fixture) : IClassFixture<ProxyFixture>
{
    private const string Chromium = "/usr/bin/chromium";

    private async Task<string> RunChromiumAsync(string url, params string[] extra)
    {
        if (!File.Exists(Chromium))
        {
            throw new Xunit.Sdk.XunitException($"{Chromium} is not installed: run .ci/install-deps (apt-get install chromium chromium-driver)");
        }
        var profile = TempDir.Create("chromium");
        var psi = new ProcessStartInfo(Chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}",
            $"--proxy-server=http://127.0.0.1:{fixture.Service.ProxyPort}", "--proxy-bypass-list=<-loopback>", "--window-size=1200,900",
        })
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var a in extra)
        {
            psi.ArgumentList.Add(a);
        }
        psi.ArgumentList.Add(url);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"chromium did not finish in 60 s for {url}: {await stderr}");
        }
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {await stderr}");
        return output;
    }

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
