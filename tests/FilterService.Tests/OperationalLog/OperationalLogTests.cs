using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.OperationalLog;

/// <summary>
/// Issue 20: the operational log through Serilog, with the service started as its own process exactly as deployed.
/// Log events are made on demand with refused CONNECTs (a CONNECT with a body): each is logged at Debug by
/// FilterService.Proxy.RefusalLog with event id 1205 when that category is at Debug.
/// </summary>
public sealed class OperationalLogTests
{
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(3);

    private static string[] Settings(TestOrigin? origin, params string[] extra) =>
    [
        $"--Policy:Path={Samples.DefaultDir}",
        $"--Audit:Path={TempDir.Create("audit")}",
        "--Proxy:AllowLoopbackUpstream=true",
        .. origin is null ? Array.Empty<string>() : [$"--Proxy:HostOverrides:allowed.test=127.0.0.1:{origin.HttpPort}"],
        "--Logging:LogLevel:FilterService.Proxy.RefusalLog=Debug",
        .. extra,
    ];

    [Fact]
    public async Task Issue20_Serilog_ConsoleJson_EveryStdoutLineIsAJsonEventWithItsEventIdAndCategory()
    {
        await using var service = await ServiceProcess.StartAsync(Settings(null, "--Logging:Console:Format=Json"));
        await RefusedConnectAsync(service);
        await WaitForAsync(() => Task.FromResult(service.StandardOutput.Contains("\"@i\":1205")), "the refusal's event on standard output");

        var events = service.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList(); // throws on any line that is not JSON
        Assert.All(events, e =>
        {
            Assert.True(DateTimeOffset.TryParse(e.GetProperty("@t").GetString(), out _));
            Assert.Contains(e.GetProperty("@l").GetString(), new[] { "Debug", "Information", "Warning", "Error" });
            Assert.False(string.IsNullOrEmpty(e.GetProperty("@mt").GetString()));
            Assert.False(string.IsNullOrEmpty(e.GetProperty("@m").GetString()));
            Assert.False(string.IsNullOrEmpty(e.GetProperty("SourceContext").GetString()));
        });
        // The start-up line is an event too, so a SIEM reading standard output parses every line.
        var start = Assert.Single(events, e => e.Str("@m")!.StartsWith("Proxy listening on 127.0.0.1:", StringComparison.Ordinal));
        Assert.Equal(1001, start.GetProperty("@i").GetInt32());
        Assert.Equal($"127.0.0.1:{service.ProxyPort}", start.Str("Proxy"));
        var refused = events.First(e => e.TryGetProperty("@i", out var id) && id.GetInt32() == 1205);
        Assert.Equal("Debug", refused.Str("@l"));
        Assert.Equal("FilterService.Proxy.RefusalLog", refused.Str("SourceContext"));
        Assert.Equal("Refused {Client}: {Reason}", refused.Str("@mt"));
        Assert.Equal("Refused 127.0.0.1: connect-with-body", refused.Str("@m"));
        Assert.Equal("connect-with-body", refused.Str("Reason"));
        Assert.Equal(1205, refused.GetProperty("EventId").GetProperty("Id").GetInt32());
        // A Microsoft category keeps its event id too.
        Assert.Contains(events, e => e.Str("SourceContext") == "Microsoft.Hosting.Lifetime" && e.Str("@l") == "Information");
    }

    [Fact]
    public async Task Issue20_Serilog_ConsoleText_ByDefault_OneReadableLinePerEventWithEventId()
    {
        await using var service = await ServiceProcess.StartAsync(Settings(null));
        await RefusedConnectAsync(service);
        await WaitForAsync(() => Task.FromResult(service.StandardOutput.Contains("[1205]")), "the refusal's line");
        Assert.Matches(@"(?m)^\d\d:\d\d:\d\d\.\d{3} DBG FilterService\.Proxy\.RefusalLog\[1205\] Refused 127\.0\.0\.1: connect-with-body\r?$", service.StandardOutput);
        Assert.Matches(@"(?m)^\d\d:\d\d:\d\d\.\d{3} WRN FilterService\.Notifications\.DeliveryWorker\[1520\] Alerts are OFF", service.StandardOutput);
        Assert.DoesNotContain("<6>", service.StandardOutput);
    }

    [Fact]
    public async Task Issue20_Serilog_JournalStream_AutoPrefixesEveryLineWithItsPriority_JsonToo()
    {
        var journal = new Dictionary<string, string> { ["JOURNAL_STREAM"] = "8:12345" };
        await using (var service = await ServiceProcess.StartAsync(Settings(null), journal))
        {
            await RefusedConnectAsync(service);
            await WaitForAsync(() => Task.FromResult(service.StandardOutput.Contains("[1205]")), "the refusal's line");
            var lines = service.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
            Assert.Contains("<7>DBG FilterService.Proxy.RefusalLog[1205] Refused 127.0.0.1: connect-with-body", lines);
            Assert.Contains(lines, l => l.StartsWith("<4>WRN FilterService.Notifications.DeliveryWorker[1520] Alerts are OFF", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("<6>INF Microsoft.Hosting.Lifetime", StringComparison.Ordinal));
            // Every line but the plain start-up line (not a log event in this format) has a priority.
            Assert.All(lines.Where(l => !l.StartsWith("Proxy listening on ", StringComparison.Ordinal)), l => Assert.Matches(@"^<[2-7]>", l));
        }
        await using (var service = await ServiceProcess.StartAsync(Settings(null, "--Logging:Console:Format=Json"), journal))
        {
            await RefusedConnectAsync(service);
            await WaitForAsync(() => Task.FromResult(service.StandardOutput.Contains("\"@i\":1205")), "the refusal's event");
            var lines = service.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
            Assert.All(lines, l =>
            {
                var m = Regex.Match(l, @"^<([2-7])>(\{.*\})$");
                Assert.True(m.Success, l);
                var level = JsonDocument.Parse(m.Groups[2].Value).RootElement.GetProperty("@l").GetString();
                Assert.Equal(level switch { "Debug" => "7", "Information" => "6", "Warning" => "4", "Error" => "3", _ => "2" }, m.Groups[1].Value);
            });
        }
    }

    [Fact]
    public async Task Issue20_Serilog_RollingFile_RollsAtItsSizeLimit_KeepsOnlyTheRetainedCount()
    {
        var dir = TempDir.Create("oplog");
        await using var service = await ServiceProcess.StartAsync(Settings(null,
            $"--Logging:File:Path={dir}/service-.json", "--Logging:File:FileSizeLimitBytes=2048", "--Logging:File:RetainedFileCountLimit=3"));
        using var admin = new HttpClient { Timeout = Quick };
        await WaitForAsync(async () => FileSink(await HealthAsync(admin, service)).GetProperty("written").GetInt64() > 0, "the start-up events in the file");
        await Task.Delay(500); // the start-up events settle
        long before = FileSink(await HealthAsync(admin, service)).GetProperty("written").GetInt64();
        const int Refusals = 40; // about 400 bytes each: some 8 files' worth
        for (int i = 0; i < Refusals; i++)
        {
            await RefusedConnectAsync(service);
        }
        await WaitForAsync(async () => FileSink(await HealthAsync(admin, service)).GetProperty("written").GetInt64() >= before + Refusals, "every refusal in the file");

        // Today's files; a run over midnight may have begun the next day's.
        var today = DateTime.Now;
        var days = $"({today.AddDays(-1):yyyyMMdd}|{today:yyyyMMdd})";
        var files = Directory.GetFiles(dir).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(3, files.Count);
        Assert.All(files, f => Assert.Matches($@"^service-{days}_\d{{3}}\.json$", f));
        var sequence = files.Select(f => int.Parse(f![^8..^5])).ToList();
        Assert.True(sequence[0] >= 4, "only " + sequence[0] + " rolls: " + string.Join(", ", files));
        Assert.Equal([sequence[0], sequence[0] + 1, sequence[0] + 2], sequence); // the newest three: older ones deleted
        var lines = files.SelectMany(f => File.ReadAllLines(Path.Combine(dir, f!))).ToList();
        foreach (var f in files.Take(2))
        {
            Assert.InRange(new FileInfo(Path.Combine(dir, f!)).Length, 2048, 2048 + 1024); // rolled at the limit (the last event whole)
        }
        var refusals = lines.Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("@i", out var id) && id.GetInt32() == 1205).ToList();
        Assert.InRange(refusals.Count, 5, Refusals - 1); // the last files' worth, not all 40
        Assert.All(refusals, e => Assert.Equal("Refused 127.0.0.1: connect-with-body", e.Str("@m")));

        var metrics = await admin.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/metrics");
        Assert.True(Sample(metrics, "filterservice_log_events_written_total{sink=\"file\"}") >= Refusals);
        Assert.Equal(0, Sample(metrics, "filterservice_log_sink_errors_total{sink=\"file\"}"));
        Assert.Equal(0, Sample(metrics, "filterservice_log_events_dropped_total{sink=\"file\"}"));
        Assert.Equal(1, Sample(metrics, "filterservice_log_sink_writable{sink=\"file\"}"));
    }

    [Fact]
    public async Task Issue20_Serilog_LogDirectoryNotWritableAtStart_ProxyAnswers_HealthAndMetricsSayWhy()
    {
        await using var origin = await TestOrigin.StartAsync();
        using var readOnly = ReadOnlyMount.Create();
        var path = Path.Combine(readOnly.Path, "operational", "service-.json");
        await using var service = await ServiceProcess.StartAsync(Settings(origin, $"--Logging:File:Path={path}"));
        using var http = ProxyClient(service);
        using var admin = new HttpClient { Timeout = Quick };

        for (int i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://allowed.test/hello?n={i}")).StatusCode);
            Assert.True(clock.Elapsed < Quick, $"took {clock.Elapsed}");
            await RefusedConnectAsync(service);
        }
        var health = await HealthAsync(admin, service);
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.Contains($"the operational log's file sink cannot write {path}: the target file could not be opened or created",
            health.GetProperty("problems").EnumerateArray().Select(p => p.GetString()));
        var file = FileSink(health);
        Assert.False(file.GetProperty("writable").GetBoolean());
        Assert.True(file.GetProperty("errors").GetInt64() >= 3);
        Assert.Equal(0, file.GetProperty("written").GetInt64());
        Assert.True(ConsoleSink(health).GetProperty("writable").GetBoolean());
        var metrics = await admin.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/metrics");
        Assert.Equal(0, Sample(metrics, "filterservice_log_sink_writable{sink=\"file\"}"));
        Assert.True(Sample(metrics, "filterservice_log_sink_errors_total{sink=\"file\"}") >= 3);
        Assert.Equal(1, Sample(metrics, "filterservice_log_sink_writable{sink=\"console\"}"));
        Assert.Contains("[1205]", service.StandardOutput); // the console still logs
    }

    [Fact]
    public async Task Issue20_Serilog_LogDiskFull_ProxyAnswers_HealthAndMetricsSay_ThenTheFileIsWrittenAgain()
    {
        await using var origin = await TestOrigin.StartAsync();
        using var disk = FullDisk.Mount(256);
        var path = Path.Combine(disk.Path, "service-.json");
        await using var service = await ServiceProcess.StartAsync(Settings(origin, $"--Logging:File:Path={path}"));
        using var http = ProxyClient(service);
        using var admin = new HttpClient { Timeout = Quick };
        await RefusedConnectAsync(service);
        await WaitForAsync(async () => FileSink(await HealthAsync(admin, service)).GetProperty("written").GetInt64() > 0, "the first events in the file");

        disk.Fill();
        var clock = Stopwatch.StartNew();
        JsonElement health;
        do
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the file sink never reported the full disk");
            var sent = Stopwatch.StartNew();
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("http://allowed.test/hello")).StatusCode);
            Assert.True(sent.Elapsed < Quick, $"took {sent.Elapsed}");
            // 4 KB of refusals: more than a file buffer, so a write reaches the full disk.
            for (int i = 0; i < 10; i++)
            {
                await RefusedConnectAsync(service);
            }
            health = await HealthAsync(admin, service);
        }
        while (FileSink(health).GetProperty("writable").GetBoolean());
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.Contains(health.GetProperty("problems").EnumerateArray(),
            p => p.GetString()!.StartsWith($"the operational log's file sink cannot write {path}: No space left on device", StringComparison.Ordinal));
        Assert.True(FileSink(health).GetProperty("errors").GetInt64() >= 1);
        var metrics = await admin.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/metrics");
        Assert.Equal(0, Sample(metrics, "filterservice_log_sink_writable{sink=\"file\"}"));
        Assert.True(Sample(metrics, "filterservice_log_sink_errors_total{sink=\"file\"}") >= 1);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("http://allowed.test/hello")).StatusCode);

        disk.Free();
        await WaitForAsync(async () =>
        {
            await RefusedConnectAsync(service);
            var h = await HealthAsync(admin, service);
            return FileSink(h).GetProperty("writable").GetBoolean() && h.GetProperty("status").GetString() == "ok";
        }, "the file sink to write again");
        Assert.Contains("connect-with-body", File.ReadAllText(Directory.GetFiles(disk.Path, "service-*.json").Single()));
    }

    [Fact]
    public async Task Issue20_Serilog_StalledConsole_RequestsDoNotWait_EventsAreDroppedAndCounted_ThenItCatchesUp()
    {
        await using var origin = await TestOrigin.StartAsync();
        // Standard output is a pipe whose reader passes the start-up line on and then stops reading until SIGUSR1, as
        // a journald or a terminal that has stopped reading: once the pipe is full the console sink's write blocks.
        await using var service = await ServiceProcess.StartAsync(Settings(origin, "--Logging:QueueCapacity=10"),
            launcher: ["python3", "-c", StallingReader]);
        using var http = ProxyClient(service);
        using var admin = new HttpClient { Timeout = Quick };

        // A start-up burst may already have overflowed so small a queue: count from here.
        long before = ConsoleSink(await HealthAsync(admin, service)).GetProperty("dropped").GetInt64();
        var clock = Stopwatch.StartNew();
        JsonElement console;
        int sent = 0;
        long sinkWritten = -1, sinkWrittenBefore;
        // Stalled, not just outrun: a burst can fill so small a queue while the pipe still takes bytes, and then it
        // drains. So the queue must be full and dropping, and the sink must have written nothing since the last look.
        do
        {
            sinkWrittenBefore = sinkWritten;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"the console never stalled ({sent} refusals)");
            for (int i = 0; i < 50; i++, sent++)
            {
                var one = Stopwatch.StartNew();
                await RefusedConnectAsync(service);
                Assert.True(one.Elapsed < Quick, $"a refusal took {one.Elapsed}");
            }
            console = ConsoleSink(await HealthAsync(admin, service));
            sinkWritten = console.GetProperty("written").GetInt64();
        }
        while (console.GetProperty("dropped").GetInt64() == before || console.GetProperty("queued").GetInt32() < 10 || sinkWritten != sinkWrittenBefore);
        var get = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("http://allowed.test/hello")).StatusCode);
        Assert.True(get.Elapsed < Quick, $"took {get.Elapsed}");
        console = ConsoleSink(await HealthAsync(admin, service));
        Assert.Equal(10, console.GetProperty("queueCapacity").GetInt32());
        Assert.Equal(10, console.GetProperty("queued").GetInt32());
        long dropped = console.GetProperty("dropped").GetInt64();
        var metrics = await admin.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/metrics");
        Assert.True(Sample(metrics, "filterservice_log_events_dropped_total{sink=\"console\"}") >= dropped);
        Assert.Equal(10, Sample(metrics, "filterservice_log_queued{sink=\"console\"}"));

        // The reader reads again: the sink writes what it queued by itself, then takes new events again. Nothing is
        // sent until the queue has drained: an event that arrives while it is still full is (rightly) dropped.
        Assert.Equal(0, Kill(service.ProcessId, 10 /* SIGUSR1 */));
        await WaitForAsync(async () => ConsoleSink(await HealthAsync(admin, service)).GetProperty("queued").GetInt32() == 0, "the console to catch up");
        var drained = ConsoleSink(await HealthAsync(admin, service));
        long written = drained.GetProperty("written").GetInt64(), droppedWhileStalled = drained.GetProperty("dropped").GetInt64();
        Assert.True(droppedWhileStalled >= dropped);
        await RefusedConnectAsync(service);
        await WaitForAsync(async () => ConsoleSink(await HealthAsync(admin, service)).GetProperty("written").GetInt64() > written, "a new event written");
        Assert.Equal(droppedWhileStalled, ConsoleSink(await HealthAsync(admin, service)).GetProperty("dropped").GetInt64());
    }

    /// <summary>Runs its arguments with standard output through a pipe it stops reading after the start-up line, until SIGUSR1.</summary>
    private const string StallingReader = """
        import signal, subprocess, sys, threading
        resume = threading.Event()
        signal.signal(signal.SIGUSR1, lambda *_: resume.set())
        child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
        out = sys.stdout.buffer
        for line in iter(child.stdout.readline, b""):
            out.write(line); out.flush()
            if b"Proxy listening on" in line:
                break
        while not resume.wait(0.2):
            pass
        for line in iter(child.stdout.readline, b""):
            out.write(line); out.flush()
        """;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [Fact]
    public async Task Issue20_Serilog_BadLoggingSettings_EachIsAClearErrorAndTheServiceDoesNotStart()
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var a in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "FilterService.dll"), "--Proxy:Listen=127.0.0.1:0", "--Admin:Listen=127.0.0.1:0",
            $"--Policy:Path={Samples.DefaultDir}", $"--Audit:Path={TempDir.Create("audit")}",
            "--Logging:Console:Format=Xml", "--Logging:Console:FormatterName=json", "--Logging:File:Path=/tmp/x/service-.json",
            "--Logging:File:RollingInterval=Fortnight", "--Logging:File:FileSizeLimitBytes=-5", "--Logging:File:RetainedFileCount=3",
            "--Logging:LogLevel:Default=Loud", "--Logging:EventLog:LogLevel:Default=Warning",
        })
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        Assert.Equal(2, process.ExitCode);
        var errors = (await stderr).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Contains("config: error FS0001: Logging:Console:FormatterName: unknown setting (the console is written by Serilog: Logging:Console:Format is Auto, Text, Journal or Json)", errors);
        Assert.Contains("config: error FS0001: Logging:File:RetainedFileCount: unknown setting", errors);
        Assert.Contains("config: error FS0001: Logging:Console:Format: 'Xml' is not one of Auto, Text, Journal, Json", errors);
        Assert.Contains("config: error FS0001: Logging:File:RollingInterval: 'Fortnight' is not one of Infinite, Year, Month, Day, Hour, Minute", errors);
        Assert.Contains("config: error FS0001: Logging:File:FileSizeLimitBytes: '-5' is not a whole number from 0 to 1099511627776", errors);
        Assert.Contains("config: error FS0001: Logging:LogLevel:Default: 'Loud' is not a log level (Trace, Debug, Information, Warning, Error, Critical, None)", errors);
        Assert.Contains("The service did not start: 6 problem(s).", errors);
        Assert.DoesNotContain("Proxy listening", await stdout);
    }

    /// <summary>A CONNECT with a body: refused with 400 (connect-with-body) and logged (1205) at Debug.</summary>
    private static async Task RefusedConnectAsync(ServiceProcess service)
    {
        await using var raw = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, service.ProxyPort));
        await raw.SendAsync("CONNECT mail.test:443 HTTP/1.1\r\nHost: mail.test:443\r\nContent-Length: 5\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400 ", await raw.ReadHeadAsync(Quick));
    }

    private static JsonElement FileSink(JsonElement health) => Sink(health, "file");

    private static JsonElement ConsoleSink(JsonElement health) => Sink(health, "console");

    private static JsonElement Sink(JsonElement health, string name) =>
        health.GetProperty("operationalLog").GetProperty("sinks").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);

    private static HttpClient ProxyClient(ServiceProcess service) => new(new SocketsHttpHandler
    {
        Proxy = new WebProxy(service.Proxy) { BypassProxyOnLocal = false },
        UseProxy = true,
        AllowAutoRedirect = false,
        UseCookies = false,
    }) { Timeout = TimeSpan.FromSeconds(10) };

    private static async Task<JsonElement> HealthAsync(HttpClient admin, ServiceProcess service)
    {
        var text = await admin.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/health");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The value of one sample line of a scrape (the series name with its labels, exactly).</summary>
    private static double Sample(string scrape, string series)
    {
        var m = Regex.Match(scrape, "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no sample {series} in:\n{scrape}");
        return double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"timed out waiting for {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// A read-only file system (a tmpfs mounted ro; needs root, as the CI container runs): not writable even for
    /// root, as /var/log is to a service under ProtectSystem=strict without ReadWritePaths. Unmounted on dispose.
    /// </summary>
    private sealed class ReadOnlyMount : IDisposable
    {
        private ReadOnlyMount(string path) => Path = path;

        public string Path { get; }

        public static ReadOnlyMount Create()
        {
            var dir = TempDir.Create("readonly");
            using var mount = Process.Start(new ProcessStartInfo("/bin/mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", dir])
            {
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            var error = mount.StandardError.ReadToEnd();
            Assert.True(mount.WaitForExit(10_000) && mount.ExitCode == 0, "cannot mount a read-only tmpfs (these tests need root): " + error);
            return new ReadOnlyMount(dir);
        }

        public void Dispose()
        {
            using var umount = Process.Start("/bin/umount", ["-l", Path]);
            umount.WaitForExit(10_000);
        }
    }
}
