using System.Globalization;
using System.Net;
using System.Text;

namespace FilterService.Admin.Reports;

/// <summary>
/// Small HTML helpers shared by the weekly report and the review pack: every text goes through
/// <see cref="WebUtility.HtmlEncode(string)"/> (<see cref="E"/>); times are shown in the policy's zone.
/// </summary>
internal static class ReportHtml
{
    public static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    /// <summary>Print-friendly, email-safe styles (no external resources, no scripts).</summary>
    public const string Css = """
        body { font-family: "DejaVu Sans", Arial, sans-serif; color: #1b1b1b; max-width: 60rem; margin: 1rem auto; padding: 0 .75rem; line-height: 1.4; }
        h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 1.6rem; border-bottom: 1px solid #bbb; }
        table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .9rem; }
        th, td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid #ddd; vertical-align: top; }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
        .meta { color: #555; font-size: .9rem; } .ok { color: #1d6b2c; } .warn { color: #8a5a00; } .bad { color: #a11; font-weight: bold; }
        .critical { background: #fde8e8; } .flag { background: #fff4d6; }
        img.chart { max-width: 100%; height: auto; display: block; margin: .5rem 0; }
        .wrap { overflow-x: auto; }
        @media print { body { max-width: none; margin: 0; } h2 { page-break-after: avoid; } tr, img.chart { page-break-inside: avoid; } .noprint { display: none; } }
        """;

    public static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    public static string Time(DateTimeOffset at, NodaTime.DateTimeZone zone) =>
        NodaTime.Instant.FromDateTimeOffset(at).InZone(zone).ToString("ddd d MMM yyyy HH:mm", Culture);

    public static string Duration(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(Culture, $"{(int)t.TotalHours} h {t.Minutes} min")
        : string.Create(Culture, $"{Math.Max(1, (int)Math.Round(t.TotalMinutes))} min");

    public static void Start(StringBuilder html, string title)
    {
        html.Append("<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        html.Append("<title>").Append(E(title)).Append("</title><style>").Append(Css).Append("</style></head><body>\n");
    }

    public static void End(StringBuilder html) => html.Append("</body></html>\n");

    /// <summary>A two-column table of counts; each row carries <c>data-key</c> and <c>data-count</c> so a test can read it back.</summary>
    public static void Counts(StringBuilder html, string id, string keyHeading, IReadOnlyList<Count> counts, string empty)
    {
        if (counts.Count == 0)
        {
            html.Append("<p id=\"").Append(id).Append("\" class=\"ok\">").Append(E(empty)).Append("</p>\n");
            return;
        }
        html.Append("<table id=\"").Append(id).Append("\"><thead><tr><th>").Append(E(keyHeading)).Append("</th><th class=\"n\">Attempts</th></tr></thead><tbody>");
        foreach (var c in counts)
        {
            html.Append("<tr data-key=\"").Append(E(c.Key)).Append("\" data-count=\"").Append(c.Value.ToString(Culture)).Append("\"><td>")
                .Append(E(c.Key)).Append("</td><td class=\"n\">").Append(c.Value.ToString("N0", Culture)).Append("</td></tr>");
        }
        html.Append("</tbody></table>\n");
    }
}
