using System.Diagnostics;
using System.Globalization;
using System.Text;
using FilterService.Admin;
using FilterService.Admin.Decisions;

namespace FilterService.Benchmarks;

/// <summary>
/// <c>decisions [--records N] [--days D] [--searches S] [--work DIR] [--out FILE] [--reuse]</c> (bench/decisions/run):
/// generates N audit records (default 10 million) over D days (default 90) in the real audit format
/// (<see cref="DecisionsBenchData"/>), builds the decision index from them with the real indexer
/// (<see cref="DecisionsCommand.Rebuild"/>, as <c>decisions reindex</c>), times the service's incremental indexer on
/// one more day appended to the full index, then runs S searches (default 3,000) with varied filter combinations through
/// <see cref="DecisionSearch"/> and reports p50/p99/max per filter shape in markdown.
/// </summary>
internal static class DecisionsBench
{
    public static int Run(string[] args)
    {
        long records = Long(args, "--records", 10_000_000);
        int days = (int)Long(args, "--days", 90);
        int searches = (int)Long(args, "--searches", 3_000);
        var work = Arg(args, "--work") ?? Path.Combine(Path.GetTempPath(), "decisions-bench");
        var output = Arg(args, "--out") ?? Path.Combine(RepositoryRoot(), "bench", "results", "decisions-search.md");
        var audit = Path.Combine(work, "logs");
        var indexPath = Path.Combine(work, "console", DecisionIndexStore.FileName);
        var lastDay = new DateOnly(2026, 12, 4);
        var report = new StringBuilder();
        var load = new List<string> { $"start {DateTime.UtcNow:HH:mm:ss} load {Load()}" };

        var data = new DecisionsBenchData(Path.Combine(Path.GetDirectoryName(BenchData.Directory())!, "lists"));
        var generate = Stopwatch.StartNew();
        long bytes;
        if (args.Contains("--reuse") && Directory.Exists(audit))
        {
            bytes = -1;
            Console.WriteLine($"reusing {audit}");
        }
        else
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
            bytes = data.Write(audit, records, days, lastDay, line => { if (line.Contains("-01:") || line.Contains(lastDay.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))) Console.WriteLine(line); });
        }
        generate.Stop();
        long onDisk = Directory.GetFiles(audit).Sum(f => new FileInfo(f).Length);
        Console.WriteLine($"audit files: {onDisk / 1048576.0:N0} MB on disk ({(bytes < 0 ? "reused" : $"{bytes / 1048576.0:N0} MB uncompressed, {generate.Elapsed.TotalSeconds:N0} s")})");
        load.Add($"generated {DateTime.UtcNow:HH:mm:ss} load {Load()}");

        var rebuild = DecisionsCommand.Rebuild(audit, indexPath);
        Console.WriteLine($"reindex: {rebuild.Records:N0} records, rows {rebuild.Load.TotalSeconds:N0} s, indexes {rebuild.Indexes.TotalSeconds:N0} s, {rebuild.Bytes / 1048576.0:N0} MB");
        load.Add($"indexed {DateTime.UtcNow:HH:mm:ss} load {Load()}");

        // The service's indexer on a full index: one more (plain) day appended, indexed with every search index in place.
        var store = new DecisionIndexStore(indexPath);
        var extra = new DecisionsBenchData(Path.Combine(Path.GetDirectoryName(BenchData.Directory())!, "lists"));
        var incrementalDir = Path.Combine(work, "extra");
        extra.Write(incrementalDir, 50_000, 1, lastDay.AddDays(1));
        File.Move(Directory.GetFiles(incrementalDir)[0], Path.Combine(audit, $"audit-{lastDay.AddDays(1):yyyyMMdd}.json"), overwrite: true);
        var incremental = Stopwatch.StartNew();
        var pass = new DecisionIndexer(store, audit).RunPass(default);
        incremental.Stop();
        Console.WriteLine($"incremental: {pass.Records:N0} records in {incremental.Elapsed.TotalSeconds:N1} s");

        var names = new PupilNames(["pupil"], Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        var search = new DecisionSearch(store, names);
        var queries = DecisionsBenchQueries.Make(data, names, searches, lastDay, days);
        foreach (var (query, sees) in queries.Take(60))
        {
            search.Search(query, sees); // warm the page cache a little, as a console in use would be
        }
        var timings = new Dictionary<string, List<(double Ms, int Rows)>>(StringComparer.Ordinal);
        var wall = Stopwatch.StartNew();
        foreach (var (query, sees) in queries)
        {
            var clock = Stopwatch.StartNew();
            var page = search.Search(query, sees);
            clock.Stop();
            var shape = query.Shape + (query.User?.StartsWith("pupil-", StringComparison.Ordinal) == true ? " (pseudonym)" : "");
            if (!timings.TryGetValue(shape, out var list))
            {
                timings[shape] = list = [];
            }
            list.Add((clock.Elapsed.TotalMilliseconds, page.Rows.Count));
        }
        wall.Stop();
        load.Add($"searched {DateTime.UtcNow:HH:mm:ss} load {Load()}");

        report.AppendLine("# Decision search over 10 million audit records");
        report.AppendLine();
        report.AppendLine($"Command: `bench/decisions/run` ({string.Join(' ', args.Skip(1))}), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: bench/results/machine.md");
        report.AppendLine("(2 vCPUs, AMD EPYC under KVM, shared with other engineers' builds and tests; load below).");
        report.AppendLine();
        report.AppendLine($"- Audit records: {rebuild.Records:N0} over {days} days ending {lastDay:yyyy-MM-dd} (weekdays busy 8-16, weekends quiet), "
            + $"{data.Pupils.Count:N0} pupils, {data.StaffNames.Count} staff, guests; hosts from the Umbrella top 100k and the social, gambling and "
            + $"adult lists in shared/data/lists; {onDisk / 1048576.0:N0} MB of audit files on disk (rolled days gzipped, the last plain)"
            + (bytes > 0 ? $", {bytes / 1048576.0:N0} MB uncompressed ({bytes / (double)records:N0} bytes per record)." : "."));
        report.AppendLine($"- Build (`decisions reindex`, the real indexer): rows {rebuild.Load.TotalSeconds:N0} s ({rebuild.Records / rebuild.Load.TotalSeconds:N0} records/s), "
            + $"then the search indexes {rebuild.Indexes.TotalSeconds:N0} s; total {(rebuild.Load + rebuild.Indexes).TotalMinutes:N1} min. "
            + $"Index file: {rebuild.Bytes / 1048576.0:N0} MB ({rebuild.Bytes / (double)rebuild.Records:N0} bytes per record).");
        report.AppendLine($"- The service's incremental indexer on the full index (every search index in place, unpaced): "
            + $"{pass.Records:N0} records of one more day in {incremental.Elapsed.TotalSeconds:N1} s ({pass.Records / incremental.Elapsed.TotalSeconds:N0} records/s); "
            + "the service paces it to at most half of one core.");
        report.AppendLine($"- Searches: {queries.Count:N0} (after 60 warm-up), one page of 50 newest first each, values drawn from the data "
            + $"(popular and rare users, addresses, hosts, categories; time windows of a day to a month; pages 2+ by keyset), in {wall.Elapsed.TotalSeconds:N1} s.");
        report.AppendLine();
        report.AppendLine("| filter shape | searches | p50 ms | p99 ms | max ms | rows per page (mean) |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (shape, list) in timings.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var ms = list.Select(t => t.Ms).Order().ToArray();
            report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {shape} | {ms.Length} | {Percentile(ms, 0.50):0.0} | {Percentile(ms, 0.99):0.0} | {ms[^1]:0.0} | {list.Average(t => t.Rows):0.0} |"));
        }
        var all = timings.Values.SelectMany(l => l.Select(t => t.Ms)).Order().ToArray();
        report.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"| **all** | {all.Length} | {Percentile(all, 0.50):0.0} | {Percentile(all, 0.99):0.0} | {all[^1]:0.0} | |"));
        report.AppendLine();
        report.AppendLine("Load average (1, 5, 15 min) during the run:");
        report.AppendLine();
        report.AppendLine("```");
        load.ForEach(l => report.AppendLine(l));
        report.AppendLine("```");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, report.ToString());
        Console.WriteLine(report);
        if (!args.Contains("--keep"))
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(work, recursive: true);
        }
        return 0;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FilterService.sln")))
            {
                return dir.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static string? Arg(string[] args, string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

    private static long Long(string[] args, string name, long fallback) => Arg(args, name) is { } s ? long.Parse(s, CultureInfo.InvariantCulture) : fallback;
}
