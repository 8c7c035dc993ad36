using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Identity;

/// <summary>Identity through the running service: network zones and default roles, address bindings, required login.</summary>
public sealed class IdentityTests
{
    private static string EditedSample(Func<string, string> edit)
    {
        var dir = Samples.CopyDefault();
        var yaml = Path.Combine(dir, "policy.yaml");
        var before = File.ReadAllText(yaml);
        var after = edit(before);
        Assert.NotEqual(before, after);
        File.WriteAllText(yaml, after);
        return dir;
    }

    [Fact]
    public async Task Network_DefaultRole_AppliesWithoutSigningIn()
    {
        var policy = EditedSample(y => y.Replace("  guest-wifi:  { cidrs: [10.50.0.0/16], default_role: guest }",
            "  guest-wifi:  { cidrs: [10.50.0.0/16], default_role: guest }\n  loopback-lab: { cidrs: [127.0.0.0/8], default_role: pupil }"));
        await using var service = await RunningService.StartAsync(policy, null);
        var result = await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "http://www.facebook.com/");
        Assert.Equal(403, result.HttpCode);
        var r = await service.WaitForAuditAsync(r => r.Str("url") == "http://www.facebook.com/", "the anonymous pupil");
        Assert.Equal("loopback-lab", r.Str("network"));
        Assert.Equal("pupil", r.GetProperty("roles")[0].GetString());
        Assert.Null(r.Str("user"));
        Assert.Equal("pupils-social", r.Str("rule"));
    }

    [Fact]
    public async Task Binding_IdentifiesTheAddressAsItsUser()
    {
        var policy = EditedSample(y => y.Replace("  proxy_auth: optional", "  proxy_auth: optional\n  bindings:\n    - { address: 127.0.0.1, user: pupil1 }"));
        await using var service = await RunningService.StartAsync(policy, null);
        var result = await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "http://www.facebook.com/");
        Assert.Equal(403, result.HttpCode);
        var r = await service.WaitForAuditAsync(r => r.Str("url") == "http://www.facebook.com/", "the bound address");
        Assert.Equal("pupil1", r.Str("user"));
    }

    [Fact]
    public async Task RequiredAuth_AnonymousGets407_SignedInGoesThrough()
    {
        var policy = EditedSample(y => y.Replace("  proxy_auth: optional", "  proxy_auth: required"));
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await RunningService.StartAsync(policy, origin);
        var anonymous = await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "-D", "/dev/stderr", "http://allowed.test/hello");
        Assert.Equal(407, anonymous.HttpCode);
        Assert.Contains("Proxy-Authenticate: Basic realm=", anonymous.Stderr);
        var tunnel = await Curl.RunAsync("-k", "--proxy", service.ProxyUri.ToString(), "https://secure.test/hello");
        Assert.Equal(407, tunnel.ConnectCode);
        // curl answers the challenge itself when given credentials, as browsers do.
        var signedIn = await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "--proxy-user", "staff1:staff1-demo", "--proxy-anyauth", "http://allowed.test/hello");
        Assert.Equal(200, signedIn.HttpCode);
        using var client = service.CreateClient(new System.Net.NetworkCredential("staff1", "staff1-demo"));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("http://allowed.test/hello")).StatusCode);
    }
}
