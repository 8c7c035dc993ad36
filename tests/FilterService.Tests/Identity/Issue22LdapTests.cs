using System.Net.Http;
using System.Text.Json;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Identity;

/// <summary>
/// Issue 22, LDAP part: sign-in against a real OpenLDAP (Debian's slapd, started by the test on 127.0.0.1 with its own
/// database and TLS certificate), through the service started as its own process and curl with Basic credentials.
/// </summary>
public sealed class Issue22LdapTests
{
    /// <summary>
    /// People and groups. Nesting: bob is in Maths Dept, which is in Teaching, which is in Staff (three levels);
    /// alice and carol are in Year 7 directly; dave is in no mapped group.
    /// </summary>
    internal const string Ldif = $"""
        dn: ou=People,{Slapd.Suffix}
        objectClass: organizationalUnit
        ou: People

        dn: ou=Groups,{Slapd.Suffix}
        objectClass: organizationalUnit
        ou: Groups

        dn: uid=alice,ou=People,{Slapd.Suffix}
        objectClass: inetOrgPerson
        uid: alice
        cn: Alice Able
        sn: Able
        displayName: Alice Able
        userPassword: alice-pw

        dn: uid=bob,ou=People,{Slapd.Suffix}
        objectClass: inetOrgPerson
        uid: bob
        cn: Bob Baker
        sn: Baker
        userPassword: bob-pw

        dn: uid=carol,ou=People,{Slapd.Suffix}
        objectClass: inetOrgPerson
        uid: carol
        cn: Carol Cole
        sn: Cole
        userPassword: carol-pw

        dn: uid=dave,ou=People,{Slapd.Suffix}
        objectClass: inetOrgPerson
        uid: dave
        cn: Dave Dale
        sn: Dale
        userPassword: dave-pw

        dn: cn=Year 7,ou=Groups,{Slapd.Suffix}
        objectClass: groupOfNames
        cn: Year 7
        member: uid=alice,ou=People,{Slapd.Suffix}
        member: uid=carol,ou=People,{Slapd.Suffix}

        dn: cn=Maths Dept,ou=Groups,{Slapd.Suffix}
        objectClass: groupOfNames
        cn: Maths Dept
        member: uid=bob,ou=People,{Slapd.Suffix}

        dn: cn=Teaching,ou=Groups,{Slapd.Suffix}
        objectClass: groupOfNames
        cn: Teaching
        member: cn=Maths Dept,ou=Groups,{Slapd.Suffix}

        dn: cn=Staff,ou=Groups,{Slapd.Suffix}
        objectClass: groupOfNames
        cn: Staff
        member: cn=Teaching,ou=Groups,{Slapd.Suffix}
        """;

    /// <summary>
    /// A policy whose decisions differ by role: games.test is blocked for year7, chat.test for pupil (the loopback
    /// network's default role), staffroom.test is for staff only. Year 7 is mapped by DN, Staff by name.
    /// </summary>
    internal static string Policy(Slapd slapd, string url, string extra = "")
    {
        var dir = TempDir.Create("policy");
        File.WriteAllText(Path.Combine(dir, "malware.txt"), "malware.test\n");
        File.WriteAllText(Path.Combine(dir, "policy.yaml"), $"""
            name: LDAP test school
            timezone: Europe/London
            clients: [127.0.0.0/8]
            networks:
              loopback: {"{"} cidrs: [127.0.0.0/8], default_role: pupil {"}"}
            roles: [pupil, year7, staff]
            categories:
              malware:
                lists: [{"{"} path: malware.txt, format: domains {"}"}]
            identity:
              proxy_auth: required
              directory:
                url: {url}
            {(url.StartsWith("ldap:", StringComparison.Ordinal) ? "    starttls: true\n" : "")}    bind_dn: "{Slapd.ServiceDn}"
                user_base: "ou=People,{Slapd.Suffix}"
                user_filter: "(&(objectClass=inetOrgPerson)(uid={"{user}"}))"
                group_base: "ou=Groups,{Slapd.Suffix}"
                groups:
                  "cn=Year 7,ou=Groups,{Slapd.Suffix}": year7
                  Staff: staff
            {extra}
            rules:
              - name: year7-no-games
                hosts: [games.test]
                roles: [year7]
                action: block
              - name: pupils-no-chat
                hosts: [chat.test]
                roles: [pupil]
                action: block
              - name: staffroom-for-staff
                hosts: [staffroom.test]
                roles: [staff]
                action: allow
              - name: staffroom-closed
                hosts: [staffroom.test]
                action: block
            default: allow
            """);
        return dir;
    }

    internal static string[] Settings(string policy, string audit, TestOrigin origin, Slapd slapd) =>
    [
        $"--Policy:Path={policy}", $"--Audit:Path={audit}", "--Proxy:AllowLoopbackUpstream=true",
        $"--Proxy:HostOverrides:games.test=127.0.0.1:{origin.HttpPort}",
        $"--Proxy:HostOverrides:chat.test=127.0.0.1:{origin.HttpPort}",
        $"--Proxy:HostOverrides:staffroom.test=127.0.0.1:{origin.HttpPort}",
        $"--Identity:Ldap:BindPassword={Slapd.ServicePassword}",
        $"--Identity:Ldap:TrustedCertificatesDirectory={slapd.CaDirectory}",
    ];

    private static async Task<int> Get(ServiceProcess service, string credentials, string host) =>
        (await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", credentials, $"http://{host}/hello")).HttpCode;

    private static async Task<string> Admin(ServiceProcess service, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        return await http.GetStringAsync($"http://127.0.0.1:{service.AdminPort}{path}");
    }

    [Fact]
    public async Task Issue22_Ldap_NestedGroupsOverLdaps_GetMappedRoles_WrongPasswordAndInjectionAre407()
    {
        await using var slapd = await Slapd.StartAsync(Ldif);
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await ServiceProcess.StartAsync(Settings(Policy(slapd, slapd.LdapsUrl), audit, origin, slapd));

        // alice is in Year 7 (mapped by DN): games blocked, and the audit record carries her role.
        Assert.Equal(403, await Get(service, "alice:alice-pw", "games.test"));
        var alice = await AuditFiles.WaitForAsync(audit, r => r.Str("user") == "alice", "alice's request");
        Assert.Equal("year7-no-games", alice.Str("rule"));
        Assert.Equal(["year7"], alice.GetProperty("roles").EnumerateArray().Select(e => e.GetString()!).ToArray());

        // bob is in Staff through Maths Dept and Teaching (three levels, Staff mapped by name): the staffroom opens.
        Assert.Equal(200, await Get(service, "bob:bob-pw", "staffroom.test"));
        var bob = await AuditFiles.WaitForAsync(audit, r => r.Str("user") == "bob", "bob's request");
        Assert.Equal(["staff"], bob.GetProperty("roles").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal(200, await Get(service, "bob:bob-pw", "games.test"));
        // alice is not staff; dave is in no mapped group: signed in, no role, the staffroom stays closed to both.
        Assert.Equal(403, await Get(service, "alice:alice-pw", "staffroom.test"));
        Assert.Equal(403, await Get(service, "dave:dave-pw", "staffroom.test"));
        Assert.Equal(200, await Get(service, "dave:dave-pw", "games.test"));

        // Wrong password, unknown user, empty password (an anonymous bind would succeed): all 407.
        Assert.Equal(407, await Get(service, "alice:not-her-password", "games.test"));
        Assert.Equal(407, await Get(service, "nobody:alice-pw", "games.test"));
        Assert.Equal(407, await Get(service, "alice:", "games.test"));

        // LDAP injection: with escaping alone this filter would match every user; the name's shape refuses it first.
        Assert.Equal(407, await Get(service, "*)(uid=*:alice-pw", "games.test"));
        Assert.Equal(407, await Get(service, "*:alice-pw", "games.test"));
        Assert.Equal(407, await Get(service, "alice)(|(uid=*:alice-pw", "games.test"));
        Assert.Contains("user name is not a sign-in name", service.Output);

        var metrics = await Admin(service, "/metrics");
        Assert.Contains("filterservice_directory_up 1", metrics);
        Assert.Matches(@"filterservice_directory_bind_failures_total 6\b", metrics);
        Assert.Matches(@"filterservice_directory_cache_hits_total [1-9]", metrics);
        using var health = JsonDocument.Parse(await Admin(service, "/health"));
        var directory = health.RootElement.GetProperty("directory");
        Assert.True(directory.GetProperty("up").GetBoolean());
        Assert.Equal(slapd.LdapsUrl + "/", directory.GetProperty("url").GetString());
        Assert.DoesNotContain("alice", metrics);
    }

    /// <summary>Polls (every 250 ms, at most 30 s) until <paramref name="check"/> is true; false if it never was.</summary>
    private static async Task<bool> Eventually(Func<Task<bool>> check)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (await check())
            {
                return true;
            }
            await Task.Delay(250);
        }
        return false;
    }

    [Fact]
    public async Task Issue22_Ldap_RemovedFromGroupOverStartTls_LosesRoleAfterTheRefresh()
    {
        await using var slapd = await Slapd.StartAsync(Ldif);
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        // The sign-in stays cached for ten minutes: only the scheduled refresh (every 2 s) can notice the change.
        var policy = Policy(slapd, slapd.LdapUrl, "    refresh: 2s\n    cache_ttl: 10m\n  bindings:\n    - { address: 127.0.0.7, user: carol }\n");
        await using var service = await ServiceProcess.StartAsync(Settings(policy, audit, origin, slapd));

        Assert.True(await Get(service, "carol:carol-pw", "games.test") == 403, service.Output);
        // carol's desk is bound to her: no credentials, her directory roles all the same.
        Assert.True(await Eventually(async () => (await Curl.RunAsync("--interface", "127.0.0.7", "--proxy", service.Proxy, "http://games.test/hello")).HttpCode == 403),
            "the bound address did not get carol's year7 role");
        var before = await AuditFiles.WaitForAsync(audit, r => r.Str("user") == "carol", "carol in Year 7");
        Assert.Equal(["year7"], before.GetProperty("roles").EnumerateArray().Select(e => e.GetString()!).ToArray());

        // First sign-ins at once (each its own StartTLS handshake, beside the refresh's): each gets its own roles.
        var together = await Task.WhenAll(Get(service, "bob:bob-pw", "staffroom.test"), Get(service, "dave:dave-pw", "staffroom.test"),
            Get(service, "alice:alice-pw", "staffroom.test"), Get(service, "bob:bob-pw", "games.test"));
        Assert.True(together.SequenceEqual([200, 403, 403, 200]), string.Join(",", together) + "\n" + service.Output);

        await slapd.ModifyAsync($"""
            dn: cn=Year 7,ou=Groups,{Slapd.Suffix}
            changetype: modify
            delete: member
            member: uid=carol,ou=People,{Slapd.Suffix}

            """);

        Assert.True(await Eventually(async () => await Get(service, "carol:carol-pw", "games.test") == 200), "carol kept the year7 role after the refresh");
        // Her desk (an address bound to her, which sends no credentials) follows the directory too.
        Assert.Equal(200, (await Curl.RunAsync("--interface", "127.0.0.7", "--proxy", service.Proxy, "http://games.test/hello")).HttpCode);
        var after = await AuditFiles.WaitForAsync(audit, r => r.Str("user") == "carol" && r.Str("action") == "allow", "carol out of Year 7");
        Assert.False(after.TryGetProperty("roles", out _), after.GetRawText()); // no roles: the record omits the empty field
        // alice, still in Year 7, keeps the role.
        Assert.True(await Get(service, "alice:alice-pw", "games.test") == 403, service.Output);
    }

    [Fact]
    public async Task Issue22_Ldap_DirectoryStopped_CachedSignInsKeepRoles_NewOnesGetTheDefaultRole_HealthSaysSo()
    {
        await using var slapd = await Slapd.StartAsync(Ldif);
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        // cache_ttl 1s: after the directory stops, alice's next request asks it, fails, and falls back on her cached sign-in.
        var policy = Policy(slapd, slapd.LdapsUrl, "    refresh: 1h\n    cache_ttl: 1s\n    cached_valid_for: 1h\n    timeout: 2s\n    on_directory_down: cached_then_default\n");
        await using var service = await ServiceProcess.StartAsync(Settings(policy, audit, origin, slapd));

        Assert.Equal(403, await Get(service, "alice:alice-pw", "games.test"));

        await slapd.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        // alice signed in before: still year7 (games blocked), and not pupil (chat allowed).
        Assert.Equal(403, await Get(service, "alice:alice-pw", "games.test"));
        Assert.Equal(200, await Get(service, "alice:alice-pw", "chat.test"));
        // bob never signed in: the network's default role (pupil) decides him, with no user: chat is blocked.
        Assert.Equal(403, await Get(service, "bob:bob-pw", "chat.test"));
        var bob = await AuditFiles.WaitForAsync(audit, r => r.Str("rule") == "pupils-no-chat", "bob under the default role");
        Assert.Null(bob.Str("user"));
        Assert.Equal(["pupil"], bob.GetProperty("roles").EnumerateArray().Select(e => e.GetString()!).ToArray());

        using (var health = JsonDocument.Parse(await Admin(service, "/health")))
        {
            Assert.Equal("degraded", health.RootElement.GetProperty("status").GetString());
            Assert.Contains(health.RootElement.GetProperty("problems").EnumerateArray(), p => p.GetString()!.StartsWith("directory: " + slapd.LdapsUrl, StringComparison.Ordinal));
            var directory = health.RootElement.GetProperty("directory");
            Assert.False(directory.GetProperty("up").GetBoolean());
            Assert.Equal(1, directory.GetProperty("fallbacks").GetProperty("defaultRole").GetInt64());
            Assert.True(directory.GetProperty("fallbacks").GetProperty("cached").GetInt64() >= 1);
        }
        var metrics = await Admin(service, "/metrics");
        Assert.Contains("filterservice_directory_up 0", metrics);
        Assert.Matches(@"filterservice_directory_fallbacks_total\{outcome=""default_role""\} 1\b", metrics);
        Assert.Contains("The directory cannot be asked", service.Output);

        // The directory comes back: bob signs in as himself again, with his staff role.
        await slapd.StartAgainAsync();
        Assert.Equal(200, await Get(service, "bob:bob-pw", "staffroom.test"));
        var back = await AuditFiles.WaitForAsync(audit, r => r.Str("user") == "bob", "bob signed in after the directory came back");
        Assert.Equal(["staff"], back.GetProperty("roles").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Contains("filterservice_directory_up 1", await Admin(service, "/metrics"));
    }

    [Fact]
    public async Task Issue22_Ldap_DirectoryStoppedWithRefuse_NewSignInsAre407_CachedOnesStillWork()
    {
        await using var slapd = await Slapd.StartAsync(Ldif);
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        var policy = Policy(slapd, slapd.LdapsUrl, "    refresh: 1h\n    cache_ttl: 1s\n    cached_valid_for: 1h\n    timeout: 2s\n    on_directory_down: refuse\n");
        await using var service = await ServiceProcess.StartAsync(Settings(policy, audit, origin, slapd));

        Assert.Equal(403, await Get(service, "alice:alice-pw", "games.test"));
        await slapd.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        Assert.Equal(403, await Get(service, "alice:alice-pw", "games.test"));
        Assert.Equal(407, await Get(service, "bob:bob-pw", "chat.test"));
        // A wrong password for a cached user is not the cached sign-in: refused too.
        Assert.Equal(407, await Get(service, "alice:guess", "games.test"));
        var metrics = await Admin(service, "/metrics");
        Assert.Matches(@"filterservice_directory_fallbacks_total\{outcome=""refused""\} 2\b", metrics);
    }

    private static async Task<(int Exit, string Out, string Err)> Explain(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await FilterService.Cli.CliCommands.RunAsync(["explain", .. args], stdout, stderr, new StringReader(""));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Issue22_Ldap_ExplainUser_ResolvesRolesThroughTheDirectory_AndSaysWhereEachCameFrom()
    {
        await using var slapd = await Slapd.StartAsync(Ldif);
        var policy = Policy(slapd, slapd.LdapsUrl);
        var config = Path.Combine(TempDir.Create("config"), "appsettings.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Identity = new { Ldap = new { BindPassword = Slapd.ServicePassword, TrustedCertificatesDirectory = slapd.CaDirectory } },
        }));
        string[] Args(string user, string url) => ["--policy", policy, "--config", config, "--user", user, "--ip", "127.0.0.5", "--at", "2026-11-23T10:00:00Z", "--url", url];

        var bob = await Explain(Args("bob", "http://staffroom.test/"));
        Assert.True(bob.Exit == 0, bob.Err);
        Assert.StartsWith("ALLOWED", bob.Out);
        Assert.Contains("who:      bob (Bob Baker), roles staff", bob.Out);
        Assert.Contains($"role:     staff from directory group cn=Staff,ou=Groups,{Slapd.Suffix}", bob.Out);

        var alice = await Explain([.. Args("alice", "http://games.test/"), "--json"]);
        Assert.True(alice.Exit == 0, alice.Err);
        using (var json = JsonDocument.Parse(alice.Out))
        {
            Assert.Equal("year7-no-games", json.RootElement.GetProperty("rule").GetString());
            var source = Assert.Single(json.RootElement.GetProperty("role_sources").EnumerateArray());
            Assert.Equal("year7", source.GetProperty("role").GetString());
            Assert.Equal($"directory group cn=Year 7,ou=Groups,{Slapd.Suffix}", source.GetProperty("source").GetString());
        }

        var nobody = await Explain(Args("nobody", "http://games.test/"));
        Assert.Equal(2, nobody.Exit);
        Assert.Contains("'nobody' is not in the policy's user directory (users.csv) nor in the school's directory", nobody.Err);
        var injected = await Explain(Args("*)(uid=*", "http://games.test/"));
        Assert.Equal(2, injected.Exit);
        Assert.Contains("is not a sign-in name", injected.Err);

        await slapd.StopAsync();
        var down = await Explain(Args("bob", "http://staffroom.test/"));
        Assert.Equal(2, down.Exit);
        Assert.Contains("the school's directory cannot be asked", down.Err);
    }

    [Fact]
    public async Task Issue22_Ldap_CertificateNotTrusted_NoSignInIsEverAccepted_HealthSaysWhy()
    {
        await using var slapd = await Slapd.StartAsync(Ldif);
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        var policy = Policy(slapd, slapd.LdapsUrl, "    timeout: 2s\n    on_directory_down: refuse\n");
        // The system's trust store does not know the test's CA: the directory's certificate must be refused.
        var settings = Settings(policy, audit, origin, slapd).Where(s => !s.StartsWith("--Identity:Ldap:TrustedCertificatesDirectory=", StringComparison.Ordinal));
        await using var service = await ServiceProcess.StartAsync(settings);

        Assert.Equal(407, await Get(service, "alice:alice-pw", "games.test"));
        using var health = JsonDocument.Parse(await Admin(service, "/health"));
        var directory = health.RootElement.GetProperty("directory");
        Assert.False(directory.GetProperty("up").GetBoolean());
        Assert.StartsWith(slapd.LdapsUrl, directory.GetProperty("problem").GetString());
        Assert.Equal("degraded", health.RootElement.GetProperty("status").GetString());
        Assert.Equal(0, directory.GetProperty("cachedSignIns").GetInt32());
    }

    [Fact]
    public async Task Issue22_Ldap_DirectoryThatNeverAnswers_SignInEndsAt407_NotAHang()
    {
        // A peer that accepts connections and never says a word (a hung domain controller).
        await using var slapd = await Slapd.StartAsync(Ldif);
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var held = new System.Collections.Concurrent.ConcurrentQueue<System.Net.Sockets.TcpClient>();
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                held.Enqueue(await silent.AcceptTcpClientAsync(stop.Token));
            }
        });
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        var policy = Policy(slapd, $"ldaps://127.0.0.1:{port}", "    timeout: 300ms\n    on_directory_down: refuse\n");
        try
        {
            await using var service = await ServiceProcess.StartAsync(Settings(policy, audit, origin, slapd));
            var signIn = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "alice:alice-pw", "http://games.test/hello");
            Assert.Equal(407, signIn.HttpCode);
            using var health = JsonDocument.Parse(await Admin(service, "/health"));
            Assert.False(health.RootElement.GetProperty("directory").GetProperty("up").GetBoolean());
            Assert.True(!held.IsEmpty, "the service never connected to the silent directory");
        }
        finally
        {
            stop.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => accepting);
            foreach (var c in held)
            {
                c.Dispose();
            }
        }
    }
}
