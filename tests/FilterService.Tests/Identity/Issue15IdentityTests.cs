using System.Net;
using System.Text;
using System.Text.Json;
using FilterService.Identity;
using FilterService.Tests.TestSupport;
using PolicyModel.Documents;

namespace FilterService.Tests.Identity;

/// <summary>
/// Issue 15 items 5 and 16 through the service started as its own process, exactly as deployed: sign-in required on
/// the staff networks, and a login throttle that does not lock a NAT'd classroom out.
/// </summary>
public sealed class Issue15IdentityTests
{
    /// <summary>The default sample with <paramref name="edit"/> applied to its policy.yaml (the edit must change it).</summary>
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

    private static string[] Settings(string policy, string audit, TestOrigin origin, params string[] extra) =>
    [
        $"--Policy:Path={policy}", $"--Audit:Path={audit}", "--Proxy:AllowLoopbackUpstream=true",
        $"--Proxy:HostOverrides:allowed.test=127.0.0.1:{origin.HttpPort}",
        $"--Proxy:HostOverrides:secure.test=127.0.0.1:{origin.HttpsPort}", .. extra,
    ];

    /// <summary>Waits (at most 10 s) for an audit record matching <paramref name="match"/> in <paramref name="auditDir"/>.</summary>
    private static Task<JsonElement> WaitForAuditAsync(string auditDir, Func<JsonElement, bool> match, string what) =>
        AuditFiles.WaitForAsync(auditDir, match, what);

    [Fact]
    public async Task Item05_SampleStaffroom_AnonymousGets407BothWays_DeniedUserCannotEscape()
    {
        // The sample's own identity section (required_on: [staffroom, school-wifi]); only the test's loopback addresses
        // are added: 127.0.0.0/24 to the staffroom, 127.0.1.0/24 to the pupil LAN (which does not require sign-in).
        var policy = EditedSample(y => y
            .Replace("staffroom:   { cidrs: [10.20.0.0/24] }", "staffroom:   { cidrs: [10.20.0.0/24, 127.0.0.0/24] }")
            .Replace("pupil-lan:   { cidrs: [10.40.0.0/16], default_role: pupil }", "pupil-lan:   { cidrs: [10.40.0.0/16, 127.0.1.0/24], default_role: pupil }"));
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await ServiceProcess.StartAsync(Settings(policy, audit, origin));

        // risk1 sends no credentials from the staffroom: before item 5 this was an anonymous device, allowed by default.
        var http = await Curl.RunAsync("--proxy", service.Proxy, "-D", "/dev/stderr", "http://allowed.test/hello");
        Assert.Equal(407, http.HttpCode);
        Assert.Contains("Proxy-Authenticate: Basic realm=", http.Stderr);
        var tunnel = await Curl.RunAsync("-k", "--proxy", service.Proxy, "https://secure.test/hello");
        Assert.Equal(407, tunnel.ConnectCode);
        var challenged = await WaitForAuditAsync(audit, r => r.Str("rule") == "proxy-auth" && r.Str("method") == "CONNECT", "the anonymous CONNECT");
        Assert.Equal(407, challenged.Int("status"));

        // Signed in, risk1 is the person the seed rule names, and gets nothing.
        var risk1 = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "risk1:risk1-demo", "http://allowed.test/hello");
        Assert.Equal(403, risk1.HttpCode);
        Assert.Contains("denied-user", risk1.Body);
        var risk1Tunnel = await Curl.RunAsync("-k", "--proxy", service.Proxy, "--proxy-user", "risk1:risk1-demo", "https://secure.test/hello");
        Assert.Equal(403, risk1Tunnel.ConnectCode);

        // Other staff sign in and go through; the pupil LAN still needs no sign-in (the device's role is enough).
        var staff = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "staff1:staff1-demo", "http://allowed.test/hello");
        Assert.Equal(200, staff.HttpCode);
        var pupilLan = await Curl.RunAsync("--interface", "127.0.1.1", "--proxy", service.Proxy, "http://allowed.test/hello");
        Assert.Equal(200, pupilLan.HttpCode);
        var pupilRecord = await WaitForAuditAsync(audit, r => r.Str("client") == "127.0.1.1", "the pupil-lan request");
        Assert.Equal("pupil-lan", pupilRecord.Str("network"));
    }

    [Fact]
    public async Task Item16_TenWrongPasswordsForOneName_OtherUsersBehindTheAddressStillSignIn()
    {
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        // The defaults, as deployed: 10 failures per address and name, 100 per address, a minute's window.
        await using var service = await ServiceProcess.StartAsync(Settings(Samples.CopyDefault(), audit, origin));

        for (int i = 0; i < 10; i++)
        {
            var wrong = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", $"pupil1:guess{i}", "http://allowed.test/hello");
            Assert.Equal(407, wrong.HttpCode);
        }
        // The name being guessed is throttled, even with its right password...
        var guessed = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "pupil1:pupil1-demo", "-D", "/dev/stderr", "http://allowed.test/hello");
        Assert.Equal(429, guessed.HttpCode);
        Assert.Contains("Retry-After:", guessed.Stderr);
        // ...but everyone else behind the same address signs in, both ways (before item 16 both got 429).
        var staff = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "staff1:staff1-demo", "http://allowed.test/hello");
        Assert.Equal(200, staff.HttpCode);
        var marketing = await Curl.RunAsync("-k", "--proxy", service.Proxy, "--proxy-user", "marketing1:marketing1-demo", "https://secure.test/hello");
        Assert.Equal(200, marketing.ConnectCode);
        Assert.Equal(200, marketing.HttpCode);
        // A wrong password for another name is checked (407), not refused unchecked (429).
        var otherWrong = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "staff2:wrong", "http://allowed.test/hello");
        Assert.Equal(407, otherWrong.HttpCode);
        await WaitForAuditAsync(audit, r => r.Str("rule") == "proxy-auth-throttled" && r.Int("status") == 429, "the throttled login");
    }

    [Fact]
    public async Task Item16_UnknownUserName_RunsTheSamePbkdf2WorkAsAKnownOne()
    {
        // A fresh snapshot, so its work counter counts this test's checks only; plus a user with no password.
        var dir = Samples.CopyDefault();
        File.AppendAllText(Path.Combine(dir, "users.csv"), "nopassword,No Password,staff,\n");
        var load = PolicyLoader.Load(dir);
        var policy = Assert.IsType<PolicyModel.Decisions.PolicySnapshot>(load.Snapshot);
        var authenticator = new ProxyAuthenticator(new AuthThrottle(10, 100, TimeSpan.FromMinutes(1), TimeProvider.System));
        var client = IPAddress.Parse("10.40.1.2");

        async Task<long> WorkFor(string user)
        {
            var before = policy.PasswordIterationsRun;
            var header = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:not-the-password"));
            Assert.False(authenticator.TryAuthenticateInline(policy, client, header, out _), "the check must go the slow way");
            var result = await authenticator.AuthenticateAsync(policy, client, header);
            Assert.Equal(AuthOutcome.Challenge, result.Outcome);
            return policy.PasswordIterationsRun - before;
        }

        var known = await WorkFor("staff1");
        Assert.Equal(100_000, known); // the demo users' hashes (deploy/samples/default/README.md)
        Assert.Equal(known, await WorkFor("no-such-user"));
        Assert.Equal(known, await WorkFor("nopassword"));
    }
}
