using NodaTime;

namespace PolicyModel.Schedules;

/// <summary>
/// A compiled schedule: weekly windows, term calendar and per-user timetable, evaluated on the local
/// wall-clock time in the policy's time zone. Immutable and thread-safe.
/// </summary>
/// <remarks>
/// Active at an instant when every part present holds for the local date-time at that instant (see README.md):
/// a weekly window contains the local time; the calendar's day filter holds for the day that window started
/// (the local date when there are no weekly windows, and also the local date when there is a timetable); the
/// user's timetable contains the local time. Windows are half-open <c>[start, end)</c>.
/// </remarks>
public sealed class Schedule
{
    /// <summary>How far <see cref="NextChange"/> looks ahead before answering "never".</summary>
    public static readonly Duration Horizon = Duration.FromDays(400);

    private readonly DateTimeZone _zone;
    private readonly WeekTable? _weekly;
    private readonly TermCalendar? _calendar;
    private readonly DayFilter _days;
    private readonly Timetable? _timetable;

    internal Schedule(string name, DateTimeZone zone, WeekTable? weekly, TermCalendar? calendar, DayFilter days, Timetable? timetable)
    {
        Name = name;
        _zone = zone;
        _weekly = weekly;
        _calendar = calendar;
        _days = days;
        _timetable = timetable;
    }

    public string Name { get; }

    /// <summary>The policy's time zone, in which windows are read.</summary>
    public DateTimeZone Zone => _zone;

    /// <summary>Whether the schedule is active at <paramref name="at"/> for <paramref name="user"/> (null: no user known).</summary>
    public bool IsActive(Instant at, string? user)
    {
        var local = at.InZone(_zone).LocalDateTime;
        return IsActive(local.Date, local.TimeOfDay, _timetable?.For(user));
    }

    private bool IsActive(LocalDate date, LocalTime time, WeekTable? userPeriods)
    {
        var day = date.DayOfWeek;
        if (_timetable is not null)
        {
            if (userPeriods is null || !userPeriods.TryFind(day, time, out _))
                return false;
            if (_calendar is not null && !_calendar.Matches(date, _days))
                return false;
        }

        if (_weekly is not null)
        {
            if (!_weekly.TryFind(day, time, out var segment))
                return false;

            // A window crossing midnight belongs to the day it started.
            return _calendar is null || _calendar.Matches(date.PlusDays(-segment.StartedDaysBefore), _days);
        }

        return _calendar is null || _calendar.Matches(date, _days);
    }

    /// <summary>
    /// The first instant strictly after <paramref name="after"/> at which <see cref="IsActive"/> differs from its value at
    /// <paramref name="after"/>; null if it never changes within 400 days.
    /// </summary>
    /// <remarks>
    /// <see cref="IsActive"/> can only change where the local date-time crosses a window boundary or midnight, or
    /// where the zone's offset changes. Walking forward a local day at a time, we map that day's boundaries to
    /// instants (a boundary in a DST gap becomes the end of the gap; one in an overlap both of its instants), add the
    /// zone transitions, and test the candidates in order. The state is constant between consecutive candidates,
    /// so the first candidate with a different state is the answer.
    /// </remarks>
    public Instant? NextChange(Instant after, string? user)
    {
        var userPeriods = _timetable?.For(user);
        var initial = IsActive(after, user);
        if (_timetable is not null && userPeriods is null)
            return null; // not in the timetable: never active

        var limit = after + Horizon;
        var pending = new SortedSet<Instant>();
        var date = after.InZone(_zone).Date.PlusDays(-1);
        while (true)
        {
            AddCandidates(date, userPeriods, pending);

            // Any candidate from a later local day maps to at least this instant; those below it are final.
            date = date.PlusDays(1);
            var settled = new OffsetDateTime(date.AtMidnight(), _zone.MaxOffset).ToInstant();
            while (pending.Count > 0 && pending.Min < settled)
            {
                var candidate = pending.Min;
                pending.Remove(candidate);
                if (candidate <= after)
                    continue;
                if (candidate > limit)
                    return null;
                if (IsActive(candidate, user) != initial)
                    return candidate;
            }

            if (settled > limit)
                return null;
        }
    }

    private void AddCandidates(LocalDate date, WeekTable? userPeriods, SortedSet<Instant> into)
    {
        var day = date.DayOfWeek;
        AddLocal(date.AtMidnight(), into);
        if (_weekly is not null)
            AddSegments(date, _weekly, into);
        if (userPeriods is not null)
            AddSegments(date, userPeriods, into);

        // Offset changes: local time jumps, so a window can open or close without a boundary being crossed.
        var start = date.AtStartOfDayInZone(_zone).ToInstant();
        var end = date.PlusDays(1).AtStartOfDayInZone(_zone).ToInstant();
        var interval = _zone.GetZoneInterval(start);
        while (interval.HasEnd && interval.End < end)
        {
            into.Add(interval.End);
            interval = _zone.GetZoneInterval(interval.End);
        }
    }

    private void AddSegments(LocalDate date, WeekTable table, SortedSet<Instant> into)
    {
        foreach (var segment in table.On(date.DayOfWeek))
        {
            AddLocal(date.At(LocalTime.Midnight.PlusMinutes(segment.Start)), into);
            AddLocal(date.AtMidnight().PlusMinutes(segment.End), into);
        }
    }

    private void AddLocal(LocalDateTime local, SortedSet<Instant> into)
    {
        var mapping = _zone.MapLocal(local);
        switch (mapping.Count)
        {
            case 0:
                into.Add(mapping.LateInterval.Start); // the boundary is skipped; the clock lands past it at the gap's end
                break;
            case 1:
                into.Add(mapping.First().ToInstant());
                break;
            default:
                into.Add(mapping.First().ToInstant());
                into.Add(mapping.Last().ToInstant());
                break;
        }
    }
}
