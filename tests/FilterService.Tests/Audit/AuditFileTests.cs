using System.Diagnostics;
using System.Text;
using FilterService.Audit;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace FilterService.Tests.Audit;

public sealed class AuditFileTests : IDisposable
{
    private static readonly TimeZoneInfo London = TimeZoneInfo.FindSystemTimeZoneById("Europe/London");
    private static readonly DateTimeOffset Noon = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "auditfile-" + Guid.NewGuid().ToString("N"));
    private readonly CapturingLogger<AuditFile> _log = new();

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private AuditFile Open(int retain = 90, string? dir = null) => new(dir ?? _dir, "audit-", ".json", retain, _log, London);

    private static byte[] Line(string text) => Encoding.UTF8.GetBytes(text + "\n");

    private string[] Lines(string name) => File.ReadAllLines(Path.Combine(_dir, name));

    [Fact]
    public void ManyThreads_EveryRecordIsWrittenOnceWholeAndInEachThreadsOrder()
    {
        const int threads = 4, each = 25_000; // about 10 MB: about 150 chunks sealed by size, not by the clock
        using (var file = Open())
        {
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                for (int i = 0; i < each; i++)
                {
                    file.Append(Line($"{{\"thread\":{t},\"i\":{i},\"pad\":\"{new string('x', 60 + i % 40)}\"}}"), Noon);
                }
            })).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());
        }

        var lines = Lines("audit-20261120.json");
        Assert.Equal(threads * each, lines.Length);
        var next = new int[threads];
        foreach (var line in lines)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            int t = doc.RootElement.GetProperty("thread").GetInt32();
            Assert.Equal(next[t]++, doc.RootElement.GetProperty("i").GetInt32());
        }
        Assert.All(next, n => Assert.Equal(each, n));
    }

    /// <summary>
    /// Audit:FlushInterval bounds how long a record waits in memory, on the injected clock: with manual timers and the
    /// longest interval allowed (1 min), a lone record reaches the file exactly when the fake clock passes the interval,
    /// and the next one an interval after that flush. A cadence kept on the real clock never writes within the wait.
    /// </summary>
    [Fact]
    public void ARecordWaitsAtMostTheFlushInterval_OnTheInjectedClock_WhileTheFileStaysOpen()
    {
        var interval = TimeSpan.FromMinutes(1);
        var clock = new FakeTime(Noon, manualTimers: true);
        using var file = new AuditFile(_dir, "audit-", ".json", 90, _log, London, time: clock, flushInterval: interval);
        var path = Path.Combine(_dir, "audit-20261120.json");

        file.Append(Line("{\"first\":1}"), Noon);
        clock.Advance(interval - TimeSpan.FromMilliseconds(1));
        Assert.False(File.Exists(path) && File.ReadAllText(path).Length > 0, "a lone record was written before its flush was due");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        WaitFor(() => File.Exists(path) && File.ReadAllText(path) == "{\"first\":1}\n", "the first record after one interval");

        file.Append(Line("{\"second\":2}"), Noon);
        clock.Advance(interval);
        WaitFor(() => File.ReadAllText(path) == "{\"first\":1}\n{\"second\":2}\n", "the second record an interval after the first flush");
    }

    [Fact]
    public void RollsAtLocalMidnight_FollowsTheLatestRecord_AndKeepsOnlyRetainFiles()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "audit-20261101.json"), "{\"old\":1}\n");
        File.WriteAllText(Path.Combine(_dir, "audit-20261102.json"), "{\"old\":2}\n");
        File.WriteAllText(Path.Combine(_dir, "audit-notes.json"), "not a day file: never deleted\n");
        using (var file = Open(retain: 2))
        {
            file.Append(Line("{\"n\":1}"), new DateTimeOffset(2026, 11, 20, 23, 59, 59, TimeSpan.Zero));
            file.Append(Line("{\"n\":2}"), new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero));
            // Made before midnight, finished after it: goes on in the new day's file, as the line after n=2.
            file.Append(Line("{\"n\":3}"), new DateTimeOffset(2026, 11, 20, 23, 59, 58, TimeSpan.Zero));
        }

        Assert.Equal(["audit-20261120.json", "audit-20261121.json", "audit-notes.json"],
            Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["{\"n\":1}"], Lines("audit-20261120.json"));
        Assert.Equal(["{\"n\":2}", "{\"n\":3}"], Lines("audit-20261121.json"));
    }

    [Fact]
    public void TheDayIsTheLocalOne_InSummerTimeToo()
    {
        using (var file = Open())
        {
            // 23:30 UTC on 1 July is 00:30 on 2 July in London (BST).
            file.Append(Line("{\"summer\":1}"), new DateTimeOffset(2026, 7, 1, 23, 30, 0, TimeSpan.Zero));
            Assert.Equal(Path.Combine(_dir, "audit-20260702.json"), file.PathFor(new DateTimeOffset(2026, 7, 1, 23, 30, 0, TimeSpan.Zero)));
        }
        Assert.Equal(["{\"summer\":1}"], Lines("audit-20260702.json"));
    }

    [Fact]
    public void ATornLastLine_IsEndedBeforeAppending()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "audit-20261120.json"), "{\"whole\":1}\n{\"torn\":");
        using (var file = Open())
        {
            file.Append(Line("{\"after\":1}"), Noon);
        }
        Assert.Equal(["{\"whole\":1}", "{\"torn\":", "{\"after\":1}"], Lines("audit-20261120.json"));
    }

    [Fact]
    public void AfterDispose_AppendsAreStillWritten()
    {
        var file = Open();
        file.Append(Line("{\"n\":1}"), Noon);
        file.Dispose();
        file.Append(Line("{\"n\":2}"), Noon);
        Assert.Equal(["{\"n\":1}", "{\"n\":2}"], Lines("audit-20261120.json"));
    }

    [Fact]
    public void WhileTheDirectoryCannotBeWritten_TheRecordsAreKept_AndWrittenOnceItCan()
    {
        using var file = Open();
        Directory.Delete(_dir); // a file where the directory was: every open fails until it is moved away
        File.WriteAllText(_dir, "in the way");
        for (int i = 0; i < 1000; i++)
        {
            file.Append(Line($"{{\"i\":{i}}}"), Noon);
        }
        WaitFor(() => _log.Snapshot().Any(e => e.Level == LogLevel.Error && e.Message.Contains("Cannot write the audit log")), "the failure to be logged");
        File.Delete(_dir);
        WaitFor(() => _log.Snapshot().Any(e => e.Message.Contains("is being written again; no record was lost")), "the recovery to be logged");
        file.Dispose();
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"{{\"i\":{i}}}"), Lines("audit-20261120.json"));
    }

    /// <summary>
    /// A full disk mid-chunk: the partial write is cut back, nothing is written twice or torn, and everything is
    /// written once space returns. Needs root to mount a small tmpfs (the suite runs as root; see .ci/run).
    /// </summary>
    [Fact]
    public void AFullDisk_LeavesNoTornOrRepeatedLine_AndLosesNothing()
    {
        Directory.CreateDirectory(_dir);
        var mount = Path.Combine(_dir, "small");
        Directory.CreateDirectory(mount);
        var mounted = Process.Start("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mount]);
        Assert.True(mounted.WaitForExit(10_000) && mounted.ExitCode == 0, "mount -t tmpfs failed: this test needs root");
        try
        {
            var filler = Path.Combine(mount, "filler");
            File.WriteAllBytes(filler, new byte[400 * 1024]);
            var logs = Path.Combine(mount, "logs");
            var lines = Enumerable.Range(0, 4000).Select(i => $"{{\"i\":{i},\"pad\":\"{new string('y', 50)}\"}}").ToList(); // about 300 KB
            using (var file = new AuditFile(logs, "audit-", ".json", 90, _log, London))
            {
                foreach (var line in lines)
                {
                    file.Append(Line(line), Noon);
                }
                WaitFor(() => _log.Snapshot().Any(e => e.Level == LogLevel.Error), "the full disk to be logged");
                File.Delete(filler);
                WaitFor(() => _log.Snapshot().Any(e => e.Message.Contains("no record was lost")), "the recovery to be logged");
            }
            Assert.Equal(lines, File.ReadAllLines(Path.Combine(logs, "audit-20261120.json")));
        }
        finally
        {
            using var unmount = Process.Start("umount", [mount]);
            unmount.WaitForExit(10_000);
        }
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"timed out waiting for {what}");
            Thread.Sleep(20);
        }
    }
}
