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

    /// <summary>
    /// The reports' styles (Admin/Assets/reports.css, embedded): linked by the console pages, inline in the email and the
    /// downloaded documents. Email-safe and print-friendly; scoped to <c>.report</c>.
    /// </summary>
    public static string Css => s_css.Value;

    private static readonly Lazy<string> s_css = new(() =>
    {
        using var stream = typeof(ReportHtml).Assembly.GetManifestResourceStream("console-assets/reports.css")
            ?? throw new InvalidOperationException("the embedded console-assets/reports.css is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    public static string Time(DateTimeOffset at, NodaTime.DateTimeZone zone) =>
        NodaTime.Instant.FromDateTimeOffset(at).InZone(zone).ToString("ddd d MMM yyyy HH:mm", Culture);

    public static string Duration(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(Culture, $"{(int)t.TotalHours} h {t.Minutes} min")
        : string.Create(Culture, $"{Math.Max(1, (int)Math.Round(t.TotalMinutes))} min");

    /// <summary>
    /// Opens a report: a whole document (<paramref name="document"/>, for the email and a download: the styles inline)
    /// or a fragment for a console page (which links reports.css). Either way the content is inside <c>div.report</c>.
    /// </summary>
    public static void Start(StringBuilder html, string title, bool document)
    {
        if (document)
        {
            html.Append("<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
            html.Append("<title>").Append(E(title)).Append("</title><style>").Append(Css).Append("</style></head><body>\n");
        }
        html.Append("<div class=\"report\">\n");
    }

    public static void End(StringBuilder html, bool document)
    {
        html.Append("</div>\n");
        if (document)
        {
            html.Append("</body></html>\n");
        }
    }

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
