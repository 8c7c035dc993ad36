namespace FilterService.Admin.Reports;

/// <summary>A time the filter was not running (or not recording its heartbeat), clipped to the week.</summary>
internal sealed record DownPeriod(DateTimeOffset From, DateTimeOffset Until, string Why)
{
    public TimeSpan Length => Until - From;
}

/// <summary>Decisions made in a degraded mode between two heartbeats of one run.</summary>
internal sealed record DegradedPeriod(DateTimeOffset From, DateTimeOffset Until, long DirectoryDefaultRole, long AuditDropped, long AuditRefused);

/// <summary>What the heartbeats say about a week: when the filter was down and when it failed open.</summary>
internal sealed record AvailabilityFigures(
    bool Monitored,
    DateTimeOffset? FirstBeat,
    IReadOnlyList<DownPeriod> Down,
    IReadOnlyList<DegradedPeriod> Degraded)
{
    public TimeSpan TotalDown => Down.Aggregate(TimeSpan.Zero, (t, d) => t + d.Length);
    public long DirectoryDefaultRole => Degraded.Sum(d => d.DirectoryDefaultRole);
    public long AuditDropped => Degraded.Sum(d => d.AuditDropped);
    public long AuditRefused => Degraded.Sum(d => d.AuditRefused);

    /// <summary>
    /// Reads the heartbeats around <c>[from, until)</c> (until no later than <paramref name="now"/>). A gap longer than
    /// <see cref="HeartbeatWriter.DownAfter"/> between consecutive rows is a down period: "stopped" when the row before it
    /// is a clean stop, otherwise "no heartbeat" (a crash, a hang of the whole process, the machine off, or console.db not
    /// writable). Counters are cumulative per run, so the difference between consecutive rows of one run is what happened
    /// between them; a new run starts from zero.
    /// </summary>
    public static AvailabilityFigures From(HeartbeatStore store, DateTimeOffset from, DateTimeOffset until, DateTimeOffset now)
    {
        var end = until < now ? until : now;
        var rows = store.List(from - TimeSpan.FromDays(2), end + TimeSpan.FromMinutes(5));
        var before = rows.Where(r => r.At < from).ToList();
        var inside = rows.Where(r => r.At >= from && r.At < end).ToList();
        if (inside.Count == 0 && before.Count == 0)
        {
            return new AvailabilityFigures(false, null, [], []);
        }
        var sequence = (before.Count > 0 ? [before[^1]] : new List<Heartbeat>()).Concat(inside).ToList();
        var down = new List<DownPeriod>();
        var degraded = new List<DegradedPeriod>();
        var first = sequence[0];
        // No row before the week: monitoring began during it; the time before its first row is unknown, not down.
        for (int i = 1; i < sequence.Count; i++)
        {
            Gap(sequence[i - 1], sequence[i].At, from, end, down);
            if (sequence[i].Run == sequence[i - 1].Run)
            {
                var (a, b) = (sequence[i - 1], sequence[i]);
                long dir = b.DirectoryDefaultRole - a.DirectoryDefaultRole, dropped = b.AuditDropped - a.AuditDropped, refused = b.AuditRefused - a.AuditRefused;
                if (dir > 0 || dropped > 0 || refused > 0)
                {
                    degraded.Add(new DegradedPeriod(a.At, b.At, dir, dropped, refused));
                }
            }
            else if (sequence[i].Kind == BeatKind.Start)
            {
                var b = sequence[i];
                if (b.DirectoryDefaultRole > 0 || b.AuditDropped > 0 || b.AuditRefused > 0)
                {
                    degraded.Add(new DegradedPeriod(b.At, b.At, b.DirectoryDefaultRole, b.AuditDropped, b.AuditRefused));
                }
            }
        }
        Gap(sequence[^1], end, from, end, down);
        return new AvailabilityFigures(true, before.Count > 0 ? null : first.At, down, degraded);
    }

    private static void Gap(Heartbeat last, DateTimeOffset next, DateTimeOffset from, DateTimeOffset end, List<DownPeriod> down)
    {
        if (next - last.At <= HeartbeatWriter.DownAfter)
        {
            return;
        }
        var start = last.At < from ? from : last.At;
        var stop = next > end ? end : next;
        if (stop > start)
        {
            down.Add(new DownPeriod(start, stop, last.Kind == BeatKind.Stop ? "stopped (a clean shutdown)" : "no heartbeat (a crash, a hang, the machine off, or console.db not writable)"));
        }
    }
}
