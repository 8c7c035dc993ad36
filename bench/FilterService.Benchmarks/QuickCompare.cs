using System.Diagnostics;

namespace FilterService.Benchmarks;

/// <summary>
/// <c>quick [rounds]</c>: a fast interleaved comparison for development on a busy machine. Each round times every
/// implementation over all 100k queries; the minimum per implementation is the least disturbed figure.
/// BenchmarkDotNet remains the reference for published numbers.
/// </summary>
internal static class QuickCompare
{
    public static int Run(string[] args)
    {
        int rounds = args.Length > 1 ? int.Parse(args[1]) : 10;
        string[] domains = BenchData.Domains();
        var (queries, expected) = BenchData.Queries();
        var hashSet = Implementations.BuildHashSet(domains);
        var frozen = Implementations.BuildFrozenSet(domains).GetAlternateLookup<ReadOnlySpan<char>>();
        var matcher = Implementations.BuildMatcher(domains);
        PolicyModel.Matching.HugePageArrays.Enabled = false;
        var matcher4k = Implementations.BuildMatcher(domains);
        PolicyModel.Matching.HugePageArrays.Enabled = true;
        Implementations.Verify("HashSetSubstring", queries, expected, q => Implementations.ListedHashSet(hashSet, q));
        Implementations.Verify("FrozenSetSpan", queries, expected, q => Implementations.ListedFrozen(frozen, q));
        Implementations.Verify("DomainMatcher", queries, expected, q => matcher.Match(q, "") != 0);

        var contenders = new (string Name, Func<string, bool> Listed)[]
        {
            ("HashSetSubstring", q => Implementations.ListedHashSet(hashSet, q)),
            ("FrozenSetSpan", q => Implementations.ListedFrozen(frozen, q)),
            ("DomainMatcher", q => matcher.Match(q, "") != 0),
            ("DomainMatcher 4K", q => matcher4k.Match(q, "") != 0),
        };
        var times = contenders.Select(_ => new List<double>()).ToArray();
        var cpuTimes = contenders.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < rounds; r++)
        {
            for (int c = 0; c < contenders.Length; c++)
            {
                var listed = contenders[c].Listed;
                int count = 0;
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                foreach (string q in queries)
                {
                    if (listed(q))
                        count++;
                }
                sw.Stop();
                var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                times[c].Add(sw.Elapsed.TotalNanoseconds / queries.Length);
                cpuTimes[c].Add(used.TotalNanoseconds / queries.Length);
            }
        }
        // The same lookups with the data hot in cache: the compute-only cost, for the memory-bound argument.
        string[] hot = queries.Take(1000).ToArray();
        foreach (var (name, listed) in contenders)
        {
            double best = double.MaxValue;
            for (int r = 0; r < rounds; r++)
            {
                int count = 0;
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < 100; i++)
                {
                    foreach (string q in hot)
                    {
                        if (listed(q))
                            count++;
                    }
                }
                sw.Stop();
                best = Math.Min(best, sw.Elapsed.TotalNanoseconds / (hot.Length * 100));
            }
            Console.WriteLine($"{name + " hot",-22} min {best,7:F1} ns (1,000 queries repeated: cache-resident)");
        }
        for (int c = 0; c < contenders.Length; c++)
        {
            var sorted = times[c].Order().ToList();
            Console.WriteLine($"{contenders[c].Name,-18} min {sorted[0],7:F1} ns  median {sorted[sorted.Count / 2],7:F1} ns per lookup (wall); CPU time min {cpuTimes[c].Min(),7:F1} ns");
        }
        return 0;
    }
}
