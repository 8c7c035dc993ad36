using FilterService.Admin.Reports;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages.Reports;

/// <summary>
/// /reports/weekly: the weekly report of a chosen ISO week (default last week), the same HTML the email carries (charts
/// as data URIs instead of inline parts), and its download. Read-only: any signed-in role. No person's name is in it.
/// </summary>
[Authorize(Policy = ConsolePolicies.Read)]
internal sealed class WeeklyModel(WeeklyReportBuilder builder) : PageModel
{
    /// <summary>The week asked for, as <c>&lt;input type="week"&gt;</c> sends it (<c>2026-W48</c>).</summary>
    [BindProperty(SupportsGet = true)]
    public string? Week { get; set; }

    public string? Error { get; private set; }
    public ReportWeek? Shown { get; private set; }

    /// <summary>The report fragment: every value in it was encoded by <see cref="ReportHtml.E"/> when it was rendered.</summary>
    public string Html { get; private set; } = "";

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        if (await BuildAsync(cancellationToken) is { } report)
        {
            Html = WeeklyReportHtml.Render(report, ReportCharts.For(report.Figures), DataUri, document: false);
        }
    }

    /// <summary>The whole document, as the email's HTML with its charts inline, for filing.</summary>
    public async Task<IActionResult> OnGetDownloadAsync(CancellationToken cancellationToken)
    {
        if (await BuildAsync(cancellationToken) is not { } report)
        {
            return BadRequest(Error ?? "no such week");
        }
        var html = WeeklyReportHtml.Render(report, ReportCharts.For(report.Figures), DataUri);
        return File(System.Text.Encoding.UTF8.GetBytes(html), "text/html; charset=utf-8", $"weekly-report-{report.Week}.html");
    }

    private async Task<WeeklyReport?> BuildAsync(CancellationToken cancellationToken)
    {
        var zone = builder.Sources.Policy().TimeZone;
        Shown = string.IsNullOrWhiteSpace(Week) ? builder.LastWeek() : ReportWeek.Parse(Week.Trim(), zone, out var error) ?? Fail(error);
        Week = Shown?.ToString() ?? Week;
        return Shown is null ? null : await builder.BuildAsync(Shown, cancellationToken);
    }

    private ReportWeek? Fail(string? error)
    {
        Error = error;
        return null;
    }

    private static string DataUri(ChartImage chart) => "data:image/png;base64," + Convert.ToBase64String(chart.Png);
}
