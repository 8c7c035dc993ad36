using System.Text;
using static FilterService.Admin.Reports.ReportHtml;

namespace FilterService.Admin.Reports;

/// <summary>
/// The weekly report as one HTML document: the console page and the email render exactly this. Charts are referred to
/// through <c>imageSource</c>: <c>cid:NAME</c> in the email (inline MIME parts), a <c>data:</c> URI in the console and
/// in a file. Names of people never appear; the alert table shows roles, network, host and the DSL's progress.
/// </summary>
internal static class WeeklyReportHtml
{
    public static string Render(WeeklyReport r, IReadOnlyList<ChartImage> charts, Func<ChartImage, string> imageSource, bool document = true)
    {
        var zone = r.Week.Zone;
        var f = r.Figures;
        var html = new StringBuilder(32 * 1024);
        Start(html, $"Weekly filtering report {r.Week}: {r.School}", document);
        html.Append("<h1>Weekly filtering report: ").Append(E(r.School)).Append("</h1>\n<p class=\"meta\" id=\"week\" data-week=\"").Append(E(r.Week.ToString()))
            .Append("\">Week ").Append(E(r.Week.ToString())).Append(": ").Append(E(Time(r.Week.From, zone))).Append(" to ").Append(E(Time(r.Week.Until, zone)))
            .Append(" (").Append(E(zone.Id)).Append("). Made ").Append(E(Time(r.GeneratedAt, zone))).Append(" from the audit log; policy version ")
            .Append(E(r.PolicyVersion)).Append(".</p>\n");
        foreach (var p in r.Problems)
        {
            html.Append("<p class=\"warn problem\">").Append(E(p)).Append("</p>\n");
        }

        html.Append("<h2>Summary</h2>\n<table id=\"summary\"><tbody>")
            .Append(Row("requests", "Requests decided", f.Requests))
            .Append(Row("blocked", "Blocked attempts", f.Blocked))
            .Append(Row("statutory", "Statutory list hits", f.StatutoryHits.Sum(s => s.Value)))
            .Append(Row("alerts", "Alerts raised (audit log)", f.AlertsBySeverity.Sum(s => s.Value)))
            .Append(Row("audit-unavailable", "Requests refused because the audit log could not record them", f.AuditUnavailableRefusals))
            .Append("</tbody></table>\n");

        foreach (var chart in charts)
        {
            html.Append("<img class=\"chart\" id=\"chart-").Append(E(chart.Name)).Append("\" alt=\"").Append(E(chart.Title)).Append("\" src=\"")
                .Append(E(imageSource(chart))).Append("\" width=\"").Append(ReportCharts.Width).Append("\" height=\"").Append(ReportCharts.Height).Append("\">\n");
        }

        html.Append("<h2>Blocked attempts by category</h2>\n");
        Counts(html, "blocked-by-category", "Category", f.BlockedByCategory, "No blocked attempts this week.");
        html.Append("<h2>Blocked attempts by role</h2>\n<p class=\"meta\">A request by someone with two roles counts under each.</p>\n");
        Counts(html, "blocked-by-role", "Role", f.BlockedByRole, "No blocked attempts this week.");
        html.Append("<h2>Blocked attempts by network</h2>\n");
        Counts(html, "blocked-by-network", "Network", f.BlockedByNetwork, "No blocked attempts this week.");
        html.Append("<h2>Blocked attempts by day</h2>\n");
        Counts(html, "blocked-by-day", "Day", f.BlockedByDay, "No blocked attempts this week.");
        html.Append("<h2>Most blocked sites</h2>\n");
        Counts(html, "top-blocked-hosts", "Host", f.TopBlockedHosts, "No blocked attempts this week.");
        html.Append("<h2>Statutory list hits</h2>\n<p class=\"meta\">Attempts to reach a site on a statutory list (blocked for everyone).</p>\n");
        Counts(html, "statutory-hits", "Statutory category", f.StatutoryHits, "No statutory list was hit this week.");

        Alerts(html, r, zone);
        Changes(html, r, zone);
        Lists(html, r, zone);
        Availability(html, r, zone);
        End(html, document);
        return html.ToString();
    }

    private static string Row(string key, string label, long value) =>
        $"<tr data-key=\"{key}\" data-count=\"{value.ToString(Culture)}\"><td>{E(label)}</td><td class=\"n\">{value.ToString("N0", Culture)}</td></tr>";

    private static void Alerts(StringBuilder html, WeeklyReport r, NodaTime.DateTimeZone zone)
    {
        html.Append("<h2>Alerts and their outcomes</h2>\n");
        Counts(html, "alerts-by-severity", "Severity (audit log)", r.Figures.AlertsBySeverity, "No alert was raised this week.");
        if (r.Alerts is null)
        {
            html.Append("<p class=\"warn\" id=\"incidents-unavailable\">The incident store is not available, so the DSL's actions and outcomes are not shown.</p>\n");
            return;
        }
        if (r.Alerts.Count == 0)
        {
            html.Append("<p class=\"ok\" id=\"incidents\">No incidents were recorded this week.</p>\n");
            return;
        }
        html.Append("<div class=\"wrap\"><table id=\"incidents\"><thead><tr><th>When</th><th>Roles</th><th>Network</th><th>Site</th><th>Category</th><th>Severity</th>"
            + "<th class=\"n\">Attempts</th><th>State</th><th>Action</th><th>Outcome</th></tr></thead><tbody>");
        foreach (var a in r.Alerts)
        {
            html.Append("<tr data-id=\"").Append(E(a.Id)).Append("\"><td>").Append(E(Time(a.At, zone))).Append("</td><td>").Append(E(a.Roles)).Append("</td><td>")
                .Append(E(a.Network)).Append("</td><td>").Append(E(a.Host)).Append("</td><td>").Append(E(a.Category)).Append("</td><td>").Append(E(a.Severity))
                .Append("</td><td class=\"n\">").Append(a.Attempts.ToString(Culture)).Append("</td><td>").Append(E(a.State.ToString().ToLowerInvariant()))
                .Append("</td><td>").Append(E(a.Action)).Append("</td><td>").Append(E(a.Outcome)).Append("</td></tr>");
        }
        html.Append("</tbody></table></div>\n");
    }

    private static void Changes(StringBuilder html, WeeklyReport r, NodaTime.DateTimeZone zone)
    {
        html.Append("<h2>Policy changes</h2>\n");
        if (r.Changes is null)
        {
            html.Append("<p class=\"warn\" id=\"changes-unavailable\">The change history is not available, so policy changes are not shown.</p>\n");
            return;
        }
        if (r.Changes.Count == 0)
        {
            html.Append("<p class=\"ok\" id=\"changes\">The policy was not changed this week.</p>\n");
            return;
        }
        html.Append("<div class=\"wrap\"><table id=\"changes\"><thead><tr><th>When</th><th>Who</th><th>How</th><th>Reason</th><th>Files</th></tr></thead><tbody>");
        foreach (var c in r.Changes)
        {
            html.Append("<tr data-id=\"").Append(c.Id.ToString(Culture)).Append("\"><td>").Append(E(Time(c.At, zone))).Append("</td><td>").Append(E(c.Who))
                .Append("</td><td>").Append(E(c.Source switch { History.ChangeSource.FileEdit => "file edit", History.ChangeSource.Revert => "revert", _ => "console" }))
                .Append("</td><td>").Append(E(c.Reason)).Append("</td><td>").Append(E(string.Join(", ", c.Files))).Append("</td></tr>");
        }
        html.Append("</tbody></table></div>\n");
    }

    private static void Lists(StringBuilder html, WeeklyReport r, NodaTime.DateTimeZone zone)
    {
        html.Append("<h2>List freshness</h2>\n<div class=\"wrap\"><table id=\"lists\"><thead><tr><th>Category</th><th>List</th><th class=\"n\">Entries</th>"
            + "<th>Last updated</th><th class=\"n\">Age</th></tr></thead><tbody>");
        foreach (var l in r.Lists)
        {
            var age = l.Updated is { } u ? r.GeneratedAt - u : (TimeSpan?)null;
            string cls = age is null ? "warn" : age > TimeSpan.FromDays(30) ? "warn" : "";
            html.Append("<tr data-list=\"").Append(E(l.List)).Append("\" data-entries=\"").Append(l.Entries.ToString(Culture)).Append("\"><td>").Append(E(l.Category))
                .Append("</td><td>").Append(E(l.List)).Append(l.Feed ? " (feed)" : "").Append("</td><td class=\"n\">").Append(l.Entries.ToString("N0", Culture))
                .Append("</td><td>").Append(l.Updated is { } at ? E(Time(at, zone)) : "unknown");
            if (l.FeedError is not null)
            {
                html.Append("<br><span class=\"warn\">last update failed: ").Append(E(l.FeedError)).Append("</span>");
            }
            html.Append("</td><td class=\"n ").Append(cls).Append("\">").Append(age is { } a ? E(a.TotalDays >= 1 ? $"{(int)a.TotalDays} d" : Duration(a)) : "?").Append("</td></tr>");
        }
        html.Append("</tbody></table></div>\n");
    }

    private static void Availability(StringBuilder html, WeeklyReport r, NodaTime.DateTimeZone zone)
    {
        html.Append("<h2>Downtime and failing open</h2>\n");
        if (r.Availability is not { Monitored: true } a)
        {
            html.Append("<p class=\"warn\" id=\"availability\" data-monitored=\"false\">No heartbeat was recorded for this week: whether the filter was running is not known.</p>\n");
            return;
        }
        html.Append("<p id=\"availability\" data-monitored=\"true\" data-down-minutes=\"").Append(((long)a.TotalDown.TotalMinutes).ToString(Culture)).Append("\">");
        if (a.FirstBeat is { } first)
        {
            html.Append("Monitoring began ").Append(E(Time(first, zone))).Append("; the time before is not known. ");
        }
        html.Append(a.Down.Count == 0 ? "<span class=\"ok\">The filter was running all week.</span>" : $"<span class=\"bad\">Down {E(Duration(a.TotalDown))} in {a.Down.Count} period(s).</span>");
        html.Append("</p>\n");
        if (a.Down.Count > 0)
        {
            html.Append("<table id=\"down\"><thead><tr><th>From</th><th>To</th><th class=\"n\">For</th><th>Why</th></tr></thead><tbody>");
            foreach (var d in a.Down)
            {
                html.Append("<tr><td>").Append(E(Time(d.From, zone))).Append("</td><td>").Append(E(Time(d.Until, zone))).Append("</td><td class=\"n\">")
                    .Append(E(Duration(d.Length))).Append("</td><td>").Append(E(d.Why)).Append("</td></tr>");
            }
            html.Append("</tbody></table>\n");
        }
        html.Append("<table id=\"degraded\"><tbody>")
            .Append(Row("directory-default-role", "Sign-ins given the network's default role while the directory was down (failed open)", a.DirectoryDefaultRole))
            .Append(Row("audit-dropped", "Requests let through without an audit record (Audit:OnWriteFailure=AllowAndCount; failed open)", a.AuditDropped))
            .Append(Row("audit-refused", "Requests refused because the audit log could not record them (failed closed)", a.AuditRefused))
            .Append("</tbody></table>\n<p class=\"meta\">Down means no heartbeat for over two minutes. Not detected: a proxy that hangs while the "
                + "process still runs, and traffic that bypassed the filter altogether (a device not configured to use it).</p>\n");
    }
}
