using NodaTime;
using PolicyModel.Diagnostics;

namespace PolicyModel.Schedules;

/// <summary>
/// A set of days of the week, parsed from a day spec: <c>mon</c>..<c>sun</c>, ranges (<c>mon-fri</c>, wrapping
/// <c>fri-mon</c>), comma lists (<c>mon,wed,fri</c>) and the words <c>daily</c>, <c>weekdays</c>, <c>weekends</c>.
/// Equality is by the set of days; the default value is the empty set. Immutable.
/// </summary>
internal readonly record struct DaySet(byte Mask)
{
    public static readonly string[] Names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    private static readonly string[] Words = ["daily", "weekdays", "weekends"];

    public static readonly DaySet All = new(0b111_1111);

    public bool IsEmpty => Mask == 0;

    public bool Contains(IsoDayOfWeek day) => (Mask & Bit(day)) != 0;

    public IEnumerable<IsoDayOfWeek> Days
    {
        get
        {
            for (var d = IsoDayOfWeek.Monday; d <= IsoDayOfWeek.Sunday; d++)
            {
                if (Contains(d))
                    yield return d;
            }
        }
    }

    public static string Name(IsoDayOfWeek day) => Names[(int)day - 1];

    /// <summary>Parses a day spec. On failure <paramref name="error"/> is the diagnostic message and <paramref name="offset"/> the offending token's index.</summary>
    public static bool TryParse(string text, out DaySet days, out Problem? error, out int offset)
    {
        days = default;
        byte mask = 0;
        var position = 0;
        foreach (var raw in text.Split(','))
        {
            var token = raw.Trim();
            offset = position + (raw.Length - raw.TrimStart().Length);
            position += raw.Length + 1;
            var lower = token.ToLowerInvariant();
            switch (lower)
            {
                case "daily":
                    mask |= All.Mask;
                    continue;
                case "weekdays":
                    mask |= 0b001_1111;
                    continue;
                case "weekends":
                    mask |= 0b110_0000;
                    continue;
                case "":
                    error = new Problem(Messages.EmptyDayName, [text]);
                    return false;
            }

            var dash = lower.IndexOf('-');
            if (dash < 0)
            {
                if (!TryDay(lower, out var day))
                {
                    error = UnknownDay(token);
                    return false;
                }

                mask |= Bit(day);
                continue;
            }

            var fromText = lower[..dash].Trim();
            var toText = lower[(dash + 1)..].Trim();
            if (!TryDay(fromText, out var from))
            {
                error = UnknownDay(token[..dash].Trim());
                return false;
            }

            if (!TryDay(toText, out var to))
            {
                offset += dash + 1 + (token.Length - dash - 1 - token[(dash + 1)..].TrimStart().Length);
                error = UnknownDay(token[(dash + 1)..].Trim());
                return false;
            }

            // Ranges wrap round the week: fri-mon is fri, sat, sun, mon.
            for (var d = from; ; d = d == IsoDayOfWeek.Sunday ? IsoDayOfWeek.Monday : d + 1)
            {
                mask |= Bit(d);
                if (d == to)
                    break;
            }
        }

        days = new DaySet(mask);
        error = null;
        offset = 0;
        return true;
    }

    public override string ToString() => string.Join(",", Days.Select(Name));

    private static bool TryDay(string lower, out IsoDayOfWeek day)
    {
        var i = Array.IndexOf(Names, lower);
        day = i < 0 ? IsoDayOfWeek.None : (IsoDayOfWeek)(i + 1);
        return i >= 0;
    }

    private static Problem UnknownDay(string token) =>
        new(Messages.UnknownDay, [token, Suggestions.DidYouMean(token, Names.Concat(Words),
            "; expected mon..sun, a range like mon-fri, a list like mon,wed,fri, daily, weekdays or weekends")]);

    private static byte Bit(IsoDayOfWeek day) => (byte)(1 << ((int)day - 1));
}
