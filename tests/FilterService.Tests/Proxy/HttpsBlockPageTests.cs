using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using FilterService.Notifications;
using FilterService.Tests.Cli;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>Accepts and counts TCP connections on 127.0.0.1 (and closes them): an origin that must never be reached.</summary>
public sealed class CountingListener : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Task _loop;
    private int _accepted;

    public CountingListener()
    {
        _listener.Start();
        _loop = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using var socket = await _listener.AcceptSocketAsync();
                    Interlocked.Increment(ref _accepted);
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        });
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public int Accepted => Volatile.Read(ref _accepted);

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _loop;
    }
}

/// <summary>
/// The service with a CA made by <c>ca init</c>, the default sample with 127.0.1.0/24 added to the pupil LAN, the
/// clock at Monday 10:00 (staff working hours), and the blocked hosts pointed at a listener that counts connections.
/// </summary>
public sealed class HttpsBlockPageFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Monday10 = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero); // GMT: 10:00 in London

    public RunningService Service { get; private set; } = null!;
    public CountingListener Origin { get; private set; } = null!;
    public string CaCert { get; private set; } = null!;
    public string Outbox { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        (_, CaCert, var caKey) = await CaCommandTests.InitAsync();
        Origin = new CountingListener();
        Outbox = TempDir.Create("outbox");
        var policy = Samples.CopyDefault();
        var yaml = Path.Combine(policy, "policy.yaml");
        var text = await File.ReadAllTextAsync(yaml);
        var edited = text.Replace("pupil-lan:   { cidrs: [10.40.0.0/16], default_role: pupil }", "pupil-lan:   { cidrs: [10.40.0.0/16, 127.0.1.0/24], default_role: pupil }");
        Assert.NotEqual(text, edited);
        await File.WriteAllTextAsync(yaml, edited);
        Service = await RunningService.StartAsync(policy, null, new FakeTime(Monday10),
            $"--Proxy:InspectionCaCertificate={CaCert}", $"--Proxy:InspectionCaKey={caKey}", "--Proxy:AllowLoopbackUpstream=true",
            $"--Alerts:Outbox:Path={Outbox}",
            $"--Proxy:HostOverrides:www.facebook.com=127.0.0.1:{Origin.Port}",
            $"--Proxy:HostOverrides:blocked-terror.test=127.0.0.1:{Origin.Port}");
    }

    /// <summary>Alerting decisions recorded so far (every severity): one per incident raised.</summary>
    public long Raised()
    {
        var stats = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<AlertStats>(Service.App.App.Services);
        return Enum.GetValues<PolicyModel.Decisions.AlertSeverity>().Sum(stats.Raised);
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

/// <summary>
/// Issue 17: with an inspection CA, a blocked CONNECT is answered 200, TLS is terminated with a leaf for the SNI and the
/// browser gets the block page (403) inside, never an upstream connection; the proxy serves its CA on /ca.crt and /ca.
/// </summary>
public sealed class HttpsBlockPageTests(HttpsBlockPageFixture fixture) : IClassFixture<HttpsBlockPageFixture>
{
    private string Proxy => fixture.Service.ProxyUri.ToString();

    [Fact]
    public async Task BlockPage_PupilHttpsFacebook_Gets200ThenTheBlockPageInsideTls_AndNothingGoesUpstream()
    {
        var result = await Curl.RunAsync("--interface", "127.0.1.1", "--cacert", fixture.CaCert, "--proxy", Proxy,
            "https://www.facebook.com/some/page?x=1", "--data-binary", "a post is not forwarded either");

        Assert.True(result.ExitCode == 0, result.Stderr); // the leaf verifies against the school CA alone
        Assert.Equal(200, result.ConnectCode);
        Assert.Equal(403, result.HttpCode);
        Assert.Contains("This page is blocked", result.Body);
        Assert.Contains("<dt>Rule</dt><dd>pupils-social</dd>", result.Body);
        Assert.Contains("<dt>Reason</dt><dd>Blocked by rule &#39;pupils-social&#39;: Pupils may not use social media.</dd>", result.Body);
        Assert.Contains("https://www.facebook.com/some/page?x=1", result.Body);
        var connect = await fixture.Service.WaitForAuditAsync(r => r.Str("client") == "127.0.1.1" && r.Str("url") == "www.facebook.com:443", "the bumped CONNECT");
        Assert.Equal(200, connect.Int("status"));
        Assert.Equal("block", connect.Str("action"));
        Assert.Equal("pupils-social", connect.Str("rule"));
        var post = await fixture.Service.WaitForAuditAsync(r => r.Str("url") == "https://www.facebook.com/some/page?x=1", "the request inside");
        Assert.Equal("POST", post.Str("method"));
        Assert.Equal(403, post.Int("status"));
        Assert.Equal("pupils-social", post.Str("rule"));
        Assert.Equal(0, fixture.Origin.Accepted);
    }

    [Fact]
    public async Task BlockPage_StaffInWorkingHours_SaysWhenItIsAvailableAgain()
    {
        var result = await Curl.RunAsync("--cacert", fixture.CaCert, "--proxy", Proxy, "--proxy-user", "staff1:staff1-demo", "https://www.facebook.com/");

        Assert.Equal(200, result.ConnectCode);
        Assert.Equal(403, result.HttpCode);
        Assert.Contains("<dt>Rule</dt><dd>staff-working-hours</dd>", result.Body);
        Assert.Contains("Available again at 17:00", result.Body);
        Assert.Equal(0, fixture.Origin.Accepted);
    }

    [Fact]
    public async Task BlockPage_StatutoryOverHttps_OneAlertPerAttempt_RequestsInsideRaiseNone()
    {
        long before = fixture.Raised();

        // One tunnel, three requests in it (as a browser's page, favicon and reload on one connection).
        var result = await Curl.RunAsync("--interface", "127.0.1.2", "--cacert", fixture.CaCert, "--proxy", Proxy,
            "https://blocked-terror.test/", "https://blocked-terror.test/favicon.ico", "https://blocked-terror.test/again");

        Assert.Equal(403, result.HttpCode);
        Assert.Contains("statutory:terrorism", result.Body);
        await fixture.Service.WaitForAuditAsync(r => r.Str("url") == "https://blocked-terror.test/again", "the third request inside");
        var records = fixture.Service.AuditRecords().Where(r => r.Str("client") == "127.0.1.2").ToList();
        Assert.Single(records, r => r.Str("method") == "CONNECT");
        Assert.Equal(3, records.Count(r => r.Str("method") == "GET" && r.Int("status") == 403));
        Assert.Equal(before + 1, fixture.Raised());
        Assert.Equal(0, fixture.Origin.Accepted);
    }

    [Fact]
    public async Task BlockPage_SniOtherThanTheConnectHost_IsRefused_NoPage()
    {
        // curl CONNECTs to www.facebook.com:443 but names other.test in its ClientHello.
        var result = await Curl.RunAsync("--interface", "127.0.1.3", "-k", "--proxy", Proxy,
            "--connect-to", "other.test:443:www.facebook.com:443", "https://other.test/");

        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("This page is blocked", result.Body);
        var refused = await fixture.Service.WaitForAuditAsync(r => r.Str("client") == "127.0.1.3" && r.Str("method") == "CONNECT", "the mismatched tunnel");
        Assert.Equal("sni-mismatch", refused.Str("rule"));
        Assert.Equal(0, fixture.Origin.Accepted);
    }

    [Fact]
    public async Task BlockPage_BareAddressBlocked_Stays403()
    {
        // risk1 is denied everything; an address literal has no name for a leaf, so the 403 stays.
        var result = await Curl.RunAsync("-k", "--proxy", Proxy, "--proxy-user", "risk1:risk1-demo", $"https://127.0.0.1:{fixture.Origin.Port}/");

        Assert.Equal(403, result.ConnectCode);
        Assert.Equal(0, fixture.Origin.Accepted);
    }

    [Fact]
    public async Task CaPages_ClientGetsTheCertificateAsDerAndTheHelpPage()
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
        using var cert = await http.GetAsync($"{Proxy}ca.crt");
        var help = await Curl.RunAsync($"{Proxy}ca");

        Assert.Equal(HttpStatusCode.OK, cert.StatusCode);
        Assert.Equal("application/x-x509-ca-cert", cert.Content.Headers.ContentType?.MediaType);
        using var served = X509CertificateLoader.LoadCertificate(await cert.Content.ReadAsByteArrayAsync());
        using var made = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(fixture.CaCert));
        Assert.Equal(made.RawData, served.RawData);
        Assert.Equal(200, help.HttpCode);
        Assert.Contains("Cherry Oak Federation web filter inspection CA", help.Body);
        Assert.Contains("certutil -d sql:$HOME/.pki/nssdb", help.Body);
        await fixture.Service.WaitForAuditAsync(r => r.Str("rule") == "proxy-ca-certificate" && r.Int("status") == 200, "the certificate download");
    }

    [Fact]
    public async Task CaPages_OtherOriginFormTargets_AreStillRefused()
    {
        var other = await Curl.RunAsync($"{Proxy}ca.crt.bak");
        Assert.Equal(400, other.HttpCode);
    }
}

/// <summary>The CA pages exist only when a CA is configured, and only for the policy's clients.</summary>
public sealed class CaPagesRefusedTests
{
    [Fact]
    public async Task CaPages_WithoutACa_AreRefusedAsBefore()
    {
        await using var service = await RunningService.StartAsync(Samples.CopyDefault(), null);
        var cert = await Curl.RunAsync($"{service.ProxyUri}ca.crt");
        Assert.Equal(400, cert.HttpCode);
        Assert.Contains("configure it as your browser's proxy", cert.Body);
    }

    [Fact]
    public async Task CaPages_NotAClient_IsRefused()
    {
        var (_, caCert, caKey) = await CaCommandTests.InitAsync();
        var policy = Samples.CopyDefault();
        var yaml = Path.Combine(policy, "policy.yaml");
        var text = await File.ReadAllTextAsync(yaml);
        await File.WriteAllTextAsync(yaml, text.Replace("clients: [10.0.0.0/8, 127.0.0.0/8]", "clients: [10.0.0.0/8, 127.0.0.0/24]"));
        await using var service = await RunningService.StartAsync(policy, null,
            $"--Proxy:InspectionCaCertificate={caCert}", $"--Proxy:InspectionCaKey={caKey}");

        var client = await Curl.RunAsync($"{service.ProxyUri}ca.crt");
        var stranger = await Curl.RunAsync("--interface", "127.0.1.1", $"{service.ProxyUri}ca.crt");

        Assert.Equal(200, client.HttpCode);
        Assert.Equal(400, stranger.HttpCode);
    }
}

/// <summary>The one judgement of a CONNECT: when a block becomes a block page.</summary>
public sealed class BlockPageVerdictTests
{
    private static readonly PolicyModel.Decisions.PolicySnapshot Sample =
        PolicyModel.Documents.PolicyLoader.Load(Samples.DefaultDir).Snapshot ?? throw new InvalidOperationException("the sample does not load");

    private static readonly IPAddress PupilLan = IPAddress.Parse("10.40.0.5");

    private static FilterService.Proxy.ConnectFlow.ConnectVerdict Judge(string authority, bool canInspect, string? user = null) =>
        FilterService.Proxy.ConnectFlow.Judge(Sample, PupilLan, user, authority, HttpsBlockPageFixture.Monday10,
            new FilterService.Proxy.ProxyOptions { ConnectPorts = [443] }, canInspect, TimeProvider.System).Verdict;

    [Fact]
    public void Judge_BlockedNameWithCa_IsBlockPage() =>
        Assert.Equal(FilterService.Proxy.ConnectFlow.ConnectVerdict.BlockPage, Judge("www.facebook.com:443", canInspect: true));

    [Fact]
    public void Judge_BlockedNameWithoutCa_StaysBlocked() =>
        Assert.Equal(FilterService.Proxy.ConnectFlow.ConnectVerdict.Blocked, Judge("www.facebook.com:443", canInspect: false));

    [Fact]
    public void Judge_BlockedNameOnAPortNotAllowed_StaysBlocked() =>
        Assert.Equal(FilterService.Proxy.ConnectFlow.ConnectVerdict.Blocked, Judge("www.facebook.com:8443", canInspect: true));

    [Fact]
    public void Judge_BlockedAddressLiteral_StaysBlocked() =>
        Assert.Equal(FilterService.Proxy.ConnectFlow.ConnectVerdict.Blocked, Judge("192.0.2.7:443", canInspect: true, user: "risk1"));

    [Fact]
    public void Judge_AllowedName_IsStillSpliced() =>
        Assert.Equal(FilterService.Proxy.ConnectFlow.ConnectVerdict.Splice, Judge("www.example.org:443", canInspect: true));

    [Fact]
    public void Judge_DecisionTime_IsMeasuredOnTheInjectedClock()
    {
        var judged = FilterService.Proxy.ConnectFlow.Judge(Sample, PupilLan, null, "www.example.org:443", HttpsBlockPageFixture.Monday10,
            new FilterService.Proxy.ProxyOptions(), canInspect: true, new SteppingTime(TimeSpan.FromMilliseconds(7)));
        Assert.Equal(TimeSpan.FromMilliseconds(7), judged.DecisionTime);
    }

    /// <summary>A clock whose every timestamp is one step after the last: an elapsed time is exactly one step.</summary>
    private sealed class SteppingTime(TimeSpan step) : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Add(ref _ticks, step.Ticks);
    }
}
