using FilterService.Admin.Decisions;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace FilterService.Tests.Decisions;

/// <summary>The decision index's thread: passes and retries paced on the injected clock, stopping and disposing in any order, and pacing on its own CPU time.</summary>
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
        Assert.True(clock.WaitUntilArmed(1, TimeSpan.FromSeconds(30)), "the pause never began");
        clock.Advance(TimeSpan.FromSeconds(1.9));
        Assert.False(pass.IsCompleted, "paused less than twice the batch's CPU time");
        clock.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(1, (await pass.WaitAsync(TimeSpan.FromSeconds(30))).Records);
    }

    [Fact]
    public async Task IndexService_RunsAPassEveryInterval_OnTheInjectedClock()
    {
        using var writer = new DecisionAuditWriter(AuditDir);
        writer.Write(DecisionAuditWriter.Day(9));
        writer.WaitForDisk(1);
        var clock = new FakeTime(DecisionAuditWriter.Day(10), manualTimers: true);
        var status = new DecisionIndexStatus(clock, IndexPath);
        using var service = new DecisionIndexService(new DecisionIndexer(new DecisionIndexStore(IndexPath), AuditDir), status, clock,
            NullLogger<DecisionIndexService>.Instance);
        await service.StartAsync(default);

        // The first pass runs at once; then the thread waits on the clock, and only the clock starts the next pass.
        Assert.True(clock.WaitUntilArmed(1, TimeSpan.FromSeconds(30)), "the first pass never ended");
        Assert.Equal(1, Records(status));
        writer.Write(DecisionAuditWriter.Day(9, hour: 10));
        writer.WaitForDisk(2);
        clock.Advance(DecisionIndexService.Interval - TimeSpan.FromTicks(1));
        Assert.Equal(1, clock.Armed);
        Assert.Equal(1, Records(status));

        clock.Advance(TimeSpan.FromTicks(1));
        Assert.True(clock.WaitUntilArmed(2, TimeSpan.FromSeconds(30)), "the second pass never ended");
        Assert.Equal(2, Records(status));
        await service.StopAsync(default);
    }

    [Fact]
    public async Task IndexService_AFailedPass_IsAProblemInHealth_AndIsRetriedAfterRetryDelay_OnTheInjectedClock()
    {
        using (var writer = new DecisionAuditWriter(AuditDir))
        {
            writer.Write(DecisionAuditWriter.Day(9));
            writer.WaitForDisk(1);
        }
        var blocker = Path.Combine(_root, "not-a-directory");
        File.WriteAllText(blocker, "a file where the console's data directory should be");
        var clock = new FakeTime(DecisionAuditWriter.Day(10), manualTimers: true);
        var status = new DecisionIndexStatus(clock, blocker);
        using var service = new DecisionIndexService(new DecisionIndexer(new DecisionIndexStore(Path.Combine(blocker, DecisionIndexStore.FileName)), AuditDir),
            status, clock, NullLogger<DecisionIndexService>.Instance);
        await service.StartAsync(default);

        Assert.True(clock.WaitUntilArmed(1, TimeSpan.FromSeconds(30)), "the first pass never ended");
        var problem = Assert.Single(status.Problems());
        Assert.StartsWith("decision index: the last pass failed at 2026-11-10 09:00:00Z (", problem);
        var health = System.Text.Json.JsonSerializer.SerializeToElement(status.Health());
        Assert.Equal(1, health.GetProperty("failures").GetInt64());
        Assert.Equal(0, health.GetProperty("records").GetInt64());

        // Mended; a failed pass waits RetryDelay, not Interval, before the next.
        File.Delete(blocker);
        clock.Advance(DecisionIndexService.Interval);
        Assert.Equal(1, clock.Armed);
        Assert.Single(status.Problems());
        clock.Advance(DecisionIndexService.RetryDelay - DecisionIndexService.Interval);
        Assert.True(clock.WaitUntilArmed(2, TimeSpan.FromSeconds(30)), "the retry never ended");
        Assert.Empty(status.Problems());
        Assert.Equal(1, Records(status));
        await service.StopAsync(default);
    }

    private static long Records(DecisionIndexStatus status) =>
        System.Text.Json.JsonSerializer.SerializeToElement(status.Health()).GetProperty("records").GetInt64();

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
