using FilterService.Admin.Simulator;

namespace FilterService.Admin.Pages.Simulator;

/// <summary>The week view: which rule decides one person's request at each moment of a week, drawn as a timeline.</summary>
internal sealed class WeekModel(SimulatorService simulator) : SimulatorPageModel(simulator)
{
    internal WeekTimeline? Timeline { get; private set; }

    internal WeekChart? Chart { get; private set; }

    public void OnGet()
    {
        // From "why" (a time, no week): the week of that time; else this week.
        Week ??= At is { Length: >= 10 } at && NodaTime.Text.LocalDatePattern.Iso.Parse(at[..10]).Success ? at[..10] : Simulator.Today;
        if (Form.Asked)
        {
            Timeline = Simulator.Week(Form with { At = null }, Problems);
            Chart = Timeline is null ? null : WeekChart.From(Timeline);
        }
    }
}
