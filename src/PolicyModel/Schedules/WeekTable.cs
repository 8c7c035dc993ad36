using System.Collections.Immutable;
using NodaTime;

namespace PolicyModel.Schedules;

/// <summary>
/// Windows laid out over the seven days of the week, each day's segments sorted and non-overlapping (the
/// builder reports overlaps). Used for a schedule's <c>weekly:</c> windows and for each user's timetable.
/// Immutable and thread-safe.
/// </summary>
internal sealed class WeekTable
{
    private readonly ImmutableArray<DaySegment>[] _days; // index 0 = Monday

    private WeekTable(ImmutableArray<DaySegment>[] days) => _days = days;

    public ImmutableArray<DaySegment> On(IsoDayOfWeek day) => _days[(int)day - 1];

    /// <summary>Finds the segment containing <paramref name="time"/> on <paramref name="day"/>, if any.</summary>
    public bool TryFind(IsoDayOfWeek day, LocalTime time, out DaySegment segment)
    {
        foreach (var s in On(day))
        {
            if (s.Contains(time))
            {
                segment = s;
                return true;
            }
        }

        segment = default;
        return false;
    }

    /// <summary>Collects windows; <see cref="Build"/> sorts them and reports each overlapping pair once.</summary>
    internal sealed class Builder
    {
        private readonly List<DaySegment>[] _days = Enumerable.Range(0, 7).Select(_ => new List<DaySegment>()).ToArray();

        /// <summary>
        /// Adds <paramref name="window"/> starting on <paramref name="day"/>. A midnight-crossing window also puts its tail on
        /// the next day. <paramref name="origin"/> is the caller's index for the window, handed back when reporting overlaps.
        /// </summary>
        public void Add(IsoDayOfWeek day, TimeWindow window, int origin)
        {
            if (!window.CrossesMidnight)
            {
                _days[(int)day - 1].Add(new DaySegment(window.Start, window.End, 0, origin));
                return;
            }

            _days[(int)day - 1].Add(new DaySegment(window.Start, TimeWindow.MinutesPerDay, 0, origin));
            if (window.End > 0)
                _days[(int)day % 7].Add(new DaySegment(0, window.End, 1, origin));
        }

        /// <summary>
        /// Sorts each day and calls <paramref name="overlap"/>(earlier origin, the day it starts, later origin, the day it starts)
        /// once per overlapping pair of origins, on the first day of the week they meet.
        /// </summary>
        public WeekTable Build(Action<int, IsoDayOfWeek, int, IsoDayOfWeek> overlap)
        {
            var reported = new HashSet<(int, int)>();
            var days = new ImmutableArray<DaySegment>[7];
            for (var i = 0; i < 7; i++)
            {
                var segments = _days[i].OrderBy(s => s.Start).ThenBy(s => s.End).ToList();
                for (var a = 0; a < segments.Count; a++)
                {
                    for (var b = a + 1; b < segments.Count && segments[b].Start < segments[a].End; b++)
                    {
                        var (first, second) = segments[a].Origin <= segments[b].Origin ? (segments[a], segments[b]) : (segments[b], segments[a]);
                        if (reported.Add((first.Origin, second.Origin)))
                        {
                            var on = (IsoDayOfWeek)(i + 1);
                            overlap(first.Origin, StartDay(on, first), second.Origin, StartDay(on, second));
                        }
                    }
                }

                days[i] = segments.ToImmutableArray();
            }

            return new WeekTable(days);
        }

        private static IsoDayOfWeek StartDay(IsoDayOfWeek on, DaySegment s) =>
            s.StartedDaysBefore == 0 ? on : on == IsoDayOfWeek.Monday ? IsoDayOfWeek.Sunday : on - 1;
    }
}
