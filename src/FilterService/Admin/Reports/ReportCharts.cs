namespace FilterService.Admin.Reports;

/// <summary>A chart as a PNG image, with the name the HTML refers to it by (a <c>cid:</c> in the email, a data URI elsewhere).</summary>
internal sealed record ChartImage(string Name, string Title, byte[] Png);

/// <summary>
/// The weekly report's charts, drawn with ScottPlot 5 (SkiaSharp; on Linux the NoDependencies native assets, so it
/// renders headless without fontconfig packages) as PNG bars: blocked attempts by day, by category, by role and by
/// network. Each is drawn from the same <see cref="WeeklyFigures"/> the tables show.
/// </summary>
internal static class ReportCharts
{
    public const int Width = 640;
    public const int Height = 300;

    public static IReadOnlyList<ChartImage> For(WeeklyFigures figures) =>
    [
        Bars("blocked-by-day", "Blocked attempts by day", figures.BlockedByDay),
        Bars("blocked-by-category", "Blocked attempts by category", figures.BlockedByCategory.Take(12).ToList()),
        Bars("blocked-by-role", "Blocked attempts by role", figures.BlockedByRole.Take(12).ToList()),
        Bars("blocked-by-network", "Blocked attempts by network", figures.BlockedByNetwork.Take(12).ToList()),
    ];

    public static ChartImage Bars(string name, string title, IReadOnlyList<Count> counts)
    {
        var plot = new ScottPlot.Plot();
        try
        {
            var values = counts.Select(c => (double)c.Value).ToArray();
            if (values.Length > 0)
            {
                var bars = plot.Add.Bars(values);
                bars.Color = ScottPlot.Color.FromHex("#2f6f9f");
                plot.Axes.Bottom.SetTicks(Enumerable.Range(0, values.Length).Select(i => (double)i).ToArray(), counts.Select(c => Short(c.Key)).ToArray());
                plot.Axes.Margins(bottom: 0);
                plot.Axes.SetLimitsY(0, Math.Max(1, values.Max()) * 1.15);
            }
            else
            {
                plot.Add.Annotation("No blocked attempts");
            }
            plot.Title(title);
            plot.Axes.Left.Label.Text = "attempts";
            return new ChartImage(name, title, plot.GetImageBytes(Width, Height, ScottPlot.ImageFormat.Png));
        }
        finally
        {
            plot.Dispose();
        }
    }

    private static string Short(string label) => label.Length <= 16 ? label : label[..15] + "…";
}
