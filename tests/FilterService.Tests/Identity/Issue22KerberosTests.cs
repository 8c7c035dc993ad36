using FilterService.Tests.TestSupport;
using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace FilterService.Tests.Identity;

/// <summary>
/// Issue 22, Kerberos part: a real MIT KDC (krb5-kdc, a throwaway realm on 127.0.0.1 made by the test), kinit, and
/// curl's --proxy-negotiate against the service started as its own process with the proxy's keytab.
/// </summary>
public sealed class Issue22KerberosTests
{
    private static string Policy()
    {
        var dir = TempDir.Create("policy");
        File.WriteAllText(Path.Combine(dir, "malware.txt"), "malware.test\n");
        // alice has no password here: only Kerberos signs her in. bob has one, for the Basic fallback.
        File.WriteAllText(Path.Combine(dir, "users.csv"), $"""
            username,display_name,roles,password_hash
            alice,Alice Able,year7,
            bob,Bob Baker,staff,{PasswordHash.Create("bob-pw", 10000)}

            """);
        File.WriteAllText(Path.Combine(dir, "policy.yaml"), """
            timezone: Europe/London
            clients: [127.0.0.0/8]
            roles: [year7, staff]
            identity:
              users: users.csv
              proxy_auth: required
            categories:
              malware:
                lists: [{ path: malware.txt, format: domains }]
            rules:
              - name: year7-no-games
                hosts: [games.test]
                roles: [year7]
                action: block
            default: allow
            """);
        return dir;
    }

    /// <summary>curl through the proxy, named proxy.test (resolved to 127.0.0.1), with the realm's environment and a credential cache.</summary>
    private static async Task<(int Code, string Output)> CurlAsync(Kdc kdc, ServiceProcess service, string? cache, params string[] args)
    {
        var env = new Dictionary<string, string>(kdc.Environment) { ["KRB5CCNAME"] = cache ?? "FILE:/nonexistent/cache" };
        var (_, output) = await Kdc.Run("/usr/bin/curl", env, null,
            ["-sS", "--max-time", "30", "-o", "/dev/null", "-D", "-", "-w", "CODE:%{http_code}\n", "--noproxy", "",
             "--resolve", $"{Kdc.ProxyName}:{service.ProxyPort}:127.0.0.1", "-x", $"http://{Kdc.ProxyName}:{service.ProxyPort}", .. args]);
        var code = output.Split("CODE:")[^1].Trim();
        return (int.TryParse(code, out var c) ? c : 0, output);
    }

    [Fact]
    public async Task Issue22_Kerberos_KinitThenProxyNegotiate_IdentifiedAndDecidedByRoles_NoPasswordSent_ExpiredTicketFallsBackToBasic()
    {
        await using var kdc = await Kdc.StartAsync(("alice", "alice-krb"), ("bob", "bob-krb"));
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await ServiceProcess.StartAsync(
        [
            $"--Policy:Path={Policy()}", $"--Audit:Path={audit}", "--Proxy:AllowLoopbackUpstream=true",
            $"--Proxy:HostOverrides:games.test=127.0.0.1:{origin.HttpPort}", $"--Identity:Kerberos:Keytab={kdc.Keytab}",
            $"--Identity:Kerberos:Realm={Kdc.Realm}",
        ], environment: kdc.Environment);

        // No credentials: 407 offering Negotiate first and Basic for clients without a ticket.
        var anonymous = await CurlAsync(kdc, service, null, "http://games.test/hello");
        Assert.Equal(407, anonymous.Code);
        Assert.Contains("Proxy-Authenticate: Negotiate, Basic realm=", anonymous.Output);

        // kinit, then curl with an empty user and password: the ticket alone identifies alice, decided by her year7 role.
        var alice = await kdc.KinitAsync("alice", "alice-krb");
        var blocked = await CurlAsync(kdc, service, alice, "--proxy-negotiate", "-U", ":", "http://games.test/hello");
        Assert.True(blocked.Code == 403, blocked.Output + service.Output);
        var record = await AuditFiles.WaitForAsync(audit, r => r.Str("user") == "alice", "alice's request");
        Assert.Equal("year7-no-games", record.Str("rule"));
        Assert.Equal(["year7"], record.GetProperty("roles").EnumerateArray().Select(e => e.GetString()!).ToArray());

        // The same over a CONNECT tunnel (https): decided at CONNECT on alice's role.
        var tunnel = await CurlAsync(kdc, service, alice, "--proxy-negotiate", "-U", ":", "-k", "-w", "CONNECT:%{http_connect}\n", "https://games.test/hello");
        Assert.Contains("CONNECT:403", tunnel.Output);
        var connect = await AuditFiles.WaitForAsync(audit, r => r.Str("user") == "alice" && r.Str("method") == "CONNECT", "alice's CONNECT");
        Assert.Equal("year7-no-games", connect.Str("rule"));

        // bob's ticket: staff, so games are allowed. The same name by ticket or by password is the same person.
        var bob = await kdc.KinitAsync("bob", "bob-krb");
        Assert.Equal(200, (await CurlAsync(kdc, service, bob, "--proxy-negotiate", "-U", ":", "http://games.test/hello")).Code);

        // A ticket that has expired: curl has nothing to send, the proxy answers 407 offering Basic, and a password works.
        var shortLived = await kdc.KinitAsync("bob", "bob-krb", lifetime: "2s");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var expired = await CurlAsync(kdc, service, shortLived, "--proxy-negotiate", "-U", ":", "http://games.test/hello");
        Assert.Equal(407, expired.Code);
        Assert.Contains("Basic realm=", expired.Output);
        Assert.Equal(200, (await CurlAsync(kdc, service, null, "--proxy-user", "bob:bob-pw", "http://games.test/hello")).Code);

        // A token that is not a Kerberos ticket is a failed login.
        var forged = await CurlAsync(kdc, service, null, "-H", "Proxy-Authorization: Negotiate " + Convert.ToBase64String("not a ticket"u8.ToArray()), "http://games.test/hello");
        Assert.Equal(407, forged.Code);
    }

    [Fact]
    public async Task Issue22_Kerberos_TicketHolderNotInUsersCsv_GetsRolesFromTheDirectorysNestedGroups()
    {
        await using var slapd = await Slapd.StartAsync(Issue22LdapTests.Ldif);
        await using var kdc = await Kdc.StartAsync(("alice", "alice-krb"), ("bob", "bob-krb"));
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        var policy = Issue22LdapTests.Policy(slapd, slapd.LdapsUrl);
        await using var service = await ServiceProcess.StartAsync(
            [.. Issue22LdapTests.Settings(policy, audit, origin, slapd), $"--Identity:Kerberos:Keytab={kdc.Keytab}", $"--Identity:Kerberos:Realm={Kdc.Realm}"],
            environment: kdc.Environment);

        // bob is in Staff through two levels of nesting: his ticket opens the staffroom; alice's (Year 7) does not.
        var bob = await kdc.KinitAsync("bob", "bob-krb");
        var staffroom = await CurlAsync(kdc, service, bob, "--proxy-negotiate", "-U", ":", "http://staffroom.test/hello");
        Assert.True(staffroom.Code == 200, staffroom.Output + service.Output);
        var record = await AuditFiles.WaitForAsync(audit, r => r.Str("user") == "bob", "bob's request");
        Assert.Equal(["staff"], record.GetProperty("roles").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var alice = await kdc.KinitAsync("alice", "alice-krb");
        Assert.Equal(403, (await CurlAsync(kdc, service, alice, "--proxy-negotiate", "-U", ":", "http://staffroom.test/hello")).Code);
        Assert.Equal(403, (await CurlAsync(kdc, service, alice, "--proxy-negotiate", "-U", ":", "http://games.test/hello")).Code);
        var aliceRecord = await AuditFiles.WaitForAsync(audit, r => r.Str("user") == "alice" && r.Str("rule") == "year7-no-games", "alice on games");
        Assert.Equal(["year7"], aliceRecord.GetProperty("roles").EnumerateArray().Select(e => e.GetString()!).ToArray());
    }

    [Fact]
    public async Task Issue22_Kerberos_TicketOfAnotherRealm_Is407_AndAKeytabWithoutRealmDoesNotStart()
    {
        await using var kdc = await Kdc.StartAsync(("alice", "alice-krb"));
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        string[] settings =
        [
            $"--Policy:Path={Policy()}", $"--Audit:Path={audit}", "--Proxy:AllowLoopbackUpstream=true",
            $"--Proxy:HostOverrides:games.test=127.0.0.1:{origin.HttpPort}", $"--Identity:Kerberos:Keytab={kdc.Keytab}",
        ];
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => ServiceProcess.StartAsync(settings, environment: kdc.Environment));
        Assert.Contains("Identity:Kerberos:Realm: required with Identity:Kerberos:Keytab", refused.Message);

        // The service trusts OTHER.TEST only: alice@PROXY.TEST, though her ticket is for the proxy's own key, is not its alice.
        await using var service = await ServiceProcess.StartAsync([.. settings, "--Identity:Kerberos:Realm=OTHER.TEST"], environment: kdc.Environment);
        var alice = await kdc.KinitAsync("alice", "alice-krb");
        Assert.Equal(407, (await CurlAsync(kdc, service, alice, "--proxy-negotiate", "-U", ":", "http://games.test/hello")).Code);
    }
}
