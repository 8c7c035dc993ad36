using System.Globalization;
using System.Text.RegularExpressions;
using NodaTime;
using NodaTime.Calendars;

namespace FilterService.Admin.Reports;

/// <summary>
/// One ISO week (<c>2026-W48</c>) in the policy's time zone: <c>[Monday 00:00, next Monday 00:00)</c> local, half-open.
/// A week containing a clock change is 167 or 169 hours long; both ends are the local midnights, resolved leniently
/// (a midnight that does not exist is the first instant after the gap). Immutable; equal when year, week and zone are.
/// </summary>
internal sealed partial record ReportWeek(int Year, int Week, DateTimeZone Zone)
{
    public LocalDate Monday => LocalDate.FromWeekYearWeekAndDay(Year, Week, IsoDayOfWeek.Monday);

    public DateTimeOffset From => Zone.AtStartOfDay(Monday).ToDateTimeOffset();

    public DateTimeOffset Until => Zone.AtStartOfDay(Monday.PlusWeeks(1)).ToDateTimeOffset();

    /// <summary>The seven local days, Monday first.</summary>
    public IEnumerable<LocalDate> Days => Enumerable.Range(0, 7).Select(i => Monday.PlusDays(i));

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Year}-W{Week:00}");

    /// <summary>Parses <c>YYYY-Www</c>; null with a reason when it is not an ISO week.</summary>
    public static ReportWeek? Parse(string text, DateTimeZone zone, out string? error)
    {
        error = null;
        var m = Pattern().Match(text ?? "");
        if (!m.Success)
        {
            error = $"'{text}' is not an ISO week such as 2026-W48";
            return null;
        }
        int year = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), week = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        if (year is < 2000 or > 9998 || week < 1 || week > WeekYearRules.Iso.GetWeeksInWeekYear(year))
        {
            error = $"'{text}': {year} has {WeekYearRules.Iso.GetWeeksInWeekYear(Math.Clamp(year, 2000, 9998))} ISO weeks";
            return null;
        }
        return new ReportWeek(year, week, zone);
    }

    /// <summary>The week containing <paramref name="instant"/> in <paramref name="zone"/>.</summary>
    public static ReportWeek Containing(DateTimeOffset instant, DateTimeZone zone)
    {
        var date = Instant.FromDateTimeOffset(instant).InZone(zone).Date;
        return new ReportWeek(WeekYearRules.Iso.GetWeekYear(date), WeekYearRules.Iso.GetWeekOfWeekYear(date), zone);
    }

    /// <summary>The last whole week before the one containing <paramref name="instant"/>: what a Monday-morning report covers.</summary>
    public static ReportWeek LastCompleteBefore(DateTimeOffset instant, DateTimeZone zone)
    {
        var current = Containing(instant, zone);
        var previous = current.Monday.PlusWeeks(-1);
        return new ReportWeek(WeekYearRules.Iso.GetWeekYear(previous), WeekYearRules.Iso.GetWeekOfWeekYear(previous), zone);
    }

    [GeneratedRegex(@"^(\d{4})-W(\d{2})$")]
    private static partial Regex Pattern();
}
