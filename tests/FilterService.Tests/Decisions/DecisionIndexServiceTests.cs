using FilterService.Admin.Decisions;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace FilterService.Tests.Decisions;

/// <summary>The decision index's thread: stopping and disposing in any order, and pacing on its own CPU time.</summary>
public sealed class DecisionIndexServiceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("decisions-service-").FullName;
    private string AuditDir => Path.Combine(_root, "logs");
    private string IndexPath => Path.Combine(_root, "console", DecisionIndexStore.FileName);

    private DecisionIndexService NewService(DecisionIndexer? indexer = null) =>
        new(indexer ?? new DecisionIndexer(new DecisionIndexStore(IndexPath), AuditDir), new DecisionIndexStatus(TimeProvider.System, IndexPath),
            TimeProvider.System, NullLogger<DecisionIndexService>.Instance);

    [Fact]
    public async Task IndexService_DisposedBeforeStop_ThenStoppedAndDisposedAgain_NeverThrows()
    {
        var service = NewService();
        await service.StartAsync(default);
        service.Dispose(); // as a host whose start failed does: no stop first
        await service.StopAsync(default);
        service.Dispose();
    }

    [Fact]
    public async Task IndexService_StoppedThenDisposedTwice_NeverThrows()
    {
        var service = NewService();
        await service.StartAsync(default);
        await service.StopAsync(default);
        await service.StopAsync(default);
        service.Dispose();
        service.Dispose();
    }

    [Fact]
    public void IndexService_NeverStarted_DisposesAndStops()
    {
        var service = NewService();
        service.Dispose();
        Assert.True(service.StopAsync(default).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Indexer_Paced_PausesInProportionToItsCpuTime_NotTheWallClock()
    {
        using (var writer = new DecisionAuditWriter(AuditDir))
        {
            writer.Write(DecisionAuditWriter.Day(9));
            writer.WaitForDisk(1);
        }
        // The batch takes 1 s of this thread's CPU and no time on the (fake) wall clock: with Pace 2 it pauses 2 s.
        var clock = new FakeTime(DecisionAuditWriter.Day(10), manualTimers: true);
        int cpuReads = 0;
        var paused = new ManualResetEventSlim();
        var indexer = new DecisionIndexer(new DecisionIndexStore(IndexPath), AuditDir)
        {
            Pace = 2,
            Time = clock,
            CpuTime = () =>
            {
                int read = Interlocked.Increment(ref cpuReads);
                if (read == 2)
                {
                    paused.Set();
                }
                return TimeSpan.FromSeconds(read);
            },
        };
        var pass = Task.Run(() => indexer.RunPass(default));
        Assert.True(paused.Wait(TimeSpan.FromSeconds(30)), "the batch never ended");
        await Task.Delay(300); // the pause's timer is created on the fake clock
        clock.Advance(TimeSpan.FromSeconds(1.9));
        await Task.Delay(300);
        Assert.False(pass.IsCompleted, "paused less than twice the batch's CPU time");
        clock.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(1, (await pass.WaitAsync(TimeSpan.FromSeconds(30))).Records);
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
