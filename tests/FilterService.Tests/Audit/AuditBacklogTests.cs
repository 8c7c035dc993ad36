using System.Diagnostics;
using System.Text;
using FilterService.Audit;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace FilterService.Tests.Audit;

/// <summary>
/// Issue 15 item 14, the audit file on its own: appending never waits for the disk, a full backlog drops and counts
/// instead of blocking, and the writer recovers by itself. The disk is <c>/dev/full</c> behind the day file's name
/// (every write fails with ENOSPC), a real failure without a mount.
/// </summary>
public sealed class AuditBacklogTests : IDisposable
{
    private static readonly TimeZoneInfo London = TimeZoneInfo.FindSystemTimeZoneById("Europe/London");
    private static readonly DateTimeOffset Noon = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);
    private const long Bound = 64 * 1024;

    private readonly string _dir = TempDir.Create("auditbacklog");
    private readonly CapturingLogger<AuditFile> _log = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string DayFile => Path.Combine(_dir, "audit-20261120.json");

    private static byte[] Line(int i) => Encoding.UTF8.GetBytes($"{{\"i\":{i},\"pad\":\"{new string('x', 80)}\"}}\n"); // 100 bytes or so

    [Fact]
    public void Item14_AppendNeverWaits_AFullBacklogDropsAndCounts_AndTheKeptRecordsAreWrittenOnRecovery()
    {
        File.CreateSymbolicLink(DayFile, "/dev/full");
        var kept = new List<int>();
        int dropped = 0;
        using (var file = new AuditFile(_dir, "audit-", ".json", 90, _log, London, Bound, TimeProvider.System))
        {
            Assert.True(file.Append(Line(0), Noon));
            kept.Add(0);
            WaitFor(() => !file.Writable, "the failed write to make the file unwritable");
            Assert.False(file.Accepting);
            Assert.True(file.WriteErrors >= 1);

            // 200 KB against a bound of 64 KB (and 16 KB of reserve): the old file waited here for the disk, forever.
            var clock = Stopwatch.StartNew();
            for (int i = 1; i <= 2000; i++)
            {
                if (file.Append(Line(i), Noon))
                {
                    kept.Add(i);
                }
                else
                {
                    dropped++;
                }
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"2000 appends took {clock.Elapsed}");
            Assert.InRange(file.BacklogBytes, Bound, Bound + Bound / 4);
            Assert.Equal(kept.Count, file.BacklogRecords);
            Assert.Equal(dropped, file.DroppedRecords);
            Assert.True(dropped > 1000);
            // A refusal (no engine decision) may not use the reserve.
            Assert.False(file.Append(Line(-1), Noon, mayUseReserve: false));
            Assert.Single(_log.Snapshot(), e => e.Level == LogLevel.Critical && e.Message.Contains("records are being dropped and counted"));

            File.Delete(DayFile); // space again: the retry opens the name afresh
            WaitFor(() => file.Writable && file.BacklogBytes == 0, "the backlog to be written");
            Assert.True(file.Accepting);
            Assert.Contains(_log.Snapshot(), e => e.Message.Contains($"{dropped + 1} records were dropped meanwhile"));
        }
        Assert.Equal(kept.Select(i => Encoding.UTF8.GetString(Line(i)).TrimEnd('\n')), File.ReadAllLines(DayFile));
    }

    [Fact]
    public void Item14_RefusalsStopAtTheBound_DecisionsMayUseTheReserve()
    {
        File.CreateSymbolicLink(DayFile, "/dev/full");
        using var file = new AuditFile(_dir, "audit-", ".json", 90, _log, London, Bound, TimeProvider.System);
        int refusals = 0;
        while (file.Append(Line(refusals), Noon, mayUseReserve: false))
        {
            refusals++;
            Assert.True(refusals < 10_000, "the bound never stopped refusals");
        }
        Assert.True(file.BacklogBytes <= Bound && file.BacklogBytes > Bound - 200);
        Assert.True(file.Append(Line(-1), Noon, mayUseReserve: true), "a decision's record was refused while the reserve was empty");
        Assert.False(file.Accepting);
        Assert.Equal(1, file.DroppedRecords);
        File.Delete(DayFile); // lets Dispose write what is queued
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"timed out waiting for {what}");
            Thread.Sleep(20);
        }
    }
}
