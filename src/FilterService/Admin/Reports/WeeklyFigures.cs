using NodaTime;

namespace FilterService.Admin.Reports;

/// <summary>A label and its count, in a report table or chart.</summary>
internal sealed record Count(string Key, long Value);

/// <summary>
/// The week's figures computed from the audit records alone. A blocked attempt is a record with
/// <c>"action":"block"</c>, except the proxy's own 503s while the audit log could not take records
/// (<c>audit-unavailable</c>), which are counted apart. No user name is read or kept: these are aggregates.
/// </summary>
internal sealed record WeeklyFigures(
    long Requests,
    long Blocked,
    IReadOnlyList<Count> BlockedByCategory,
    IReadOnlyList<Count> BlockedByRole,
    IReadOnlyList<Count> BlockedByNetwork,
    IReadOnlyList<Count> BlockedByDay,
    IReadOnlyList<Count> TopBlockedHosts,
    IReadOnlyList<Count> StatutoryHits,
    IReadOnlyList<Count> AlertsBySeverity,
    long AuditUnavailableRefusals,
    int UnreadableLines)
{
    public const string NoCategory = "(no category)";
    public const string NoRole = "(no role)";
    public const string NoNetwork = "(no network)";

    public static WeeklyFigures Compute(IReadOnlyList<AuditEntry> entries, ReportWeek week, int topHosts, int unreadable)
    {
        var blocked = entries.Where(e => e.Blocked && e.Rule != Audit.AuditLog.UnavailableRule).ToList();
        var byDay = week.Days.ToDictionary(d => d, _ => 0L);
        foreach (var e in blocked)
        {
            var day = Instant.FromDateTimeOffset(e.At).InZone(week.Zone).Date;
            if (byDay.ContainsKey(day))
            {
                byDay[day]++;
            }
        }
        return new WeeklyFigures(
            entries.Count,
            blocked.Count,
            Tally(blocked.Select(e => e.Category ?? NoCategory)),
            Tally(blocked.SelectMany(e => e.Roles.Count > 0 ? e.Roles : [NoRole])),
            Tally(blocked.Select(e => e.Network ?? NoNetwork)),
            byDay.Select(d => new Count(d.Key.ToString("ddd d MMM", System.Globalization.CultureInfo.InvariantCulture), d.Value)).ToList(),
            Tally(blocked.Select(e => e.Host)).Take(topHosts).ToList(),
            Tally(blocked.Where(e => e.Rule.StartsWith("statutory:", StringComparison.Ordinal)).Select(e => e.Rule["statutory:".Length..])),
            Tally(entries.Where(e => e.Alert).Select(e => e.Severity ?? "unknown")),
            entries.Count(e => e.Rule == Audit.AuditLog.UnavailableRule),
            unreadable);
    }

    /// <summary>Counts by key, largest first, ties by key (ordinal), so two runs over the same records read the same.</summary>
    public static IReadOnlyList<Count> Tally(IEnumerable<string> keys) =>
        keys.GroupBy(k => k, StringComparer.Ordinal)
            .Select(g => new Count(g.Key, g.LongCount()))
            .OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)
            .ToList();
}
