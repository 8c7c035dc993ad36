using System.Net;
using FilterService.Admin.Simulator;
using NodaTime;
using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace FilterService.Tests.Admin.Simulator;

/// <summary>The week view's drawing: rows of local days, bars at local clock positions, boundary labels.</summary>
public sealed class WeekChartTests
{
    private static readonly PolicySnapshot Policy = PolicyLoader.Load(RepoPaths.Sample("default")).Snapshot!;

    private static WeekChart Chart(string ip, LocalDate day) => WeekChart.From(WeekTimeline.Compute(Policy,
        new FilterRequest(IPAddress.Parse(ip), "staff1", "GET", "https", "www.facebook.com", 443, "/", default), day, inspection: false));

    private static double X(double hour) => WeekChart.Left + hour * WeekChart.PixelsPerHour;

    [Fact]
    public void Chart_StaffroomMonday_BarsAtTheLocalHours_AndEachBoundaryLabelled()
    {
        var monday = Chart("10.20.0.5", new LocalDate(2026, 11, 23)).Rows[0];

        Assert.Equal("Mon 23 Nov", monday.Day);
        Assert.Equal(
            [(X(0), X(9), true), (X(9), X(12), false), (X(12), X(13), true), (X(13), X(17), false), (X(17), X(24), true)],
            monday.Bars.Select(b => (double.Parse(b.X), double.Parse(b.X) + double.Parse(b.Width), b.Allowed)));
        Assert.Equal(["09:00", "12:00", "13:00", "17:00"], monday.Labels.Select(l => l.Text));
        Assert.Equal("Mon 12:00-Mon 13:00 allowed by staff-lunch-staffroom: "
            + "Allowed by rule 'staff-lunch-staffroom': Staff may use personal social media at lunch, from the staffroom network only.", monday.Bars[2].Title);
        // 12:00 and 13:00 are 40 px apart, 12:00 and 09:00 further: all above the bar.
        Assert.Single(monday.Labels.Select(l => l.Y).Distinct());
    }

    [Fact]
    public void Chart_SpringForwardSunday_TheSkippedHourIsAGap()
    {
        var sunday = Chart("10.30.1.5", new LocalDate(2026, 3, 23)).Rows[6];

        Assert.Equal("Sun 29 Mar", sunday.Day);
        Assert.Equal([(X(0), X(1)), (X(2), X(24))], sunday.Bars.Select(b => (double.Parse(b.X), double.Parse(b.X) + double.Parse(b.Width))));
        Assert.Empty(sunday.Labels);
    }
}
