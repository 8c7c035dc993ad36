using FilterService.Admin;
using FilterService.Admin.Reports;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin.Reports;

/// <summary>Downtime and failing open from the heartbeat table in console.db.</summary>
public sealed class AvailabilityTests
{
    private static readonly DateTimeOffset Monday = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void From_GapsAndCounters_ReportsDownPeriodsAndDegradedDecisions()
    {
        var store = new HeartbeatStore(new ConsoleDatabase(Path.Combine(TempDir.Create("beats"), "console.db")));
        // Run a: from the Sunday before, every minute until Tuesday 10:00, then a clean stop; run b starts 10:30.
        var t = Monday - TimeSpan.FromHours(1);
        store.Append(new Heartbeat(t, BeatKind.Start, "a", 0, 0, 0));
        long directory = 0;
        for (t += TimeSpan.FromMinutes(1); t < Monday.AddDays(1).AddHours(10); t += TimeSpan.FromMinutes(1))
        {
            if (t == Monday.AddHours(9))
            {
                directory = 5; // five sign-ins given the network's default role between 08:59 and 09:00
            }
            store.Append(new Heartbeat(t, BeatKind.Beat, "a", directory, 0, 0));
        }
        store.Append(new Heartbeat(t, BeatKind.Stop, "a", directory, 0, 0));
        var restart = Monday.AddDays(1).AddHours(10).AddMinutes(30);
        store.Append(new Heartbeat(restart, BeatKind.Start, "b", 0, 0, 0));
        // Run b beats until Wednesday 12:00, then nothing (a crash) until 12:10; audit records dropped at 12:05 of run c.
        for (t = restart + TimeSpan.FromMinutes(1); t <= Monday.AddDays(2).AddHours(12); t += TimeSpan.FromMinutes(1))
        {
            store.Append(new Heartbeat(t, BeatKind.Beat, "b", 0, 0, 0));
        }
        var crashEnd = Monday.AddDays(2).AddHours(12).AddMinutes(10);
        store.Append(new Heartbeat(crashEnd, BeatKind.Start, "c", 0, 0, 0));
        store.Append(new Heartbeat(crashEnd + TimeSpan.FromMinutes(1), BeatKind.Beat, "c", 0, 3, 0));

        // "Now" is Wednesday 12:11:30: the report stops there.
        var a = AvailabilityFigures.From(store, Monday, Monday.AddDays(7), crashEnd + TimeSpan.FromSeconds(90));
        Assert.True(a.Monitored);
        Assert.Null(a.FirstBeat);
        Assert.Equal(2, a.Down.Count);
        Assert.Equal((Monday.AddDays(1).AddHours(10), restart), (a.Down[0].From, a.Down[0].Until));
        Assert.StartsWith("stopped", a.Down[0].Why);
        Assert.Equal((Monday.AddDays(2).AddHours(12), crashEnd), (a.Down[1].From, a.Down[1].Until));
        Assert.StartsWith("no heartbeat", a.Down[1].Why);
        Assert.Equal(TimeSpan.FromMinutes(40), a.TotalDown);
        Assert.Equal(5, a.DirectoryDefaultRole);
        Assert.Equal(3, a.AuditDropped);
        Assert.Equal(0, a.AuditRefused);
    }

    [Fact]
    public void From_NoHeartbeats_IsNotMonitored_AndTheStopUntilNowIsDown()
    {
        var store = new HeartbeatStore(new ConsoleDatabase(Path.Combine(TempDir.Create("beats-none"), "console.db")));
        Assert.False(AvailabilityFigures.From(store, Monday, Monday.AddDays(7), Monday.AddDays(8)).Monitored);

        store.Append(new Heartbeat(Monday.AddDays(3), BeatKind.Start, "a", 0, 0, 0));
        store.Append(new Heartbeat(Monday.AddDays(3).AddMinutes(1), BeatKind.Stop, "a", 0, 0, 0));
        var a = AvailabilityFigures.From(store, Monday, Monday.AddDays(7), Monday.AddDays(8));
        Assert.Equal(Monday.AddDays(3), a.FirstBeat);
        var down = Assert.Single(a.Down);
        Assert.Equal((Monday.AddDays(3).AddMinutes(1), Monday.AddDays(7)), (down.From, down.Until));
    }
}
