using System.Globalization;
using NodaTime;
using PolicyModel.Diagnostics;

namespace PolicyModel.Schedules;

/// <summary>
/// A daily window of wall-clock time, half-open: <c>[Start, End)</c>, in whole minutes since midnight.
/// <see cref="End"/> may be 1440 (<c>24:00</c>). <see cref="End"/> &lt; <see cref="Start"/> means the window crosses
/// midnight and runs into the next day; <see cref="Start"/> == <see cref="End"/> is empty and rejected by the compiler.
/// Equality is by value; the default value is the empty window at midnight. Immutable.
/// </summary>
internal readonly record struct TimeWindow(int Start, int End)
{
    public const int MinutesPerDay = 24 * 60;

    public static readonly TimeWindow AllDay = new(0, MinutesPerDay);

    public bool CrossesMidnight => End < Start;

    public override string ToString() => $"{Format(Start)}-{Format(End)}";

    public static string Format(int minutes) =>
        string.Create(CultureInfo.InvariantCulture, $"{minutes / 60:00}:{minutes % 60:00}");

    /// <summary>
    /// Parses <c>HH:MM-HH:MM</c> windows separated by commas, or <c>all day</c>. On failure <paramref name="error"/> is the
    /// message and <paramref name="offset"/> the index of the offending range in <paramref name="text"/>.
    /// </summary>
    public static bool TryParseList(string text, out List<(TimeWindow Window, int Offset)> windows, out Problem? error, out int offset)
    {
        windows = new();
        var position = 0;
        foreach (var raw in text.Split(','))
        {
            var token = raw.Trim();
            offset = position + (raw.Length - raw.TrimStart().Length);
            position += raw.Length + 1;
            if (token.Equals("all day", StringComparison.OrdinalIgnoreCase))
            {
                windows.Add((AllDay, offset));
                continue;
            }

            var dash = token.IndexOf('-');
            if (dash < 0
                || !TryParseTime(token[..dash].Trim(), allow2400: false, out var start)
                || !TryParseTime(token[(dash + 1)..].Trim(), allow2400: true, out var end))
            {
                error = new Problem(Messages.BadTimeRange, [token]);
                return false;
            }

            windows.Add((new TimeWindow(start, end), offset));
        }

        error = null;
        offset = 0;
        return true;
    }

    /// <summary>Parses <c>HH:MM</c> (one-digit hours accepted) into minutes since midnight; <c>24:00</c> only when <paramref name="allow2400"/>.</summary>
    public static bool TryParseTime(string text, bool allow2400, out int minutes)
    {
        minutes = 0;
        var colon = text.IndexOf(':');
        if (colon is < 1 or > 2 || text.Length != colon + 3)
            return false;
        if (!int.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var h)
            || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var m))
            return false;
        if (h == 24 && m == 0 && allow2400)
        {
            minutes = MinutesPerDay;
            return true;
        }

        if (h > 23 || m > 59)
            return false;
        minutes = h * 60 + m;
        return true;
    }
}

/// <summary>
/// A piece of a window that lies within one local day: <c>[Start, End)</c> minutes, <c>Start &lt; End</c>.
/// A midnight-crossing window becomes two segments; <see cref="StartedDaysBefore"/> is 1 for the tail, so
/// the calendar filter looks at the day the window started. <see cref="Origin"/> is the builder's index of the
/// window it came from. Equality is by value; the default value is empty. Immutable.
/// </summary>
internal readonly record struct DaySegment(int Start, int End, int StartedDaysBefore, int Origin)
{
    public bool Contains(LocalTime time)
    {
        var minute = time.Hour * 60 + time.Minute;
        return minute >= Start && minute < End;
    }
}
