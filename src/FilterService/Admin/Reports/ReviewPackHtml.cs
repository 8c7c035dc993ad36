using System.Text;
using static FilterService.Admin.Reports.ReportHtml;

namespace FilterService.Admin.Reports;

/// <summary>
/// The annual review pack as one HTML document with print styles, for the governors to file (print to PDF from any
/// browser). Findings first, then every group against every category, the test addresses, the policy in plain English,
/// the year's changes and the incidents summary. Roles and networks, never people's names.
/// </summary>
internal static class ReviewPackHtml
{
    public static string Render(ReviewPack pack, NodaTime.DateTimeZone zone, bool document = true)
    {
        var c = pack.Checks;
        var html = new StringBuilder(64 * 1024);
        Start(html, $"Annual filtering review: {c.School}", document);
        html.Append("<h1>Annual filtering review: ").Append(E(c.School)).Append("</h1>\n<p class=\"meta\">Run ").Append(E(Time(c.RanAt, zone)))
            .Append(" through the live policy (version ").Append(E(c.PolicyVersion)).Append("), each request decided as at ").Append(E(Time(c.DecidedAt, zone)))
            .Append(" by the engine the proxy itself uses; ").Append(c.Inspection ? "with" : "without")
            .Append(" TLS inspection (without it an https site is decided on its host name alone).</p>\n");
        foreach (var p in pack.Problems)
        {
            html.Append("<p class=\"warn problem\">").Append(E(p)).Append("</p>\n");
        }

        html.Append("<h2>Findings</h2>\n");
        var flags = c.Flags.ToList();
        if (flags.Count == 0)
        {
            html.Append("<p class=\"ok\" id=\"findings\" data-flags=\"0\">No statutory category is reachable by any group, and no pupil group reaches a category pupils must not reach (")
                .Append(E(c.MustNotReach.Count > 0 ? string.Join(", ", c.MustNotReach) : "none configured")).Append(").</p>\n");
        }
        else
        {
            html.Append("<ul id=\"findings\" data-flags=\"").Append(flags.Count.ToString(Culture)).Append("\">");
            foreach (var f in flags.OrderByDescending(f => f.Critical))
            {
                html.Append("<li class=\"").Append(f.Critical ? "bad critical" : "warn flag").Append("\" data-group=\"").Append(E(f.Group.Name)).Append("\" data-category=\"")
                    .Append(E(f.Category)).Append("\">").Append(f.Critical ? "CRITICAL: " : "Flag: ").Append(E(f.Flag)).Append(" Allowed: ")
                    .Append(E(string.Join(", ", f.Probes.Where(p => p.Allowed).Select(p => $"{p.Address.Address} (rule {p.Rule})")))).Append("</li>");
            }
            html.Append("</ul>\n");
        }
        foreach (var note in c.Notes)
        {
            html.Append("<p class=\"warn note\">").Append(E(note)).Append("</p>\n");
        }

        html.Append("<h2>What each group can reach</h2>\n<p class=\"meta\">Pupils must not reach: ").Append(E(string.Join(", ", c.MustNotReach)))
            .Append(". A group on a network where sign-in is required is asked for it (407) before any site; its row shows what it would meet after signing in as nobody.</p>\n");
        html.Append("<div class=\"wrap\"><table id=\"results\"><thead><tr><th>Group</th><th>Category</th><th>Outcome</th><th>Decided by</th><th>Addresses</th></tr></thead><tbody>");
        foreach (var cell in c.Cells)
        {
            var rules = cell.Probes.Select(p => p.Rule).Distinct(StringComparer.Ordinal);
            var changes = cell.Probes.Where(p => p.Until is { } u && u - c.DecidedAt < TimeSpan.FromDays(7)).Select(p => p.Until!.Value).Distinct().Order().ToList();
            html.Append("<tr class=\"").Append(cell.Critical ? "critical" : cell.Flag is not null ? "flag" : "").Append("\" data-group=\"").Append(E(cell.Group.Name))
                .Append("\" data-category=\"").Append(E(cell.Category)).Append("\" data-outcome=\"").Append(E(cell.Outcome)).Append("\"><td>").Append(E(cell.Group.Name))
                .Append("</td><td>").Append(E(cell.Category)).Append(cell.Statutory ? " (statutory)" : "").Append("</td><td class=\"")
                .Append(cell.Critical ? "bad" : cell.Flag is not null ? "warn" : "").Append("\">").Append(E(cell.Outcome));
            if (changes.Count > 0)
            {
                html.Append("<br><span class=\"meta\">changes ").Append(E(Time(changes[0], zone))).Append("</span>");
            }
            html.Append("</td><td>").Append(E(string.Join(", ", rules))).Append("</td><td class=\"n\">").Append(cell.Probes.Count.ToString(Culture)).Append("</td></tr>");
        }
        html.Append("</tbody></table></div>\n");

        html.Append("<h2>Test addresses</h2>\n<table id=\"addresses\"><thead><tr><th>Category</th><th>Address</th><th>Source</th></tr></thead><tbody>");
        foreach (var a in c.Addresses)
        {
            html.Append("<tr><td>").Append(E(a.Category)).Append("</td><td>").Append(E(a.Address)).Append("</td><td>").Append(E(a.Source)).Append("</td></tr>");
        }
        html.Append("</tbody></table>\n");

        html.Append("<h2>The policy in plain English</h2>\n");
        foreach (var section in pack.Policy)
        {
            html.Append("<h3>").Append(E(section.Heading)).Append("</h3>\n<ul>");
            foreach (var (text, flagged) in section.Sentences)
            {
                html.Append(flagged ? "<li class=\"warn\">" : "<li>").Append(E(text)).Append("</li>");
            }
            html.Append("</ul>\n");
        }

        Changes(html, pack, zone);
        Incidents(html, pack);
        html.Append("<h2>Review</h2>\n<p>Reviewed by the designated safeguarding lead: ____________________ &nbsp; Date: ____________</p>\n"
            + "<p>Noted by the governing body: ____________________ &nbsp; Date: ____________</p>\n");
        End(html, document);
        return html.ToString();
    }

    private static void Changes(StringBuilder html, ReviewPack pack, NodaTime.DateTimeZone zone)
    {
        html.Append("<h2>Changes to the policy in the last year</h2>\n");
        if (pack.Changes is null)
        {
            html.Append("<p class=\"warn\" id=\"changes-unavailable\">The change history is not available.</p>\n");
            return;
        }
        if (pack.Changes.Count == 0)
        {
            html.Append("<p id=\"changes\">No change was recorded since ").Append(E(Time(pack.YearFrom, zone))).Append(".</p>\n");
            return;
        }
        html.Append("<div class=\"wrap\"><table id=\"changes\"><thead><tr><th>When</th><th>Who</th><th>Reason</th><th>Files</th></tr></thead><tbody>");
        foreach (var ch in pack.Changes)
        {
            html.Append("<tr><td>").Append(E(Time(ch.At, zone))).Append("</td><td>").Append(E(ch.Who)).Append("</td><td>").Append(E(ch.Reason))
                .Append("</td><td>").Append(E(string.Join(", ", ch.Files))).Append("</td></tr>");
        }
        html.Append("</tbody></table></div>\n");
    }

    private static void Incidents(StringBuilder html, ReviewPack pack)
    {
        html.Append("<h2>Incidents in the last year</h2>\n");
        if (pack.Incidents is null)
        {
            html.Append("<p class=\"warn\" id=\"incidents-unavailable\">The incident store is not available.</p>\n");
            return;
        }
        var list = pack.Incidents;
        html.Append("<p id=\"incidents\" data-count=\"").Append(list.Count.ToString(Culture)).Append("\">").Append(list.Count.ToString("N0", Culture))
            .Append(" incident(s); ").Append(list.Count(i => i.State == FilterService.Admin.Incidents.IncidentState.Closed).ToString(Culture)).Append(" closed, ")
            .Append(list.Count(i => !string.IsNullOrWhiteSpace(i.Outcome)).ToString(Culture)).Append(" with an outcome recorded.</p>\n");
        Counts(html, "incidents-by-category", "Category", WeeklyFigures.Tally(list.Select(i => i.Category ?? WeeklyFigures.NoCategory)), "None.");
        Counts(html, "incidents-by-severity", "Severity", WeeklyFigures.Tally(list.Select(i => i.Severity)), "None.");
        Counts(html, "incidents-by-state", "State", WeeklyFigures.Tally(list.Select(i => i.State.ToString().ToLowerInvariant())), "None.");
    }
}
