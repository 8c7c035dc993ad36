using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;

namespace FilterService.Benchmarks;

/// <summary>
/// <c>build-stats</c>: build time (median of several runs) and resident bytes per domain of the three
/// implementations on the 1.4M list, plus the machine's DRAM latency from a pointer chase, as a markdown table.
/// Resident size is the GC heap growth (after full collections) from reading the domains to holding only the
/// built structure: the sets keep the domain strings, the matcher keeps only 48 bits of each name's hash.
/// </summary>
internal static class BuildStats
{
    private const int Runs = 5;

    public static int Run(string[] args)
    {
        string? outPath = args.Length > 1 ? args[1] : null;
        var report = new StringBuilder();
        report.AppendLine("| implementation | build, median of 5 (s) | build CPU time, median (s) | Build() alone (s) | resident bytes | bytes per domain |");
        report.AppendLine("|---|---|---|---|---|---|");

        string[] domains = BenchData.Domains();
        int n = domains.Length;

        var matcherTimes = new List<double>();
        var matcherCpu = new List<double>();
        var buildOnlyTimes = new List<double>();
        for (int r = 0; r < Runs; r++)
        {
            Collect();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var total = Stopwatch.StartNew();
            var builder = new PolicyModel.Matching.DomainMatcherBuilder();
            int id = builder.AddList("domains-1m", 0);
            for (int i = 0; i < n; i++)
                builder.Add(id, new PolicyModel.Matching.ListEntry(PolicyModel.Matching.EntryKind.Subtree, domains[i], i + 1));
            var buildOnly = Stopwatch.StartNew();
            var matcher = builder.Build();
            buildOnly.Stop();
            total.Stop();
            GC.KeepAlive(matcher);
            matcherTimes.Add(total.Elapsed.TotalSeconds);
            matcherCpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
            buildOnlyTimes.Add(buildOnly.Elapsed.TotalSeconds);
        }
        PolicyModel.Matching.HugePageArrays.Enabled = false;
        var matcher4k = Time(() => Implementations.BuildMatcher(domains));
        PolicyModel.Matching.HugePageArrays.Enabled = true;
        var hashTimes = Time(() => Implementations.BuildHashSet(domains));
        var frozenTimes = Time(() => Implementations.BuildFrozenSet(domains));
        domains = null!;

        var (matcherBytes, matcherTable) = Resident(d =>
        {
            var m = Implementations.BuildMatcher(d);
            return (m, m.DomainTableBytes);
        });
        var (hashBytes, _) = Resident(d => ((object)Implementations.BuildHashSet(d), 0L));
        var (frozenBytes, _) = Resident(d => ((object)Implementations.BuildFrozenSet(d), 0L));

        report.AppendLine(Row("HashSet<string>", hashTimes, null, hashBytes, n));
        report.AppendLine(Row("FrozenSet<string>", frozenTimes, null, frozenBytes, n));
        report.AppendLine(Row("DomainMatcher (Add + Build)", (matcherTimes, matcherCpu), buildOnlyTimes, matcherBytes, n));
        report.AppendLine(Row("DomainMatcher, 4 KB pages (Add + Build)", matcher4k, null, matcherBytes, n));
        report.AppendLine();
        report.AppendLine($"DomainMatcher table alone (fingerprints, block bases, records): {matcherTable:N0} bytes = {(double)matcherTable / n:F1} bytes per domain; {n:N0} domains.");

        string plain = Path.Combine(Path.GetTempPath(), $"domains-1m-{Environment.ProcessId}.txt");
        File.WriteAllLines(plain, BenchData.Domains());
        var readTimes = Time(() => PolicyModel.Matching.ListReader.Read(plain, "domains-1m.txt"));
        var parsed = PolicyModel.Matching.ListReader.Read(plain, "domains-1m.txt");
        File.Delete(plain);
        report.AppendLine();
        report.AppendLine($"ListReader.Read of the list as a plain {n:N0}-line file (format sniffed: {parsed.Format}, " +
            $"{parsed.Entries.Count:N0} entries, {parsed.SkippedLines} skipped): median {Median(readTimes.Item1):F3} s wall, {Median(readTimes.Item2):F3} s CPU.");

        var (queries, _) = BenchData.Queries();
        double labels = queries.Average(q => q.Count(c => c == '.') + 1);
        report.AppendLine();
        report.AppendLine($"Queries: {labels:F2} labels on average (one probe per suffix whose label count some entry has; no entry has one label, so {labels - 1:F2} probes).");
        report.AppendLine();
        report.AppendLine("Random-access latency (a chain of dependent loads at random addresses; best of 3):");
        report.AppendLine();
        report.AppendLine("| working set | 4 KB pages, ns per load | 2 MB pages (HugePageArrays), ns per load |");
        report.AppendLine("|---|---|---|");
        foreach (int mb in new[] { 4, 32, 512 })
            report.AppendLine($"| {mb} MB | {LatencyNs(mb, huge: false):F1} | {LatencyNs(mb, huge: true):F1} |");

        string text = report.ToString();
        Console.WriteLine(text);
        if (outPath is not null)
            File.WriteAllText(outPath, text);
        return 0;
    }

    private static string Row(string name, (List<double> Wall, List<double> Cpu) times, List<double>? buildOnly, long bytes, int n) =>
        $"| {name} | {Median(times.Wall):F3} | {Median(times.Cpu):F3} | {(buildOnly is null ? "-" : Median(buildOnly).ToString("F3"))} | {bytes:N0} | {(double)bytes / n:F1} |";

    private static (List<double>, List<double>) Time(Func<object> build)
    {
        var times = new List<double>();
        var cpuTimes = new List<double>();
        for (int r = 0; r < Runs; r++)
        {
            Collect();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            object built = build();
            sw.Stop();
            GC.KeepAlive(built);
            times.Add(sw.Elapsed.TotalSeconds);
            cpuTimes.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
        }
        return (times, cpuTimes);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (long Bytes, long Extra) Resident(Func<string[], (object Built, long Extra)> build)
    {
        Collect();
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var (built, extra) = BuildFromFreshStrings(build);
        Collect();
        long after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(built);
        return (after - before, extra);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (object, long) BuildFromFreshStrings(Func<string[], (object, long)> build) => build(BenchData.Domains());

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static void Collect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>Average latency of a chain of dependent loads at random addresses in an array far larger than the caches.</summary>
    private static double LatencyNs(int megabytes, bool huge) =>
        Enumerable.Range(0, 3).Min(_ => DramLatencyNs(megabytes, huge));

    private static double DramLatencyNs(int megabytes, bool huge)
    {
        int size = megabytes << 18; // ints
        PolicyModel.Matching.HugePageArrays.Enabled = huge;
        var next = PolicyModel.Matching.HugePageArrays.Allocate<int>(size);
        PolicyModel.Matching.HugePageArrays.Enabled = true;
        for (int i = 0; i < size; i++)
            next[i] = i;
        var rng = new Random(20261121);
        for (int i = size - 1; i > 0; i--) // Sattolo: one cycle through every element
        {
            int j = rng.Next(i);
            (next[i], next[j]) = (next[j], next[i]);
        }
        const int steps = 2_000_000;
        int p = 0;
        for (int i = 0; i < 200_000; i++)
            p = next[p];
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++)
            p = next[p];
        sw.Stop();
        GC.KeepAlive(p);
        return sw.Elapsed.TotalNanoseconds / steps;
    }
}
