using System.Globalization;
using FilterService.Admin.Decisions;
using FilterService.Runtime;

namespace FilterService.Benchmarks;

/// <summary>
/// <c>index-cpu --compare</c>: the batch writer now (<see cref="DecisionBatchWriter"/>) against the one it replaced
/// (<see cref="CommandBatchWriter"/>), paired so that a busy machine affects both alike: the lines are parsed once,
/// then each batch of <see cref="DecisionIndexer.BatchSize"/> records is inserted by both writers, each into its own
/// new index with the search's indexes, the order alternating batch by batch; this thread's CPU time per writer.
/// </summary>
internal static class IndexCpuCompare
{
    public static string Run(string file, string work, int rounds)
    {
        var records = new List<IndexedDecision>();
        foreach (var line in File.ReadLines(file))
        {
            var record = new IndexedDecision();
            if (AuditLineParser.Parse(System.Text.Encoding.UTF8.GetBytes(line), record) == AuditLine.Decision)
            {
                records.Add(record);
            }
        }
        var ratios = new List<double>();
        double oldTotal = 0, newTotal = 0;
        for (int r = -1; r < rounds; r++) // round -1 warms up
        {
            var oldStore = new DecisionIndexStore(Path.Combine(work, $"compare-old{r}", DecisionIndexStore.FileName));
            var newStore = new DecisionIndexStore(Path.Combine(work, $"compare-new{r}", DecisionIndexStore.FileName));
            using var oldConnection = oldStore.Open();
            using var newConnection = newStore.Open();
            TimeSpan oldCpu = TimeSpan.Zero, newCpu = TimeSpan.Zero;
            for (int b = 0, start = 0; start < records.Count; b++, start += DecisionIndexer.BatchSize)
            {
                var batch = records.GetRange(start, Math.Min(DecisionIndexer.BatchSize, records.Count - start));
                var file1 = new IndexedFile("audit-20261204.json", start + batch.Count, -1, start + batch.Count, 0);
                if (b % 2 == 0)
                {
                    oldCpu += Old(oldConnection, batch, file1);
                    newCpu += New(newConnection, batch, file1);
                }
                else
                {
                    newCpu += New(newConnection, batch, file1);
                    oldCpu += Old(oldConnection, batch, file1);
                }
            }
            if (r < 0)
            {
                continue;
            }
            oldTotal += oldCpu.TotalMicroseconds / records.Count;
            newTotal += newCpu.TotalMicroseconds / records.Count;
            ratios.Add(newCpu / oldCpu);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"compare round {r + 1}: before (SqliteCommand) {oldCpu.TotalMicroseconds / records.Count:0.00} us/row, now (raw) {newCpu.TotalMicroseconds / records.Count:0.00} us/row, ratio {ratios[^1]:0.000}"));
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"compare: {records.Count:N0} rows x {rounds} rounds, paired batches; insert CPU per row before {oldTotal / rounds:0.00} us, now {newTotal / rounds:0.00} us; "
            + $"ratio now/before median {ratios.Order().ElementAt(ratios.Count / 2):0.000} (min {ratios.Min():0.000}, max {ratios.Max():0.000})");
    }

    private static TimeSpan Old(Microsoft.Data.Sqlite.SqliteConnection connection, List<IndexedDecision> batch, IndexedFile file)
    {
        var started = Cpu();
        using var writer = new CommandBatchWriter(connection);
        writer.Begin();
        foreach (var record in batch)
        {
            writer.Add(record);
        }
        writer.Commit(file);
        return Cpu() - started;
    }

    private static TimeSpan New(Microsoft.Data.Sqlite.SqliteConnection connection, List<IndexedDecision> batch, IndexedFile file)
    {
        var started = Cpu();
        using var writer = new DecisionBatchWriter(connection);
        writer.Begin();
        foreach (var record in batch)
        {
            writer.Add(record);
        }
        writer.Commit(file);
        return Cpu() - started;
    }

    private static TimeSpan Cpu() => ThreadCpuTime.Now() ?? System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
}
