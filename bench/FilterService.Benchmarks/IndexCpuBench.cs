using System.Globalization;
using System.Text;
using FilterService.Admin.Decisions;
using FilterService.Runtime;

namespace FilterService.Benchmarks;

/// <summary>
/// <c>index-cpu [--lines N] [--rounds R] [--chunk C] [--work DIR] [--out FILE] [--compare]</c> (bench/decisions/index-cpu): the decision
/// indexer's CPU per audit line, the figure the blocked step of the load benchmark pays for on the "Decision index"
/// thread. Writes one plain day of N records (default 200,000) in the real audit format (<see cref="DecisionsBenchData"/>,
/// seed 42), then R times (default 5) indexes it with the service's indexer, unpaced, following the file as it grows by C
/// lines (default 10,000) a pass, into a new index with every search index in place (as the service's index is), on
/// this thread, and reads this thread's CPU time
/// (<see cref="ThreadCpuTime"/>) around it; likewise the parse alone (<see cref="AuditLineParser"/> over every line).
/// Reports each round and the median in microseconds of CPU per line: CPU time, not wall time, so a busy machine
/// changes the figures much less. <c>--compare</c> instead times the batch writer against the one it replaced, paired
/// (<see cref="IndexCpuCompare"/>).
/// </summary>
internal static class IndexCpuBench
{
    public static int Run(string[] args)
    {
        int lines = (int)Long(args, "--lines", 200_000);
        int rounds = (int)Long(args, "--rounds", 5);
        int chunk = (int)Long(args, "--chunk", 10_000);
        var work = Arg(args, "--work") ?? Path.Combine(Path.GetTempPath(), "index-cpu-bench");
        var output = Arg(args, "--out");
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }
        var audit = Path.Combine(work, "logs");
        var data = new DecisionsBenchData(Path.Combine(Path.GetDirectoryName(BenchData.Directory())!, "lists"));
        long bytes = data.Write(audit, lines, 1, new DateOnly(2026, 12, 4));
        var file = Directory.GetFiles(audit)[0];
        Console.WriteLine($"{lines:N0} lines, {bytes / (double)lines:N0} bytes per line; CPU: {(ThreadCpuTime.Now() is not null ? "this thread's" : "the process's")}");

        if (args.Contains("--compare"))
        {
            var compared = IndexCpuCompare.Run(file, work, rounds) + $"; load {Load()}";
            Console.WriteLine(compared);
            if (output is not null)
            {
                File.AppendAllText(output, compared + Environment.NewLine);
            }
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(work, recursive: true);
            return 0;
        }

        // Warm-up: the JIT's first and optimised compilations, not counted.
        Parse(file);
        Index(file, Path.Combine(work, "warm"), chunk);

        var parse = new List<double>();
        var index = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            parse.Add(Parse(file) / lines);
            index.Add(Index(file, Path.Combine(work, $"round{r}"), chunk) / lines);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {r + 1}: parse {parse[^1]:0.00} us/line, index {index[^1]:0.00} us/line"));
        }
        var report = new StringBuilder();
        report.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"index-cpu: {lines:N0} lines x {rounds} rounds, {chunk:N0} lines a pass, median CPU per line: parse {Median(parse):0.00} us, index (parse + insert) {Median(index):0.00} us "
            + $"(min {index.Min():0.00}, max {index.Max():0.00}); load {Load()}"));
        Console.Write(report);
        if (output is not null)
        {
            File.AppendAllText(output, report.ToString());
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(work, recursive: true);
        return 0;
    }

    /// <summary>Microseconds of CPU to parse every line of the file (read into memory first, not counted).</summary>
    private static double Parse(string file)
    {
        var content = File.ReadAllBytes(file);
        var record = new IndexedDecision();
        int decisions = 0;
        var started = Cpu();
        var rest = content.AsSpan();
        while (rest.IndexOf((byte)'\n') is var newline and >= 0)
        {
            if (AuditLineParser.Parse(rest[..newline], record) == AuditLine.Decision)
            {
                decisions++;
            }
            rest = rest[(newline + 1)..];
        }
        var cpu = Cpu() - started;
        return decisions == 0 ? throw new InvalidOperationException("no decisions parsed") : cpu.TotalMicroseconds;
    }

    /// <summary>
    /// Microseconds of CPU for the service's indexer, unpaced, following the day as the service does: the file grows by
    /// <paramref name="chunk"/> lines at a time (5,000 lines a second at a pass every 2 s) and a pass runs after each
    /// growth, into a new index with the search's indexes in place. Only the passes are timed.
    /// </summary>
    private static double Index(string source, string databaseDirectory, int chunk)
    {
        var content = File.ReadAllBytes(source);
        var audit = Path.Combine(databaseDirectory, "logs");
        Directory.CreateDirectory(audit);
        var store = new DecisionIndexStore(Path.Combine(databaseDirectory, DecisionIndexStore.FileName));
        store.Open().Dispose(); // the tables and the search's indexes, as the service has them
        var indexer = new DecisionIndexer(store, audit);
        using var day = new FileStream(Path.Combine(audit, Path.GetFileName(source)), FileMode.Create, FileAccess.Write, FileShare.ReadWrite);
        var cpu = TimeSpan.Zero;
        long records = 0;
        int at = 0;
        while (at < content.Length)
        {
            int end = at;
            for (int n = 0; n < chunk && end < content.Length; n++)
            {
                end += content.AsSpan(end).IndexOf((byte)'\n') + 1;
            }
            day.Write(content, at, end - at);
            day.Flush();
            at = end;
            var started = Cpu();
            records += indexer.RunPass(default).Records;
            cpu += Cpu() - started;
        }
        return records == 0 ? throw new InvalidOperationException("nothing indexed") : cpu.TotalMicroseconds;
    }

    private static TimeSpan Cpu() => ThreadCpuTime.Now() ?? System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static string? Arg(string[] args, string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

    private static long Long(string[] args, string name, long fallback) => Arg(args, name) is { } s ? long.Parse(s, CultureInfo.InvariantCulture) : fallback;
}
