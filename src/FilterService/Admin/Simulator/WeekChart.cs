using System.Globalization;
using NodaTime;
using PolicyModel.Decisions;

namespace FilterService.Admin.Simulator;

/// <summary>A coloured stretch of one day's row: SVG coordinates as invariant strings, the action and the tooltip.</summary>
internal sealed record ChartBar(string X, string Width, bool Allowed, string Title);

/// <summary>A boundary's time written at <see cref="X"/>, <see cref="Y"/>.</summary>
internal sealed record ChartLabel(string X, string Y, string Text);

/// <summary>One local day: its name, where its bar sits, its stretches and the boundaries inside it.</summary>
internal sealed record ChartRow(string Day, string LabelY, string BarY, IReadOnlyList<ChartBar> Bars, IReadOnlyList<ChartLabel> Labels);

/// <summary>
/// The geometry of the week view's SVG (drawn by Pages/Simulator/Week.cshtml; Razor encodes every string): seven rows
/// for the local days Monday to Sunday, each 24 hours of the wall clock wide. A segment is cut at local midnights and
/// at DST changes, and each piece is placed at its local start for its real length, so a spring-forward row shows the
/// skipped hour as a gap and an autumn row draws the repeated hour twice, the later pass over the earlier.
/// </summary>
internal sealed record WeekChart(string Width, string Height, IReadOnlyList<string> HourXs, IReadOnlyList<ChartRow> Rows)
{
    public const double Left = 72, PixelsPerHour = 40, RowHeight = 52, Top = 24, BarHeight = 20;

    public static WeekChart From(WeekTimeline week)
    {
        var zone = week.Zone;
        var rows = new List<ChartRow>();
        for (var i = 0; i < 7; i++)
        {
            var date = week.Monday.PlusDays(i);
            var (dayStart, dayEnd) = (date.AtStartOfDayInZone(zone).ToInstant(), date.PlusDays(1).AtStartOfDayInZone(zone).ToInstant());
            var rowTop = Top + i * RowHeight;
            var barY = rowTop + 16;
            var bars = new List<ChartBar>();
            var labels = new List<ChartLabel>();
            var lastLabelX = double.NegativeInfinity;
            var below = false;
            foreach (var s in week.Segments)
            {
                var (from, to) = (Max(s.Start, dayStart), Min(s.End, dayEnd));
                if (from >= to)
                {
                    continue;
                }
                foreach (var (pieceFrom, pieceTo) in SplitAtOffsetChanges(zone, from, to))
                {
                    var x = X(pieceFrom.InZone(zone).TimeOfDay);
                    var width = Math.Min((pieceTo - pieceFrom).TotalHours * PixelsPerHour, Left + 24 * PixelsPerHour - x);
                    bars.Add(new ChartBar(F(x), F(width), s.Action == DecisionAction.Allow, Title(zone, s)));
                }
                if (s.Start == from && from > dayStart)
                {
                    // A boundary inside the day: its time above the bar, or below it when it would touch the previous label.
                    var x = X(from.InZone(zone).TimeOfDay);
                    below = x - lastLabelX < 36 && !below;
                    labels.Add(new ChartLabel(F(x), F(below ? barY + BarHeight + 11 : barY - 3), $"{from.InZone(zone):HH:mm}"));
                    lastLabelX = x;
                }
            }
            rows.Add(new ChartRow($"{date:ddd d MMM}", F(barY + 14), F(barY), bars, labels));
        }

        var hours = Enumerable.Range(0, 25).Select(h => F(Left + h * PixelsPerHour)).ToArray();
        return new WeekChart(F(Left + 24 * PixelsPerHour + 8), F(Top + 7 * RowHeight), hours, rows);
    }

    /// <summary>"Mon 09:00-Mon 12:00 blocked by staff-working-hours: reason", the tooltip and the table's row.</summary>
    public static string Title(DateTimeZone zone, WeekSegment s) =>
        $"{s.Start.InZone(zone):ddd HH:mm}-{s.End.InZone(zone):ddd HH:mm} {(s.Action == DecisionAction.Allow ? "allowed" : "blocked")} by {s.Rule}: {s.Reason}";

    private static IEnumerable<(Instant, Instant)> SplitAtOffsetChanges(DateTimeZone zone, Instant from, Instant to)
    {
        while (zone.GetZoneInterval(from) is { HasEnd: true } interval && interval.End < to)
        {
            yield return (from, interval.End);
            from = interval.End;
        }
        yield return (from, to);
    }

    private static double X(LocalTime time) => Left + (time.Hour * 60 + time.Minute + time.Second / 60.0) / 60 * PixelsPerHour;

    private static Instant Max(Instant a, Instant b) => a > b ? a : b;

    private static Instant Min(Instant a, Instant b) => a < b ? a : b;

    private static string F(double v) => Math.Round(v, 2).ToString(CultureInfo.InvariantCulture);
}
