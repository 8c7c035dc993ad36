using FilterService.Admin.History;
using FilterService.Admin.Incidents;
using FilterService.Feeds;
using PolicyModel.Decisions;

namespace FilterService.Admin.Reports;

/// <summary>One list's freshness: its entries and how old its file (or its feed's last good download) is.</summary>
internal sealed record ListFreshness(string Category, string List, int Entries, DateTimeOffset? Updated, bool Feed, string? FeedError);

/// <summary>An alert of the week and where the DSL got with it. No user name or display name: aggregate report.</summary>
internal sealed record AlertRow(string Id, DateTimeOffset At, string Roles, string? Network, string Host, string? Category, string Severity,
    int Attempts, IncidentState State, string? Action, string? Outcome);

/// <summary>A policy change of the week.</summary>
internal sealed record ChangeRow(long Id, DateTimeOffset At, string Who, ChangeSource Source, string Reason, IReadOnlyList<string> Files);

/// <summary>
/// Everything the weekly report shows, gathered once and rendered the same way for the console and the email
/// (<see cref="WeeklyReportHtml"/>). A section whose store is not available in this build (<see cref="Alerts"/>,
/// <see cref="Changes"/>) is null and says so; a store that failed says why in <see cref="Problems"/>.
/// </summary>
internal sealed record WeeklyReport(
    string School,
    ReportWeek Week,
    DateTimeOffset GeneratedAt,
    string PolicyVersion,
    WeeklyFigures Figures,
    IReadOnlyList<AlertRow>? Alerts,
    IReadOnlyList<ChangeRow>? Changes,
    IReadOnlyList<ListFreshness> Lists,
    AvailabilityFigures? Availability,
    IReadOnlyList<string> Problems);

/// <summary>Where the weekly report's figures come from. Optional stores are null when this build or configuration has none.</summary>
internal sealed record ReportSources(
    Func<PolicySnapshot> Policy,
    string AuditDirectory,
    TimeProvider Time,
    WeeklySettings Settings,
    HeartbeatStore? Heartbeats,
    IIncidentReader? Incidents,
    IChangeHistory? Changes,
    Func<IReadOnlyList<FeedState>> Feeds);

/// <summary>Builds a <see cref="WeeklyReport"/> for one week from the audit files, the heartbeats and the console's stores.</summary>
internal sealed class WeeklyReportBuilder(ReportSources sources)
{
    public ReportSources Sources => sources;

    /// <summary>The week before the current one in the policy's time zone.</summary>
    public ReportWeek LastWeek() => ReportWeek.LastCompleteBefore(sources.Time.GetUtcNow(), sources.Policy().TimeZone);

    public async Task<WeeklyReport> BuildAsync(ReportWeek week, CancellationToken cancellationToken = default)
    {
        var policy = sources.Policy();
        var now = sources.Time.GetUtcNow();
        var problems = new List<string>();
        var audit = AuditRecords.Read(sources.AuditDirectory, week.From, week.Until);
        if (audit.Files.Count == 0)
        {
            problems.Add($"No audit files for this week in {sources.AuditDirectory}.");
        }
        if (audit.Unreadable > 0)
        {
            problems.Add($"{audit.Unreadable} audit line(s) could not be read (a torn line after a crash, or a damaged file) and are not counted.");
        }
        var figures = WeeklyFigures.Compute(audit.Entries, week, sources.Settings.TopHosts, audit.Unreadable);

        IReadOnlyList<AlertRow>? alerts = null;
        if (sources.Incidents is { } incidents)
        {
            try
            {
                alerts = (await incidents.ListAsync(week.From, week.Until, cancellationToken)).Select(ToRow).ToList();
            }
            catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or IOException or InvalidOperationException)
            {
                problems.Add("The incident store could not be read: " + ex.Message);
            }
        }
        IReadOnlyList<ChangeRow>? changes = null;
        if (sources.Changes is { } history)
        {
            try
            {
                changes = (await history.ListAsync(week.From, week.Until, 1000, cancellationToken))
                    .OrderBy(c => c.At)
                    .Select(c => new ChangeRow(c.Id, c.At, c.Change.Who, c.Change.Source, c.Change.Reason, c.Change.Files.Select(f => f.Path).ToList()))
                    .ToList();
            }
            catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or IOException or InvalidOperationException)
            {
                problems.Add("The change history could not be read: " + ex.Message);
            }
        }
        AvailabilityFigures? availability = null;
        if (sources.Heartbeats is { } heartbeats)
        {
            try
            {
                availability = AvailabilityFigures.From(heartbeats, week.From, week.Until, now);
            }
            catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or IOException)
            {
                problems.Add("The heartbeat table could not be read: " + ex.Message);
            }
        }
        return new WeeklyReport(policy.Name ?? "School web filter", week, now, policy.Version, figures, alerts, changes,
            Freshness(policy, sources.Feeds()), availability, problems);
    }

    private static AlertRow ToRow(IncidentSummary i)
    {
        // Free text the DSL wrote may name the pupil; the aggregate report never does.
        string? Scrub(string? text)
        {
            if (text is null)
            {
                return null;
            }
            foreach (var name in new[] { i.DisplayName, i.User }.Where(n => !string.IsNullOrWhiteSpace(n)))
            {
                text = text.Replace(name!, "[name removed]", StringComparison.OrdinalIgnoreCase);
            }
            return text;
        }
        return new AlertRow(i.Id, i.At, string.Join(", ", i.Roles), i.Network, AuditEntry.HostOf(i.Target), i.Category, i.Severity, i.Attempts,
            i.State, Scrub(i.Action), Scrub(i.Outcome));
    }

    /// <summary>Each list of the live policy with its entry count and file time; a feed's last good download and its last error instead when it is one.</summary>
    public static IReadOnlyList<ListFreshness> Freshness(PolicySnapshot policy, IReadOnlyList<FeedState> feeds)
    {
        var byPath = feeds.ToDictionary(f => f.List, StringComparer.Ordinal);
        return policy.Lists.Select(l =>
        {
            var feed = byPath.GetValueOrDefault(l.Path) ?? byPath.Values.FirstOrDefault(f => l.Path.EndsWith(f.List, StringComparison.Ordinal));
            return feed is null
                ? new ListFreshness(l.Category, l.Path, l.Entries, l.LastModified, false, null)
                : new ListFreshness(l.Category, l.Path, l.Entries, feed.LastSuccess ?? l.LastModified, true, feed.LastError);
        }).ToList();
    }
}
