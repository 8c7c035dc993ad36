using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime;
using FilterService.Telemetry;
using Prometheus;

// dotnet run -c Release --project bench/MetricsBench -p:WithOldExporter=true -- [requests per round] [rounds]
// Each round times every exposition in turn (interleaved, for a shared machine); min and median per round are printed.
int requests = args.Length > 0 ? int.Parse(args[0]) : 200_000;
int rounds = args.Length > 1 ? int.Parse(args[1]) : 7;
const int Scrapes = 50;

var candidates = new List<(string Name, Func<IMeterFactory, Candidate> Create)>
{
    ("no listener (instrument cost only)", f => new Candidate(null, null)),
#if OLD_EXPORTER
    ("hand-written exporter (7fbe34d)", f => { var e = new PrometheusExporter(f); return new Candidate(e, () => Task.FromResult(e.Scrape())); }),
#endif
    ("PrometheusBridge (prometheus-net 8.2.1)", f => { var b = new PrometheusBridge(f); return new Candidate(b, b.ScrapeTextAsync); }),
    ("prometheus-net MeterAdapter", f =>
    {
        var registry = Metrics.NewCustomRegistry();
        var adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = registry,
            // Without its own factory the adapter writes into prometheus-net's static default registry, whatever Registry says.
            MetricFactory = Metrics.WithCustomRegistry(registry),
            ResolveHistogramBuckets = i => PrometheusNames.FamilyOf(i)?.Buckets ?? MeterAdapterOptions.DefaultHistogramBuckets,
            InstrumentFilterPredicate = i => ReferenceEquals(i.Meter.Scope, f) || i.Meter.Name == "System.Runtime",
        });
        return new Candidate(adapter, async () =>
        {
            using var s = new MemoryStream();
            await registry.CollectAndExportAsTextAsync(s);
            return System.Text.Encoding.UTF8.GetString(s.ToArray());
        });
    }),
};

Console.WriteLine($"# {requests:N0} simulated requests (7 measurements each) per round, {Scrapes} scrapes per round, {rounds} rounds");
Console.WriteLine($"# {Environment.ProcessorCount} CPUs, .NET {Environment.Version}, server GC {GCSettings.IsServerGC}, load {File.ReadAllText("/proc/loadavg").Trim()}");
var record = candidates.ToDictionary(c => c.Name, _ => new List<double>());
var recordThreads = candidates.ToDictionary(c => c.Name, _ => new List<double>());
var alloc = candidates.ToDictionary(c => c.Name, _ => 0.0);
var scrape = candidates.ToDictionary(c => c.Name, _ => new List<double>());
var size = candidates.ToDictionary(c => c.Name, _ => 0);
for (int round = 0; round < rounds; round++)
{
    foreach (var (name, create) in candidates)
    {
        using var factory = new Factory();
        var workload = new Workload(factory);
        using var candidate = create(factory);
        workload.Run(20_000, 0); // warm-up: every series exists, code jitted
        GC.Collect();
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        // CPU time of the recording thread, not wall time: on a shared machine the thread is often descheduled.
        double cpu = Cpu.ThreadNanoseconds();
        workload.Run(requests, 1);
        record[name].Add((Cpu.ThreadNanoseconds() - cpu) / requests);
        alloc[name] = (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / requests;

        // Two threads record at once (the machine has two cores): contention on shared series; process CPU time.
        var process = Process.GetCurrentProcess();
        var before = process.TotalProcessorTime;
        var threads = new Thread[2];
        for (int t = 0; t < 2; t++)
        {
            int seed = 2 + t;
            threads[t] = new Thread(() => workload.Run(requests / 2, seed));
            threads[t].Start();
        }
        foreach (var t in threads)
        {
            t.Join();
        }
        process.Refresh();
        recordThreads[name].Add((process.TotalProcessorTime - before).TotalNanoseconds / requests);

        if (candidate.Scrape is { } s)
        {
            size[name] = (await s()).Length;
            cpu = Cpu.ThreadNanoseconds();
            for (int i = 0; i < Scrapes; i++)
            {
                s().GetAwaiter().GetResult(); // synchronous here, so the thread's CPU time is the scrape's
            }
            scrape[name].Add((Cpu.ThreadNanoseconds() - cpu) / 1000 / Scrapes);
        }
    }
}
static string Stat(List<double> xs, string unit) => xs.Count == 0 ? "-" : $"{xs.Min(),8:F1} {unit} / {xs.Order().ElementAt(xs.Count / 2),8:F1} {unit}";
Console.WriteLine();
Console.WriteLine("CPU time per simulated request (7 measurements) and per scrape; min / median of the rounds.");
Console.WriteLine();
Console.WriteLine("| exposition | record, 1 thread | record, 2 threads at once (process CPU) | allocated per request | scrape | scrape size |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
foreach (var (name, _) in candidates)
{
    Console.WriteLine($"| {name} | {Stat(record[name], "ns")} | {Stat(recordThreads[name], "ns")} | {alloc[name]:F0} B | {Stat(scrape[name], "µs")} | {(size[name] == 0 ? "-" : $"{size[name]:N0} B")} |");
}
return 0;

static class Cpu
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec value);

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>CLOCK_THREAD_CPUTIME_ID (Linux).</summary>
    public static double ThreadNanoseconds() => ClockGetTime(3, out var t) == 0 ? t.Seconds * 1e9 + t.Nanoseconds : throw new InvalidOperationException("clock_gettime");
}

sealed record Candidate(IDisposable? Exposition, Func<Task<string>>? Scrape) : IDisposable
{
    public void Dispose() => Exposition?.Dispose();
}

/// <summary>Meters scoped to this factory, as the host's IMeterFactory makes them.</summary>
sealed class Factory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
        lock (_meters)
        {
            _meters.Add(meter);
        }
        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(m => m.Dispose());
        }
    }
}

/// <summary>
/// What FilterMetrics records for one finished request (Telemetry/FilterMetrics.cs: Count, RecordDecisionTime,
/// RecordUpstreamTime): seven measurements with the service's instruments, tags and buckets, over a realistic mix
/// of 48 requests-counter series; plus the per-list observable gauges a scrape reads.
/// </summary>
sealed class Workload
{
    private readonly Counter<long> _requests, _responses, _bytes;
    private readonly Histogram<double> _requestDuration, _decisionDuration, _upstreamDuration;
    private static readonly string[] Categories = ["none", "social", "games", "circumvention"];
    private static readonly string[] Roles = ["pupil", "staff", "none"];
    private static readonly string[] Actions = ["allow", "block"];
    private static readonly string[] Kinds = ["http", "connect"];

    public Workload(IMeterFactory factory)
    {
        var meter = factory.Create(new MeterOptions("FilterService"));
        _requests = meter.CreateCounter<long>("filterservice.requests", "{request}", "Finished proxy requests.");
        _responses = meter.CreateCounter<long>("filterservice.responses", "{response}", "Responses.");
        _bytes = meter.CreateCounter<long>("filterservice.transferred", "By", "Bytes carried.");
        _requestDuration = meter.CreateHistogram("filterservice.request.duration", "s", "Request time.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800] });
        _decisionDuration = meter.CreateHistogram("filterservice.decision.duration", "s", "Decision time.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1] });
        _upstreamDuration = meter.CreateHistogram("filterservice.upstream.duration", "s", "Upstream time.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        string[] lists = ["lists/ut1-doh", "lists/ut1-vpn", "lists/circumvention-extra.txt", "lists/sinfonietta-social.hosts", "lists/social-extra.txt", "lists/terrorism.sha256"];
        meter.CreateObservableGauge("filterservice.list.entries", () => lists.Select((l, i) => new Measurement<long>(1000 * i, new TagList
        {
            { "category", Categories[i % Categories.Length] }, { "list", l }, { "statutory", i == 5 ? "true" : "false" },
        })), "{entry}", "Entries per list.");
    }

    public void Run(int count, int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            string kind = Kinds[i & 1];
            var tags = new TagList
            {
                { "kind", kind },
                { "action", Actions[(i >> 1) & 1] },
                { "category", Categories[random.Next(Categories.Length)] },
                { "role", Roles[random.Next(Roles.Length)] },
                { "network", "school" },
            };
            _decisionDuration.Record(0.00002 + random.NextDouble() * 0.0001);
            _upstreamDuration.Record(random.NextDouble() * 0.2, new KeyValuePair<string, object?>("kind", kind));
            _requests.Add(1, tags);
            _responses.Add(1, new TagList { { "kind", kind }, { "code_class", "2xx" } });
            _requestDuration.Record(random.NextDouble() * 2, new KeyValuePair<string, object?>("kind", kind));
            _bytes.Add(500, new TagList { { "kind", kind }, { "direction", "from_client" } });
            _bytes.Add(20_000, new TagList { { "kind", kind }, { "direction", "to_client" } });
        }
    }
}
