using FilterService.Admin.Decisions;

namespace FilterService.Tests.Decisions;

[CollectionDefinition(nameof(DecisionIndexerGrowthTests), DisableParallelization = true)]
public sealed class DecisionIndexerGrowthCollection;

/// <summary>
/// Issues 18 and 19: a day file that grows without pause while the indexer follows it. The indexer's memory stays
/// bounded (one read buffer, one batch) however large the file gets, and it ends with every line indexed. Alone in its
/// collection: it measures the managed heap.
/// </summary>
[Collection(nameof(DecisionIndexerGrowthTests))]
public sealed class DecisionIndexerGrowthTests : IDisposable
{
    private const long FileBytes = 48L << 20, HeapBound = 24L << 20;
    private readonly string _root = Directory.CreateTempSubdirectory("decisions-growth-").FullName;

    [Fact]
    public void Decisions_Indexer_AFileThatGrowsWithoutPause_IsFollowedWithBoundedMemory()
    {
        var audit = Path.Combine(_root, "logs");
        var store = new DecisionIndexStore(Path.Combine(_root, "console", DecisionIndexStore.FileName));
        var indexer = new DecisionIndexer(store, audit);
        long written = 0;
        using var writer = new DecisionAuditWriter(audit) { Keep = false };
        var file = Path.Combine(audit, "audit-20261125.json");
        var writing = new Thread(() =>
        {
            var at = DecisionAuditWriter.Day(25, 8);
            while (!File.Exists(file) || new FileInfo(file).Length < FileBytes)
            {
                for (int i = 0; i < 500; i++)
                {
                    writer.Write(at = at.AddMilliseconds(10));
                }
                Interlocked.Add(ref written, 500);
                while (writer.BacklogBytes > 1 << 20)
                {
                    Thread.Sleep(1); // the log's own bound is 32 MB: keep the writer's memory out of the measure
                }
            }
        }) { IsBackground = true };

        long baseline = GC.GetTotalMemory(forceFullCollection: true), peak = 0;
        bool done = false;
        // Measured during passes, not between them: whatever a pass holds while it reads is live at a full collection.
        var sampler = new Thread(() =>
        {
            while (!Volatile.Read(ref done))
            {
                long heap = GC.GetTotalMemory(forceFullCollection: true) - baseline;
                Interlocked.Exchange(ref peak, Math.Max(Interlocked.Read(ref peak), heap));
                Thread.Sleep(200);
            }
        }) { IsBackground = true };
        writing.Start();
        sampler.Start();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        long indexed = 0;
        int passes = 0;
        while (writing.IsAlive || indexed < Interlocked.Read(ref written))
        {
            Assert.True(DateTime.UtcNow < deadline, $"indexed {indexed} of {Interlocked.Read(ref written)} records in {passes} passes");
            indexed = indexer.RunPass(default).TotalRecords;
            passes++;
        }
        Volatile.Write(ref done, true);
        sampler.Join();
        Assert.True(new FileInfo(file).Length >= FileBytes);
        Assert.Equal(Interlocked.Read(ref written), indexed);
        Assert.True(peak < HeapBound, $"the managed heap grew by {peak >> 20} MB while indexing a {new FileInfo(file).Length >> 20} MB file");
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
