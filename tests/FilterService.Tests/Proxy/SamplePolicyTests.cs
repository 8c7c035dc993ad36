using System.Text.Json;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>The default sample policy, end to end through curl: who gets what, and what the audit log says.</summary>
public sealed class SamplePolicyTests(ProxyFixture fixture) : IClassFixture<ProxyFixture>
{
    private RunningService Service => fixture.Service;
    private string Proxy => Service.ProxyUri.ToString();

    private static void AssertFields(JsonElement r)
    {
        // Records omit empty fields (docs/service.md, "The audit log"): no network matched 127.0.0.1 in this sample and a
        // denied user's block names no category, so those two are asserted where a test expects them.
        foreach (var field in new[] { "time", "client", "user", "roles", "method", "url", "action", "rule", "status", "bytes_in", "bytes_out", "duration_ms", "ref", "policy" })
        {
            Assert.True(r.TryGetProperty(field, out _), $"audit record lacks '{field}': {r.GetRawText()}");
        }
        Assert.Equal("127.0.0.1", r.Str("client"));
    }

    [Fact]
    public async Task Facebook_HttpsAsPupil_Gets403AtConnect()
    {
        var result = await Curl.RunAsync("--proxy", Proxy, "--proxy-user", "pupil1:pupil1-demo", "https://www.facebook.com/");
        Assert.Equal(403, result.ConnectCode);
        Assert.NotEqual(0, result.ExitCode);
        var r = await Service.WaitForAuditAsync(r => r.Str("url") == "www.facebook.com:443" && r.Str("user") == "pupil1", "pupil1 CONNECT facebook");
        AssertFields(r);
        Assert.Equal("CONNECT", r.Str("method"));
        Assert.Equal("block", r.Str("action"));
        Assert.Equal("pupils-social", r.Str("rule"));
        Assert.Equal("social", r.Str("category"));
        Assert.Equal(403, r.Int("status"));
        Assert.Equal("pupil", r.GetProperty("roles")[0].GetString());
    }

    [Fact]
    public async Task Facebook_HttpAsPupil_GetsBlockPageNamingTheRule()
    {
        var result = await Curl.RunAsync("--proxy", Proxy, "--proxy-user", "pupil1:pupil1-demo", "http://www.facebook.com/");
        Assert.Equal(403, result.HttpCode);
        Assert.Contains("This page is blocked", result.Body);
        Assert.Contains("pupils-social", result.Body);
        Assert.Contains("social", result.Body);
        Assert.Contains("Pupils may not use social media", result.Body);
        Assert.Contains("127.0.0.1", result.Body);
        var r = await Service.WaitForAuditAsync(r => r.Str("url") == "http://www.facebook.com/" && r.Str("user") == "pupil1", "pupil1 GET facebook");
        AssertFields(r);
        Assert.Contains(r.Str("ref")!, result.Body);
        Assert.Equal("pupils-social", r.Str("rule"));
        Assert.Equal(403, r.Int("status"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("staff1")]
    [InlineData("pupil1")]
    [InlineData("marketing1")]
    public async Task BlockedTerror_ForEveryUser_IsRefusedBothWays(string? user)
    {
        var auth = user is null ? [] : new[] { "--proxy-user", $"{user}:{user}-demo" };
        var https = await Curl.RunAsync([.. auth, "--proxy", Proxy, "https://blocked-terror.test/"]);
        Assert.Equal(403, https.ConnectCode);
        var http = await Curl.RunAsync([.. auth, "--proxy", Proxy, "http://blocked-terror.test/page"]);
        Assert.Equal(403, http.HttpCode);
        Assert.Contains("statutory:terrorism", http.Body);
        var r = await Service.WaitForAuditAsync(r => r.Str("url") == "blocked-terror.test:443" && r.Str("user") == user, $"terror CONNECT by {user}");
        Assert.Equal("statutory:terrorism", r.Str("rule"));
        Assert.Equal("terrorism", r.Str("category"));
        Assert.True(r.GetProperty("alert").GetBoolean());
    }

    [Fact]
    public async Task Risk1_GetsNothingThrough()
    {
        var http = await Curl.RunAsync("--proxy", Proxy, "--proxy-user", "risk1:risk1-demo", "http://allowed.test/hello");
        Assert.Equal(403, http.HttpCode);
        Assert.Contains("denied-user", http.Body);
        var https = await Curl.RunAsync("-k", "--proxy", Proxy, "--proxy-user", "risk1:risk1-demo", "https://secure.test/hello");
        Assert.Equal(403, https.ConnectCode);
        var r = await Service.WaitForAuditAsync(r => r.Str("user") == "risk1" && r.Str("method") == "CONNECT", "risk1 CONNECT");
        Assert.Equal("denied-user", r.Str("rule"));
        AssertFields(r);
    }

    [Fact]
    public async Task WrongPassword_Gets407WithRealm()
    {
        var http = await Curl.RunAsync("--proxy", Proxy, "--proxy-user", "pupil1:not-the-password", "-D", "/dev/stderr", "http://allowed.test/hello");
        Assert.Equal(407, http.HttpCode);
        Assert.Contains("Proxy-Authenticate: Basic realm=\"School web filter\"", http.Stderr);
        var https = await Curl.RunAsync("-k", "--proxy", Proxy, "--proxy-user", "pupil1:not-the-password", "https://secure.test/hello");
        Assert.Equal(407, https.ConnectCode);
        var r = await Service.WaitForAuditAsync(r => r.Str("rule") == "proxy-auth" && r.Str("method") == "CONNECT", "the failed login");
        Assert.Equal(407, r.Int("status"));
        Assert.Equal("block", r.Str("action"));
    }

    [Fact]
    public async Task Facebook_Anonymous_IsAllowedByDefault()
    {
        // 127.0.0.0/8 is a client but in no network, so an anonymous request has no role and the default applies.
        var result = await Curl.RunAsync("--proxy", Proxy, "http://www.facebook.com/hello");
        Assert.Equal(200, result.HttpCode);
    }

    [Fact]
    public async Task SquidLog_RecordsDeniedAndTunnelledRequests()
    {
        await Curl.RunAsync("--proxy", Proxy, "--proxy-user", "pupil1:pupil1-demo", "http://www.facebook.com/squid-check");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!Service.SquidLines().Any(l => l.Contains("http://www.facebook.com/squid-check")) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        var line = Service.SquidLines().Single(l => l.Contains("http://www.facebook.com/squid-check"));
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, fields.Length);
        Assert.Equal("127.0.0.1", fields[2]);
        Assert.Equal("TCP_DENIED/403", fields[3]);
        Assert.Equal("GET", fields[5]);
        Assert.Equal("pupil1", fields[7]);
    }
}
