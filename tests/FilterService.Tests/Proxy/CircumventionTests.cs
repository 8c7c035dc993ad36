using System.Text.Json;
using FilterService.Tests.Cli;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// The services for <see cref="CircumventionTests"/>, each started as its own process, all at once: one per fast-path
/// combination, on the default sample with <c>connect: { bare_ip: block }</c> added.
/// </summary>
public sealed class CircumventionFixture : IAsyncLifetime
{
    private readonly Dictionary<string, (ServiceProcess Service, string Audit)> _services = new();

    public TestOrigin Origin { get; private set; } = null!;
    internal Fuzz.RecordingOrigin Probe { get; private set; } = null!;

    /// <summary>The service for <paramref name="paths"/>, and its audit directory.</summary>
    public (ServiceProcess Service, string Audit) this[string paths] => _services[paths];

    public async Task InitializeAsync()
    {
        Origin = await TestOrigin.StartAsync();
        Probe = Fuzz.RecordingOrigin.Start();
        var policy = CircumventionTests.Policy(refuseBareIp: true);
        var starting = FastPath.All.ToDictionary(p => p.Name, p =>
        {
            var audit = TempDir.Create("audit");
            return (Start: CircumventionTests.StartAsync(policy, audit, Origin, p, $"--Proxy:HostOverrides:{FastPathFixture.ProbeHost}=127.0.0.1:{Probe.Port}"), Audit: audit);
        });
        try
        {
            await Task.WhenAll(starting.Values.Select(s => s.Start));
        }
        finally
        {
            foreach (var (name, (start, audit)) in starting)
            {
                if (start.IsCompletedSuccessfully)
                {
                    _services[name] = (start.Result, audit);
                }
            }
        }
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(_services.Values.Select(s => s.Service.DisposeAsync().AsTask()));
        await Probe.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

/// <summary>
/// Issue 17, circumvention, through the service started as its own process: the default sample's
/// <c>circumvention</c> category blocks a pupil's tunnel to a DoH resolver (staff keep it), and
/// <c>connect: { bare_ip: block }</c> refuses a tunnel to an IP address, with the fast paths in every combination.
/// </summary>
public sealed class CircumventionTests(CircumventionFixture fixture) : IClassFixture<CircumventionFixture>
{
    internal static string[] Settings(string policy, string audit, TestOrigin origin, FastPath paths) =>
    [
        $"--Policy:Path={policy}", $"--Audit:Path={audit}", "--Proxy:AllowLoopbackUpstream=true",
        $"--Proxy:HostOverrides:secure.test=127.0.0.1:{origin.HttpsPort}",
        $"--Proxy:HostOverrides:dns.google=127.0.0.1:{origin.HttpsPort}",
        .. paths.Settings,
        "--Proxy:ConnectPorts=*", // the origin's port is not 443: the port policy must not be what refuses
    ];

    internal static Task<ServiceProcess> StartAsync(string policy, string audit, TestOrigin origin, FastPath paths, params string[] extra) =>
        ServiceProcess.StartAsync([.. Settings(policy, audit, origin, paths), .. extra]);

    /// <summary>A copy of the default sample with <c>connect: { bare_ip: block }</c> (or nothing) appended.</summary>
    internal static string Policy(bool refuseBareIp)
    {
        var dir = Samples.CopyDefault();
        if (refuseBareIp)
        {
            File.AppendAllText(Path.Combine(dir, "policy.yaml"), "\nconnect:\n  bare_ip: block\n");
        }
        return dir;
    }

    /// <summary>
    /// Each process takes its paths: the tunnel loop's thread ("Tunnel loop") runs in it only with Proxy:TunnelLoop on;
    /// a lower-case <c>user-agent</c> reaches the origin as sent only when the lean stage relays the head (Kestrel's
    /// parser, the general path, gives known headers their canonical names).
    /// </summary>
    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task EachCombination_TakesItsPaths(string paths)
    {
        var path = FastPath.Named(paths);
        var (service, _) = fixture[paths];
        var threads = Directory.GetDirectories($"/proc/{service.ProcessId}/task")
            .Select(t => File.ReadAllText(Path.Combine(t, "comm")).Trim()).ToList();
        Assert.Equal(path.Loop, threads.Any(t => t.StartsWith("Tunnel loop", StringComparison.Ordinal)));

        string marker = $"{paths}-{Guid.NewGuid():N}";
        var probe = await Curl.RunAsync("--proxy", service.Proxy, "-H", $"user-agent: {marker}", $"http://{FastPathFixture.ProbeHost}/probe");
        Assert.Equal(200, probe.HttpCode);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        Fuzz.OriginArrival? arrival;
        while ((arrival = fixture.Probe.Arrivals.FirstOrDefault(a => a.Text.Contains(marker, StringComparison.Ordinal))) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{paths}: the probe request never reached the origin");
            await Task.Delay(20);
        }
        string sent = path.Lean ? $"\r\nuser-agent: {marker}\r\n" : $"\r\nUser-Agent: {marker}\r\n";
        Assert.True(arrival.Text.Contains(sent, StringComparison.Ordinal), $"{paths}: expected {sent.Trim()} upstream, the origin got:\n{arrival.Text}");
    }

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task Issue17_BareIpConnect_IsRefused_WhenThePolicySaysSo_AndNamedHostsStillWork(string paths)
    {
        var (service, audit) = fixture[paths];
        var origin = fixture.Origin;

        var bare = await Curl.RunAsync("-k", "--proxy", service.Proxy, $"https://127.0.0.1:{origin.HttpsPort}/hello");
        Assert.Equal(403, bare.ConnectCode);
        var record = await WaitForAuditAsync(audit, r => r.Str("method") == "CONNECT" && r.Str("rule") == "bare-ip-connect", "the bare-IP CONNECT");
        Assert.Equal(403, record.Int("status"));

        var named = await Curl.RunAsync("-k", "--proxy", service.Proxy, "https://secure.test/hello");
        Assert.Equal(200, named.ConnectCode);
        Assert.Equal(200, named.HttpCode);
    }

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task Issue17_BareIpConnect_IsAllowed_WhenThePolicyDoesNotSay(string paths)
    {
        // The one case on a policy without bare_ip: block: its own process.
        var audit = TempDir.Create("audit");
        await using var service = await StartAsync(Samples.CopyDefault(), audit, fixture.Origin, FastPath.Named(paths));

        var bare = await Curl.RunAsync("-k", "--proxy", service.Proxy, $"https://127.0.0.1:{fixture.Origin.HttpsPort}/hello");
        Assert.Equal(200, bare.ConnectCode);
        Assert.Equal(200, bare.HttpCode);
    }

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task Issue17_DohResolver_IsBlockedForPupils_AndOpenToStaff_InTheDefaultSample(string paths)
    {
        // The default sample's circumvention category (the fixture's policy only adds connect: { bare_ip: block }).
        var (service, audit) = fixture[paths];

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
            .. Settings(Samples.CopyDefault(), audit, origin, FastPath.Named("lean+loop")),
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
