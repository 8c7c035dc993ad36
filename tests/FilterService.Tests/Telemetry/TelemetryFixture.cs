using System.Net.Sockets;
using System.Text;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Telemetry;

/// <summary>
/// The default sample behind a real service, driven once with traffic that touches every metric family the
/// dashboard shows: allowed and blocked HTTP, a statutory hit, a TLS tunnel, an upstream failure, a hostile
/// request, wrong passwords until throttled, a pupil's search tunnel sent to the provider's safe-search address. The
/// throttle window is short so it lifts again within a second.
/// </summary>
public sealed class TelemetryFixture : ProxyFixture
{
    protected override string[] ExtraSettings =>
    [
        "--Proxy:MaxAuthFailures=2",
        "--Proxy:AuthFailureWindow=00:00:01",
        "--Proxy:HostOverrides:dead.test=127.0.0.1:1",
        // An alert channel nobody answers: the statutory hit stays pending, so the alert-delivery panels have series.
        "--Alerts:Webhook:Url=http://127.0.0.1:1/hook",
        // The policy watcher runs (filterservice_policy_watcher_up exists only then); out of inotify instances it polls,
        // which still counts as up.
        "--Policy:Watch=true",
        // The safe-search address stands in for Google's: a pupil's tunnel to www.google.com is counted by provider.
        $"--Proxy:HostOverrides:forcesafesearch.google.com=127.0.0.1:{Origin.HttpsPort}",
    ];

    public string Proxy => Service.ProxyUri.ToString();

    private readonly SemaphoreSlim _once = new(1, 1);
    private bool _driven;

    public async Task DriveAllTrafficAsync()
    {
        await _once.WaitAsync();
        try
        {
            if (_driven)
            {
                return;
            }
            await Expect(200, "--proxy", Proxy, "--proxy-user", "staff1:staff1-demo", "http://allowed.test/hello");
            await Expect(403, "--proxy", Proxy, "--proxy-user", "pupil1:pupil1-demo", "http://www.facebook.com/");
            await Expect(403, "--proxy", Proxy, "--proxy-user", "pupil1:pupil1-demo", "http://blocked-terror.test/page");
            await Expect(502, "--proxy", Proxy, "--proxy-user", "staff1:staff1-demo", "http://dead.test/");
            await Expect(400, Service.ProxyUri + "not-a-proxy-request");
            var tunnel = await Curl.RunAsync("-k", "--proxy", Proxy, "--proxy-user", "staff1:staff1-demo", "https://secure.test/hello");
            Assert.Equal(200, tunnel.HttpCode);
            var search = await Curl.RunAsync("-k", "--proxy", Proxy, "--proxy-user", "pupil1:pupil1-demo", "https://www.google.com/hello");
            Assert.True(search.HttpCode == 200, $"safe-search tunnel: {search.HttpCode} {search.Stderr}");
            await Expect(407, "--proxy", Proxy, "--proxy-user", "pupil1:wrong-1", "http://allowed.test/hello");
            await Expect(407, "--proxy", Proxy, "--proxy-user", "pupil1:wrong-2", "http://allowed.test/hello");
            await Expect(429, "--proxy", Proxy, "--proxy-user", "pupil1:wrong-3", "http://allowed.test/hello");
            // The observers run after the response is written: wait until the last one has been counted.
            await Service.WaitForAuditAsync(r => r.Int("status") == 429, "throttled login");
            await Service.WaitForAuditAsync(r => r.Str("method") == "CONNECT" && r.Int("status") == 200, "tunnel");
            await Service.WaitForAuditAsync(r => r.Str("method") == "CONNECT" && r.Str("safe_search") == "google", "safe-search tunnel");
            _driven = true;
        }
        finally
        {
            _once.Release();
        }
    }

    private static async Task Expect(int status, params string[] args)
    {
        var r = await Curl.RunAsync(args);
        Assert.True(status == r.HttpCode, $"curl {string.Join(' ', args)}: expected {status}, got {r.HttpCode}: {r.Stderr}");
    }

    public async Task<string> ScrapeAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync($"http://127.0.0.1:{Service.AdminPort}/metrics");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        return await response.Content.ReadAsStringAsync();
    }
}
