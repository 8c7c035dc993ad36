using System.Collections.Immutable;
using NodaTime;
using PolicyModel.Decisions;

namespace FilterService.Admin.Simulator;

/// <summary>
/// One stretch of the week with one answer: <c>[Start, End)</c>, half-open, the action and the rule that decides it
/// (as <see cref="Decision.Rule"/> names it) with its reason. Equality is by value. Immutable.
/// </summary>
internal sealed record WeekSegment(Instant Start, Instant End, DecisionAction Action, string Rule, string Reason);

/// <summary>
/// Which rule decides one request at each moment of one week (Monday 00:00 to the next Monday 00:00 on the policy's
/// clock, so 167 or 169 hours in a DST week): the week view of the console's simulator. Exact, not sampled: see
/// <see cref="Compute"/>. Immutable.
/// </summary>
internal sealed record WeekTimeline(LocalDate Monday, DateTimeZone Zone, Instant Start, Instant End, ImmutableArray<WeekSegment> Segments)
{
    /// <summary>
    /// The week containing <paramref name="day"/> for <paramref name="asked"/> (its <c>At</c> is ignored), decided as a proxy
    /// with (<paramref name="inspection"/>) or without an inspection CA would, by the same <see cref="Explainer"/> as
    /// <c>explain</c>.
    /// </summary>
    /// <remarks>
    /// 1. The boundaries: every instant in the week at which an exception or rule that could decide the request comes
    ///    into or goes out of force (<see cref="PolicySnapshot.ChangePoints"/>: schedule windows on the local clock with
    ///    DST, term calendar days, holidays and INSET days, the user's timetable, exception <c>from</c>/<c>until</c>),
    ///    for the request as asked and, for an https URL, as the CONNECT the proxy first sees.
    /// 2. The engine once per interval between consecutive boundaries, at its start: nothing that decides changes inside.
    /// 3. Neighbours with the same action, rule and reason merged.
    /// </remarks>
    public static WeekTimeline Compute(PolicySnapshot snapshot, FilterRequest asked, LocalDate day, bool inspection)
    {
        var zone = snapshot.TimeZone;
        var monday = day.With(DateAdjusters.PreviousOrSame(IsoDayOfWeek.Monday));
        var start = monday.AtStartOfDayInZone(zone).ToInstant();
        var end = monday.PlusWeeks(1).AtStartOfDayInZone(zone).ToInstant();
        var (from, to) = (start.ToDateTimeOffset(), end.ToDateTimeOffset());

        var boundaries = new SortedSet<Instant> { start, end };
        Add(boundaries, snapshot.ChangePoints(asked, from, to));
        if (asked.Scheme == "https" && asked.PathAndQuery.Length > 0)
        {
            Add(boundaries, snapshot.ChangePoints(asked with { Method = "CONNECT", PathAndQuery = "" }, from, to));
        }

        var segments = ImmutableArray.CreateBuilder<WeekSegment>();
        var points = boundaries.ToArray();
        for (var i = 0; i + 1 < points.Length; i++)
        {
            var d = Explainer.Explain(snapshot, asked with { At = points[i].ToDateTimeOffset() }, inspection).Decision;
            if (segments.Count > 0 && segments[^1] is var last && last.Action == d.Action && last.Rule == d.Rule && last.Reason == d.Reason)
            {
                segments[^1] = last with { End = points[i + 1] };
                continue;
            }
            segments.Add(new WeekSegment(points[i], points[i + 1], d.Action, d.Rule, d.Reason));
        }

        return new WeekTimeline(monday, zone, start, end, segments.ToImmutable());
    }

    private static void Add(SortedSet<Instant> into, IReadOnlyList<DateTimeOffset> points)
    {
        foreach (var p in points)
        {
            into.Add(Instant.FromDateTimeOffset(p));
        }
    }
}
