using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Audit;

/// <summary>
/// Issue 15 item 14 through the service started as its own process, exactly as deployed: an audit disk that fills
/// up (a real tmpfs) and an audit writer that stalls (a FIFO nobody reads). Every request and CONNECT is answered at
/// once, refused with 503 while the log cannot take records; /health and /metrics answer and say so; open tunnels
/// keep going; once the log can be written again traffic flows and every record queued meanwhile is in the file.
/// </summary>
public sealed class AuditUnavailableTests
{
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(3);

    private static string[] Settings(string policy, string auditPath, TestOrigin origin, params string[] extra) =>
    [
        $"--Policy:Path={policy}",
        $"--Audit:Path={auditPath}",
        "--Proxy:AllowLoopbackUpstream=true",
        $"--Proxy:HostOverrides:allowed.test=127.0.0.1:{origin.HttpPort}",
        $"--Proxy:HostOverrides:secure.test=127.0.0.1:{origin.HttpsPort}",
        "--Logging:LogLevel:Default=Warning",
        // The console's database and decision index on their own disk: these tests fill a 256 KB audit disk on purpose
        // (docs/console.md: keep Console:DataPath off the audit log's disk).
        $"--Console:DataPath={TempDir.Create("console")}",
        .. extra,
    ];

    [Fact]
    public async Task Item14_AuditDiskFull_RequestsAndConnectsAreRefusedAtOnce_AdminAnswers_ThenTrafficFlowsAndNoRecordIsLost()
    {
        await using var origin = await TestOrigin.StartAsync();
        using var disk = FullDisk.Mount(256);
        var logs = Path.Combine(disk.Path, "logs");
        await using var service = await ServiceProcess.StartAsync(Settings(Samples.CopyDefault(), logs, origin));
        using var http = ProxyClient(service);
        var seen = new Dictionary<string, int>(); // URL -> status the client saw: each must have its one record

        async Task<int> GetAsync(int n)
        {
            var url = $"http://allowed.test/hello?n={n}";
            var (status, body, took) = await TimedGetAsync(http, url);
            Assert.True(took < Quick, $"{url} took {took}");
            Assert.True(status is 200 or 503, $"{url}: {status}");
            if (status == 503)
            {
                Assert.Contains("cannot write its audit log", body);
            }
            seen[url] = status;
            return status;
        }

        Assert.Equal(200, await GetAsync(0));
        await WaitForAsync(() => Task.FromResult(ReadRecords(logs).Count == 1), "the first record on disk");

        disk.Fill();
        // The writer finds out at its next write (within about a second); until then requests are served and queued.
        int next = 1;
        var clock = Stopwatch.StartNew();
        while (await GetAsync(next++) != 503)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the service never refused while its audit disk was full");
            await Task.Delay(50);
        }
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(503, await GetAsync(next++));
        }
        for (int i = 0; i < 3; i++)
        {
            Assert.StartsWith("HTTP/1.1 503 ", await ConnectAsync(service, "secure.test:443"));
        }

        using var admin = new HttpClient { Timeout = Quick };
        var health = await HealthAsync(admin, service);
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        var audit = health.GetProperty("audit");
        Assert.False(audit.GetProperty("accepting").GetBoolean());
        Assert.False(audit.GetProperty("writable").GetBoolean());
        Assert.Equal("Refuse", audit.GetProperty("onWriteFailure").GetString());
        Assert.True(audit.GetProperty("writeErrors").GetInt64() >= 1);
        Assert.True(audit.GetProperty("backlogRecords").GetInt64() >= 1);
        Assert.True(audit.GetProperty("backlogBytes").GetInt64() > 0);
        Assert.True(audit.GetProperty("refusedRequests").GetInt64() >= 9);
        Assert.Equal(0, audit.GetProperty("droppedRecords").GetInt64());
        var metrics = await admin.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/metrics");
        Assert.Equal(0, Sample(metrics, "filterservice_audit_writable{file=\"json\"}"));
        Assert.Equal(0, Sample(metrics, "filterservice_audit_accepting"));
        Assert.True(Sample(metrics, "filterservice_audit_write_errors_total{file=\"json\"}") >= 1);
        Assert.True(Sample(metrics, "filterservice_audit_backlog_bytes{file=\"json\"}") > 0);
        Assert.True(Sample(metrics, "filterservice_audit_backlog_records{file=\"json\"}") >= 1);
        Assert.Equal(0, Sample(metrics, "filterservice_audit_records_dropped_total{file=\"json\"}"));
        Assert.True(Sample(metrics, "filterservice_audit_refused_requests_total") >= 9);

        disk.Free();
        await WaitForAsync(async () => (await HealthAsync(admin, service)).GetProperty("audit").GetProperty("accepting").GetBoolean(),
            "the audit log to accept records again");
        Assert.Equal(200, await GetAsync(next++));
        Assert.StartsWith("HTTP/1.1 200 ", await ConnectAsync(service, "secure.test:443"));

        // Every request the clients saw answered has its one record, with the status they saw; the refused CONNECTs too.
        await WaitForAsync(() => Task.FromResult(ReadRecords(logs).Count(r => r.Str("method") == "CONNECT") == 4 &&
            seen.Keys.All(url => ReadRecords(logs).Any(r => r.Str("url") == url))), "every record on disk");
        var records = ReadRecords(logs);
        foreach (var (url, status) in seen)
        {
            var record = Assert.Single(records, r => r.Str("url") == url);
            Assert.Equal(status, record.Int("status"));
            Assert.Equal(status == 503 ? "block" : "allow", record.Str("action"));
            if (status == 503)
            {
                Assert.Equal("audit-unavailable", record.Str("rule"));
            }
        }
        Assert.Equal(3, records.Count(r => r.Str("method") == "CONNECT" && r.Str("rule") == "audit-unavailable" && r.Int("status") == 503));
        Assert.Equal(0, (await HealthAsync(admin, service)).GetProperty("audit").GetProperty("backlogRecords").GetInt64());
    }

    [Fact]
    public async Task Item14_StalledAuditWriter_FullBacklogRefusesAtOnce_OpenTunnelsAndAdminKeepGoing_ThenEveryRecordIsWritten()
    {
        await using var origin = await TestOrigin.StartAsync();
        var logs = TempDir.Create("auditstall");
        // The day file is a FIFO that nobody reads: the pipe takes 64 KB, then the writer's next write blocks, as on a
        // hung disk. Only today's is drained below, so the test keeps clear of a midnight (it takes well under 3 minutes).
        await DayBoundary.AwayFromMidnightAsync(TimeSpan.FromMinutes(3));
        var fifo = Path.Combine(logs, $"audit-{DateTime.Now:yyyyMMdd}.json");
        MakeFifo(fifo);
        // Filled before the service starts, so its first write blocks: 64 KB, a pipe's capacity, of lines a reader can
        // tell apart. Held open to the end, as a pipe's contents go when its last end closes.
        using var filler = new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        var fillerLine = "{\"filler\":\"" + new string('f', 50) + "\"}\n"; // 64 bytes
        filler.Write(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(fillerLine, 1024))));
        await using var service = await ServiceProcess.StartAsync(Settings(Samples.CopyDefault(), logs, origin, "--Audit:MaxBacklogBytes=65536"));
        using var http = ProxyClient(service);
        using var tunnelA = ProxyClient(service);
        using var tunnelB = ProxyClient(service);
        Assert.Equal(HttpStatusCode.OK, (await tunnelA.GetAsync("https://secure.test/hello")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tunnelB.GetAsync("https://secure.test/hello")).StatusCode);

        var served = new List<string>();
        var refused = new List<string>();
        var clock = Stopwatch.StartNew();
        for (int n = 0; refused.Count < 5; n++)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the service never refused with its audit writer stalled ({n} requests)");
            var url = $"http://allowed.test/hello?n={n}";
            var (status, _, took) = await TimedGetAsync(http, url);
            Assert.True(took < Quick, $"{url} took {took}");
            (status == 200 ? served : status == 503 ? refused : throw new Xunit.Sdk.XunitException($"{url}: {status}")).Add(url);
            if (refused.Count > 0)
            {
                Assert.Equal(503, status); // once full, every one is refused until the writer catches up
            }
        }
        Assert.StartsWith("HTTP/1.1 503 ", await ConnectAsync(service, "secure.test:443"));

        // A tunnel that ends is recorded on the tunnel loop's thread; the tunnels still open must not notice.
        tunnelB.Dispose();
        for (int i = 0; i < 3; i++)
        {
            var sent = Stopwatch.StartNew();
            Assert.Equal(HttpStatusCode.OK, (await tunnelA.GetAsync("https://secure.test/hello")).StatusCode);
            Assert.True(sent.Elapsed < Quick);
        }
        using var admin = new HttpClient { Timeout = Quick };
        var audit = (await HealthAsync(admin, service)).GetProperty("audit");
        Assert.False(audit.GetProperty("accepting").GetBoolean());
        Assert.True(audit.GetProperty("backlogBytes").GetInt64() >= 65536);
        // Past the bound even refusals find no room: they are dropped and counted (never silently); what was
        // decided (the tunnel that ended) had the reserve.
        long dropped = audit.GetProperty("droppedRecords").GetInt64();
        Assert.Equal(refused.Count + 1, audit.GetProperty("refusedRequests").GetInt64());
        var metrics = await admin.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/metrics");
        Assert.True(Sample(metrics, "filterservice_audit_backlog_bytes{file=\"json\"}") >= 65536);

        // Someone reads the FIFO: the writer catches up by itself and traffic flows again.
        var drained = new StringBuilder();
        var reader = new Thread(() =>
        {
            try
            {
                using var pipe = new FileStream(fifo, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
                var buffer = new byte[64 * 1024];
                int n;
                while ((n = pipe.Read(buffer)) > 0) // ends when the service exits
                {
                    lock (drained)
                    {
                        drained.Append(Encoding.UTF8.GetString(buffer, 0, n));
                    }
                }
            }
            catch (IOException)
            {
                // The assertions below say what is missing.
            }
        }) { IsBackground = true };
        reader.Start();
        await WaitForAsync(async () => (await HealthAsync(admin, service)).GetProperty("audit").GetProperty("accepting").GetBoolean(),
            "the audit log to accept records again");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("http://allowed.test/hello?after=1")).StatusCode);
        tunnelA.Dispose();

        List<JsonElement> Records()
        {
            lock (drained)
            {
                var text = drained.ToString();
                return text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Select(l => JsonDocument.Parse(l).RootElement.Clone()).Where(r => !r.TryGetProperty("filler", out _)).ToList();
            }
        }
        await WaitForAsync(() => Task.FromResult(Records().Count(r => r.Str("method") == "CONNECT" && r.Int("status") == 200) == 2
            && Records().Any(r => r.Str("url") == "http://allowed.test/hello?after=1")), "every record through the FIFO");
        var records = Records();
        lock (drained)
        {
            Assert.StartsWith(string.Concat(Enumerable.Repeat(fillerLine, 1024)) + "{\"time\"", drained.ToString());
        }
        Assert.All(served, url => Assert.Equal(200, Assert.Single(records, r => r.Str("url") == url).Int("status")));
        var refusedRecords = records.Where(r => r.Str("rule") == "audit-unavailable").ToList();
        Assert.Equal(refused.Count + 1, refusedRecords.Count + dropped);
        Assert.All(refusedRecords, r => Assert.Contains(r.Str("url"), refused.Append("secure.test:443")));
        Assert.Equal(2, records.Count(r => r.Str("method") == "CONNECT" && r.Int("status") == 200)); // A and B, whole
    }

    [Fact]
    public async Task Item14_AllowAndCount_ServesWhileTheAuditDiskFails_CountsWhatFindsNoRoom_AndWritesTheRestOnRecovery()
    {
        await using var origin = await TestOrigin.StartAsync();
        var logs = TempDir.Create("auditallow");
        // Every write fails with ENOSPC; the next day's file too, for a run over midnight.
        var days = new[] { DateTime.Now, DateTime.Now.AddDays(1) }.Select(d => Path.Combine(logs, $"audit-{d:yyyyMMdd}.json")).ToArray();
        foreach (var day in days)
        {
            File.CreateSymbolicLink(day, "/dev/full");
        }
        await using var service = await ServiceProcess.StartAsync(Settings(Samples.CopyDefault(), logs, origin,
            "--Audit:OnWriteFailure=AllowAndCount", "--Audit:MaxBacklogBytes=65536"));
        using var http = ProxyClient(service);
        using var admin = new HttpClient { Timeout = Quick };

        // 400 requests of about 300 bytes of record each: past the bound and its reserve, yet every one is served.
        const int count = 400;
        for (int n = 0; n < count; n++)
        {
            var (status, _, took) = await TimedGetAsync(http, $"http://allowed.test/hello?n={n}");
            Assert.Equal(200, status);
            Assert.True(took < Quick, $"request {n} took {took}");
        }
        var health = await HealthAsync(admin, service);
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        var audit = health.GetProperty("audit");
        Assert.True(audit.GetProperty("accepting").GetBoolean());
        Assert.False(audit.GetProperty("writable").GetBoolean());
        Assert.Equal("AllowAndCount", audit.GetProperty("onWriteFailure").GetString());
        Assert.True(audit.GetProperty("writeErrors").GetInt64() >= 1);
        long dropped = audit.GetProperty("droppedRecords").GetInt64();
        Assert.InRange(dropped, 1, count - 1);
        var metrics = await admin.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/metrics");
        Assert.Equal(dropped, Sample(metrics, "filterservice_audit_records_dropped_total{file=\"json\"}"));
        Assert.Equal(1, Sample(metrics, "filterservice_audit_accepting"));

        foreach (var day in days)
        {
            File.Delete(day);
        }
        await WaitForAsync(async () => (await HealthAsync(admin, service)).GetProperty("audit") is var a
            && a.GetProperty("writable").GetBoolean() && a.GetProperty("backlogRecords").GetInt64() == 0, "the backlog to be written");
        var urls = ReadRecords(logs).Select(r => r.Str("url")).ToList();
        Assert.Equal(count - dropped, urls.Count);
        Assert.Equal(urls.Count, urls.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, count - (int)dropped).Select(n => $"http://allowed.test/hello?n={n}"), urls); // the first ones, in order
    }

    [Fact]
    public void Item14_AuditSettings_AreValidated()
    {
        var app = FilterService.Hosting.ProxyHost.Build(
            ["--Audit:OnWriteFailure=Sometimes", "--Audit:MaxBacklogBytes=1000", "--Audit:FlushInterval=00:00:00.001", $"--Policy:Path={Samples.DefaultDir}"], null, out var errors);
        Assert.Null(app);
        Assert.Contains("config: error FS0001: Audit:OnWriteFailure: 'Sometimes' is not a valid value (Refuse, AllowAndCount)", errors);
        Assert.Contains("config: error FS0001: Audit:MaxBacklogBytes: 1000 is outside 65536-4294967296", errors);
        Assert.Contains("config: error FS0001: Audit:FlushInterval: 00:00:00.0010000 is outside 00:00:00.010-00:01:00", errors);
    }

    private static HttpClient ProxyClient(ServiceProcess service) => new(new SocketsHttpHandler
    {
        Proxy = new WebProxy(service.Proxy) { BypassProxyOnLocal = false },
        UseProxy = true,
        AllowAutoRedirect = false,
        UseCookies = false,
        MaxConnectionsPerServer = 1,
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    }) { Timeout = TimeSpan.FromSeconds(10) };

    private static async Task<(int Status, string Body, TimeSpan Took)> TimedGetAsync(HttpClient http, string url)
    {
        var clock = Stopwatch.StartNew();
        using var response = await http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, body, clock.Elapsed);
    }

    /// <summary>A CONNECT on a new connection; the response head, which must come within <see cref="Quick"/>.</summary>
    private static async Task<string> ConnectAsync(ServiceProcess service, string authority)
    {
        await using var raw = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, service.ProxyPort));
        var clock = Stopwatch.StartNew();
        await raw.SendAsync($"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
        var head = await raw.ReadHeadAsync(Quick);
        Assert.True(clock.Elapsed < Quick, $"CONNECT took {clock.Elapsed}");
        if (head.StartsWith("HTTP/1.1 200 "))
        {
            // A tunnel must carry TLS: say hello properly and leave, so it is recorded as a whole tunnel.
            using var tls = new System.Net.Security.SslStream(raw.Stream, leaveInnerStreamOpen: true, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = authority.Split(':')[0] })
                .WaitAsync(Quick);
        }
        return head;
    }

    private static async Task<JsonElement> HealthAsync(HttpClient admin, ServiceProcess service)
    {
        var clock = Stopwatch.StartNew();
        var text = await admin.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/health");
        Assert.True(clock.Elapsed < Quick, $"/health took {clock.Elapsed}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The value of one sample line of a scrape (the series name with its labels, exactly).</summary>
    private static double Sample(string scrape, string series)
    {
        var m = Regex.Match(scrape, "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no sample {series} in:\n{scrape}");
        return double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static List<JsonElement> ReadRecords(string logs) => Directory.Exists(logs) ? AuditFiles.Read(logs) : [];

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"timed out waiting for {what}");
            await Task.Delay(100);
        }
    }

    private static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start("mkfifo", [path]);
        Assert.True(mkfifo.WaitForExit(10_000) && mkfifo.ExitCode == 0, $"mkfifo {path} failed");
    }
}
