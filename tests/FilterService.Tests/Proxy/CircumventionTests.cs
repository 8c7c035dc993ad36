using System.Text.Json;
using FilterService.Tests.Cli;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// Issue 17, circumvention, through the service started as its own process: the default sample's
/// <c>circumvention</c> category blocks a pupil's tunnel to a DoH resolver (staff keep it), and
/// <c>connect: { bare_ip: block }</c> refuses a tunnel to an IP address, with the tunnel loop on and off.
/// </summary>
public sealed class CircumventionTests
{
    private static string[] Settings(string policy, string audit, TestOrigin origin, bool loop) =>
    [
        $"--Policy:Path={policy}", $"--Audit:Path={audit}", "--Proxy:AllowLoopbackUpstream=true",
        $"--Proxy:HostOverrides:secure.test=127.0.0.1:{origin.HttpsPort}",
        $"--Proxy:HostOverrides:dns.google=127.0.0.1:{origin.HttpsPort}",
        $"--Proxy:TunnelLoop={loop}",
        "--Proxy:ConnectPorts=*", // the origin's port is not 443: the port policy must not be what refuses
    ];

    /// <summary>A copy of the default sample with <c>connect: { bare_ip: block }</c> (or nothing) appended.</summary>
    private static string Policy(bool refuseBareIp)
    {
        var dir = Samples.CopyDefault();
        if (refuseBareIp)
        {
            File.AppendAllText(Path.Combine(dir, "policy.yaml"), "\nconnect:\n  bare_ip: block\n");
        }
        return dir;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Issue17_BareIpConnect_IsRefused_WhenThePolicySaysSo_AndNamedHostsStillWork(bool loop)
    {
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await ServiceProcess.StartAsync(Settings(Policy(refuseBareIp: true), audit, origin, loop));

        var bare = await Curl.RunAsync("-k", "--proxy", service.Proxy, $"https://127.0.0.1:{origin.HttpsPort}/hello");
        Assert.Equal(403, bare.ConnectCode);
        var record = await WaitForAuditAsync(audit, r => r.Str("method") == "CONNECT" && r.Str("rule") == "bare-ip-connect", "the bare-IP CONNECT");
        Assert.Equal(403, record.Int("status"));

        var named = await Curl.RunAsync("-k", "--proxy", service.Proxy, "https://secure.test/hello");
        Assert.Equal(200, named.ConnectCode);
        Assert.Equal(200, named.HttpCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Issue17_BareIpConnect_IsAllowed_WhenThePolicyDoesNotSay(bool loop)
    {
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await ServiceProcess.StartAsync(Settings(Policy(refuseBareIp: false), audit, origin, loop));

        var bare = await Curl.RunAsync("-k", "--proxy", service.Proxy, $"https://127.0.0.1:{origin.HttpsPort}/hello");
        Assert.Equal(200, bare.ConnectCode);
        Assert.Equal(200, bare.HttpCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Issue17_DohResolver_IsBlockedForPupils_AndOpenToStaff_InTheDefaultSample(bool loop)
    {
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await ServiceProcess.StartAsync(Settings(Samples.CopyDefault(), audit, origin, loop));

        var pupil = await Curl.RunAsync("-k", "--proxy", service.Proxy, "--proxy-user", "pupil1:pupil1-demo", "https://dns.google/hello");
        Assert.Equal(403, pupil.ConnectCode);
        var record = await WaitForAuditAsync(audit, r => r.Str("method") == "CONNECT" && r.Str("user") == "pupil1", "the pupil's CONNECT to dns.google");
        Assert.Equal("no-circumvention", record.Str("rule"));
        Assert.Equal(403, record.Int("status"));

        var staff = await Curl.RunAsync("-k", "--proxy", service.Proxy, "--proxy-user", "staff1:staff1-demo", "https://dns.google/hello");
        Assert.Equal(200, staff.ConnectCode);
        Assert.Equal(200, staff.HttpCode);
    }

    [Fact]
    public async Task Issue17_DohResolver_GivesPupilsTheBlockPage_WhenACaIsConfigured()
    {
        var (_, caCert, caKey) = await CaCommandTests.InitAsync();
        var audit = TempDir.Create("audit");
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await ServiceProcess.StartAsync([
            .. Settings(Samples.CopyDefault(), audit, origin, loop: true),
            $"--Proxy:InspectionCaCertificate={caCert}", $"--Proxy:InspectionCaKey={caKey}",
        ]);

        // A DoH query (RFC 8484 GET) from a pupil: the tunnel is bumped to show the block page; nothing reaches the resolver.
        var pupil = await Curl.RunAsync("--cacert", caCert, "--proxy", service.Proxy, "--proxy-user", "pupil1:pupil1-demo",
            "https://dns.google/dns-query?dns=AAABAAABAAAAAAAAB2V4YW1wbGUDY29tAAABAAE");
        Assert.True(pupil.ExitCode == 0, pupil.Stderr);
        Assert.Equal(200, pupil.ConnectCode);
        Assert.Equal(403, pupil.HttpCode);
        Assert.Contains("<dt>Rule</dt><dd>no-circumvention</dd>", pupil.Body);

        // Staff's tunnel is spliced to the resolver (here the local origin, with its own certificate).
        var staff = await Curl.RunAsync("-k", "--proxy", service.Proxy, "--proxy-user", "staff1:staff1-demo", "https://dns.google/hello");
        Assert.Equal(200, staff.ConnectCode);
        Assert.Equal(200, staff.HttpCode);
    }

    /// <summary>Waits (at most 10 s) for an audit record matching <paramref name="match"/> in <paramref name="auditDir"/>.</summary>
    private static Task<JsonElement> WaitForAuditAsync(string auditDir, Func<JsonElement, bool> match, string what) =>
        AuditFiles.WaitForAsync(auditDir, match, what);
}
