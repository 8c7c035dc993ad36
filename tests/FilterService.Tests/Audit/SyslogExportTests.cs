using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FilterService.Hosting;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Audit;

/// <summary>
/// Issue 20, SIEM export: the service as its own process sends a copy of every audit record to a real rsyslogd on
/// 127.0.0.1 (RFC 5424, octet-counted, over TCP and over TLS); rsyslog's own parse of each message must give the
/// audit file's fields. The collector going away shows in /health and the metrics, records wait in the queue, and
/// what does not fit is counted as dropped.
/// </summary>
public sealed partial class SyslogExportTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static string[] Settings(string auditDir, TestOrigin origin, Rsyslog collector, params string[] extra) =>
    [
        $"--Policy:Path={Samples.CopyDefault()}",
        $"--Audit:Path={auditDir}",
        "--Proxy:AllowLoopbackUpstream=true",
        $"--Proxy:HostOverrides:allowed.test=127.0.0.1:{origin.HttpPort}",
        "--Logging:LogLevel:Default=Warning",
        "--Audit:Syslog:Enabled=true",
        "--Audit:Syslog:Host=127.0.0.1",
        $"--Audit:Syslog:Port={collector.Port}",
        .. extra,
    ];

    [Fact]
    public async Task Issue20_Syslog_BlockedAndAllowedRequests_ReachRsyslogAsRfc5424WithTheAuditFieldsInStructuredData()
    {
        await using var collector = await Rsyslog.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        var audit = TempDir.Create("audit");
        await using var service = await ServiceProcess.StartAsync(Settings(audit, origin, collector));
        using var admin = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await WaitForHealthAsync(admin, service, h => Syslog(h).GetProperty("connected").GetBoolean(), "the exporter to connect");

        Assert.Equal(200, (await Curl.RunAsync("--proxy", service.Proxy, "http://allowed.test/hello")).HttpCode);
        Assert.Equal(403, (await Curl.RunAsync("--proxy", service.Proxy, "http://blocked-terror.test/")).HttpCode);
        var allowed = await AuditFiles.WaitForAsync(audit, r => r.Str("url") == "http://allowed.test/hello", "the allowed request");
        var blocked = await AuditFiles.WaitForAsync(audit, r => r.Str("url") == "http://blocked-terror.test/", "the blocked request");

        var messages = await collector.WaitForAsync(m => m.Count >= 2, "two messages");
        Assert.Equal(2, messages.Count);
        AssertMatches(allowed, Assert.Single(messages, m => Params(m)["ref"].Single() == allowed.Str("ref")), severity: 6);
        var blockedMessage = Assert.Single(messages, m => Params(m)["ref"].Single() == blocked.Str("ref"));
        AssertMatches(blocked, blockedMessage, severity: blocked.TryGetProperty("alert", out _) ? 4 : 5);
        Assert.Equal("statutory:terrorism", Params(blockedMessage)["rule"].Single());
        Assert.Equal("blocked-terror.test", Params(blockedMessage)["host"].Single());

        var health = await HealthAsync(admin, service);
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(2, Syslog(health).GetProperty("sent").GetInt64());
        var metrics = await admin.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/metrics");
        Assert.Equal(1, Sample(metrics, "filterservice_audit_syslog_connected"));
        Assert.Equal(2, Sample(metrics, "filterservice_audit_syslog_sent_total"));
        Assert.Equal(0, Sample(metrics, "filterservice_audit_syslog_dropped_total"));
    }

    [Fact]
    public async Task Issue20_Syslog_Tls_DeliversToACollectorThatChainsToTheCaFile_AndRefusesOneThatDoesNot()
    {
        await using var collector = await Rsyslog.StartAsync(tls: true);
        await using var origin = await TestOrigin.StartAsync();
        var audit = TempDir.Create("audit");
        await using var service = await ServiceProcess.StartAsync(Settings(audit, origin, collector,
            "--Audit:Syslog:Transport=Tls", $"--Audit:Syslog:CaFile={collector.CaFile}", "--Audit:Syslog:ServerName=localhost"));
        var untrustedAudit = TempDir.Create("audit");
        await using var untrusting = await ServiceProcess.StartAsync(Settings(untrustedAudit, origin, collector,
            "--Audit:Syslog:Transport=Tls", $"--Audit:Syslog:CaFile={collector.OtherCaFile}", "--Audit:Syslog:ServerName=localhost"));
        using var admin = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await WaitForHealthAsync(admin, service, h => Syslog(h).GetProperty("connected").GetBoolean(), "the TLS exporter to connect");

        Assert.Equal(403, (await Curl.RunAsync("--proxy", service.Proxy, "http://blocked-terror.test/tls")).HttpCode);
        Assert.Equal(403, (await Curl.RunAsync("--proxy", untrusting.Proxy, "http://blocked-terror.test/untrusted")).HttpCode);
        var blocked = await AuditFiles.WaitForAsync(audit, r => r.Str("url") == "http://blocked-terror.test/tls", "the blocked request");
        await AuditFiles.WaitForAsync(untrustedAudit, r => r.Str("url") == "http://blocked-terror.test/untrusted", "the other service's request");

        var messages = await collector.WaitForAsync(m => m.Count >= 1, "the message over TLS");
        AssertMatches(blocked, Assert.Single(messages), severity: blocked.TryGetProperty("alert", out _) ? 4 : 5);

        var refused = await WaitForHealthAsync(admin, untrusting, h => Syslog(h).GetProperty("errors").GetInt64() >= 1, "the refused handshake");
        Assert.Equal("degraded", refused.GetProperty("status").GetString());
        Assert.False(Syslog(refused).GetProperty("connected").GetBoolean());
        Assert.Contains($"TLS with tls://127.0.0.1:{collector.Port} failed", Syslog(refused).GetProperty("lastError").GetString());
        Assert.Contains(collector.OtherCaFile!, Syslog(refused).GetProperty("lastError").GetString());
        Assert.Contains(refused.GetProperty("problems").EnumerateArray(), p => p.GetString()!.StartsWith($"audit records are not reaching syslog at tls://127.0.0.1:{collector.Port}"));
        Assert.Equal(1, Syslog(refused).GetProperty("queued").GetInt64());
        Assert.Single(collector.Messages()); // nothing from the service that could not verify the collector
    }

    [Fact]
    public async Task Issue20_Syslog_MutualTls_ACollectorThatAsksForAClientCertificate_GetsOurs_AndRefusesAServiceWithoutOne()
    {
        await using var collector = await Rsyslog.StartAsync(tls: true, clientCertificates: true);
        await using var origin = await TestOrigin.StartAsync();
        string[] tls = ["--Audit:Syslog:Transport=Tls", $"--Audit:Syslog:CaFile={collector.CaFile}", "--Audit:Syslog:ServerName=localhost"];
        var audit = TempDir.Create("audit");
        await using var service = await ServiceProcess.StartAsync(Settings(audit, origin, collector,
            [.. tls, $"--Audit:Syslog:ClientCertificate={collector.ClientCertificateFile}", $"--Audit:Syslog:ClientKey={collector.ClientKeyFile}"]));
        await using var anonymous = await ServiceProcess.StartAsync(Settings(TempDir.Create("audit"), origin, collector, tls));
        using var admin = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await WaitForHealthAsync(admin, service, h => Syslog(h).GetProperty("connected").GetBoolean(), "the exporter with a client certificate to connect");

        Assert.Equal(403, (await Curl.RunAsync("--proxy", service.Proxy, "http://blocked-terror.test/mutual")).HttpCode);
        Assert.Equal(403, (await Curl.RunAsync("--proxy", anonymous.Proxy, "http://blocked-terror.test/anonymous")).HttpCode);
        var blocked = await AuditFiles.WaitForAsync(audit, r => r.Str("url") == "http://blocked-terror.test/mutual", "the blocked request");
        AssertMatches(blocked, Assert.Single(await collector.WaitForAsync(m => m.Count >= 1, "the message over mutual TLS")),
            severity: blocked.TryGetProperty("alert", out _) ? 4 : 5);

        // With TLS 1.3 rsyslog checks the client's certificate after the handshake and closes the session at once.
        var refused = await WaitForHealthAsync(admin, anonymous, h => Syslog(h).GetProperty("errors").GetInt64() >= 2, "the refused connections");
        Assert.Equal("degraded", refused.GetProperty("status").GetString());
        Assert.False(Syslog(refused).GetProperty("connected").GetBoolean());
        Assert.Equal(0, Syslog(refused).GetProperty("sent").GetInt64());
        Assert.Equal("the collector closed the connection as soon as it was opened (does it require a client certificate? Audit:Syslog:ClientCertificate)",
            Syslog(refused).GetProperty("lastError").GetString());
        Assert.Equal(1, Syslog(refused).GetProperty("queued").GetInt64()); // kept for when it can be sent, not written into a refused session
        Assert.Single(collector.Messages());
    }

    [Fact]
    public async Task Issue20_Syslog_CollectorDownThenUp_QueuedRecordsAreDelivered_OverflowIsCountedAsDropped_HealthSaysSo()
    {
        await using var collector = await Rsyslog.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        var audit = TempDir.Create("audit");
        await using var service = await ServiceProcess.StartAsync(Settings(audit, origin, collector,
            "--Audit:Syslog:QueueSize=2", "--Audit:Syslog:MaxReconnectDelay=00:00:01"));
        using var admin = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await WaitForHealthAsync(admin, service, h => Syslog(h).GetProperty("connected").GetBoolean(), "the exporter to connect");
        Assert.Equal(200, (await Curl.RunAsync("--proxy", service.Proxy, "http://allowed.test/hello?n=0")).HttpCode);
        await collector.WaitForAsync(m => m.Count == 1, "the first record");

        await collector.StopAsync();
        var down = await WaitForHealthAsync(admin, service, h => !Syslog(h).GetProperty("connected").GetBoolean(), "the exporter to notice");
        Assert.Equal("degraded", down.GetProperty("status").GetString());
        for (int n = 1; n <= 4; n++)
        {
            // Served throughout: the export never holds a request up, and the audit file has every record.
            Assert.Equal(403, (await Curl.RunAsync("--proxy", service.Proxy, $"http://blocked-terror.test/?n={n}")).HttpCode);
        }
        await AuditFiles.WaitForAsync(audit, r => r.Str("url") == "http://blocked-terror.test/?n=4", "the last request");
        Assert.Equal(5, AuditFiles.Read(audit).Count);
        var full = await HealthAsync(admin, service);
        Assert.Equal(2, Syslog(full).GetProperty("queued").GetInt64());
        Assert.Equal(2, Syslog(full).GetProperty("dropped").GetInt64());
        Assert.Contains(full.GetProperty("problems").EnumerateArray(), p => p.GetString()!.EndsWith("2 queued, 2 dropped"));
        var metrics = await admin.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/metrics");
        Assert.Equal(0, Sample(metrics, "filterservice_audit_syslog_connected"));
        Assert.Equal(2, Sample(metrics, "filterservice_audit_syslog_dropped_total"));
        Assert.Equal(2, Sample(metrics, "filterservice_audit_syslog_queued_records"));
        Assert.True(Sample(metrics, "filterservice_audit_syslog_errors_total") >= 1);

        await collector.StartAgainAsync();
        var messages = await collector.WaitForAsync(m => m.Count >= 3, "the queued records after the collector came back");
        var byRef = AuditFiles.Read(audit).ToDictionary(r => r.Str("ref")!, r => r.Str("url"));
        Assert.Equal(["http://allowed.test/hello?n=0", "http://blocked-terror.test/?n=1", "http://blocked-terror.test/?n=2"],
            messages.Select(m => byRef[Params(m)["ref"].Single()]));
        var up = await WaitForHealthAsync(admin, service, h => Syslog(h).GetProperty("connected").GetBoolean(), "the exporter to reconnect");
        Assert.Equal("ok", up.GetProperty("status").GetString());
        Assert.Equal(3, Syslog(up).GetProperty("sent").GetInt64());
        Assert.Equal(0, Syslog(up).GetProperty("queued").GetInt64());
        Assert.Equal(2, Syslog(up).GetProperty("dropped").GetInt64());
        await Task.Delay(1000);
        Assert.Equal(3, collector.Messages().Count); // n=3 and n=4 were dropped from the export, not sent late
    }

    [Fact]
    public void Issue20_Syslog_Settings_EveryProblemIsReportedAtStart()
    {
        var app = ProxyHost.Build([
            $"--Policy:Path={Samples.DefaultDir}", "--Audit:Syslog:Enabled=true", "--Audit:Syslog:Facility=local9", "--Audit:Syslog:QueueSize=0",
            "--Audit:Syslog:CaFile=/nonexistent/ca.pem", "--Audit:Syslog:Transport=udp", "--Audit:Syslog:Colour=blue",
            "--Audit:Syslog:ClientCertificate=/nonexistent/client.pem",
        ], null, out var errors);
        Assert.Null(app);
        string[] expected = [
            "config: error FS0001: Audit:Syslog:Colour: unknown setting",
            "config: error FS0001: Audit:Syslog:Transport: 'udp' is not a valid value (Tcp, Tls)",
            "config: error FS0001: Audit:Syslog:Host: the collector's name or address is required when Audit:Syslog:Enabled is true",
            "config: error FS0001: Audit:Syslog:CaFile: only used with Audit:Syslog:Transport=Tls",
            "config: error FS0001: Audit:Syslog:CaFile: file '/nonexistent/ca.pem' does not exist",
            "config: error FS0001: Audit:Syslog:Facility: 'local9' is not a facility name (logaudit, local0-local7, auth, authpriv, daemon, user, ...) or a number 0-23",
            "config: error FS0001: Audit:Syslog:QueueSize: 0 is outside 1-10000000",
            "config: error FS0001: Audit:Syslog:ClientCertificate and Audit:Syslog:ClientKey must be set together",
            "config: error FS0001: Audit:Syslog:ClientCertificate: only used with Audit:Syslog:Transport=Tls",
            "config: error FS0001: Audit:Syslog:ClientCertificate: file '/nonexistent/client.pem' does not exist",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), errors.Order(StringComparer.Ordinal));
    }

    /// <summary>The message, as rsyslog received and parsed it, carries the audit record's fields.</summary>
    private static void AssertMatches(JsonElement record, SyslogMessage m, int severity)
    {
        Assert.Matches(Rfc5424Header(), m.Raw);
        Assert.Equal(13 * 8 + severity, m.Pri); // facility logaudit
        Assert.Equal("1", m.Version);
        Assert.Equal("school-filter", m.AppName);
        Assert.Equal(record.Str("action"), m.MsgId);
        var sd = Params(m);
        Assert.Equal(record.Str("action"), sd["action"].Single());
        Assert.Equal(record.Str("rule"), sd["rule"].Single());
        Assert.Equal(record.Str("client"), sd["client"].Single());
        Assert.Equal(record.Str("policy"), sd["policy"].Single());
        Assert.Equal(record.Int("status").ToString(CultureInfo.InvariantCulture), sd["status"].Single());
        Assert.Equal(new Uri(record.Str("url")!).Host, sd["host"].Single());
        foreach (var optional in new[] { "category", "list", "network", "user" })
        {
            Assert.Equal(record.Str(optional), sd.TryGetValue(optional, out var v) ? v.Single() : null);
        }
        Assert.Equal(record.TryGetProperty("roles", out var roles) ? roles.EnumerateArray().Select(r => r.GetString()!).ToList() : [],
            sd.TryGetValue("role", out var sent) ? sent : []);
        Assert.Equal(record.GetRawText(), m.Msg); // the audit file's own line
    }

    /// <summary>The SD-PARAMs of <c>[filter@32473 ...]</c> as rsyslog gives them, unescaped, by name.</summary>
    private static Dictionary<string, List<string>> Params(SyslogMessage m)
    {
        var element = SdElement().Match(m.StructuredData);
        Assert.True(element.Success, $"no filter@32473 element in {m.StructuredData}");
        return SdParam().Matches(element.Groups[1].Value)
            .GroupBy(p => p.Groups[1].Value, p => Regex.Replace(p.Groups[2].Value, @"\\([""\\\]])", "$1"))
            .ToDictionary(g => g.Key, g => g.ToList());
    }

    private static JsonElement Syslog(JsonElement health) => health.GetProperty("audit").GetProperty("syslog");

    private static async Task<JsonElement> HealthAsync(HttpClient admin, ServiceProcess service) =>
        JsonDocument.Parse(await admin.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/health")).RootElement.Clone();

    private static async Task<JsonElement> WaitForHealthAsync(HttpClient admin, ServiceProcess service, Func<JsonElement, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var health = await HealthAsync(admin, service);
            if (done(health))
            {
                return health;
            }
            Assert.True(clock.Elapsed < Wait, $"timed out waiting for {what}; /health: {health.GetRawText()}\n{service.Output}");
            await Task.Delay(100);
        }
    }

    private static double Sample(string scrape, string series)
    {
        var m = Regex.Match(scrape, "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no sample {series} in:\n{scrape}");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^<\d{1,3}>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ school-filter \d+ (block|allow) \[filter@32473( [a-z]+=""([^""\\\]]|\\[""\\\]])*"")+\] \uFEFF\{")]
    private static partial Regex Rfc5424Header();

    [GeneratedRegex(@"\[filter@32473((?: [a-z]+=""(?:[^""\\\]]|\\[""\\\]])*"")+)\]")]
    private static partial Regex SdElement();

    [GeneratedRegex(@" ([a-z]+)=""((?:[^""\\\]]|\\[""\\\]])*)""")]
    private static partial Regex SdParam();
}
