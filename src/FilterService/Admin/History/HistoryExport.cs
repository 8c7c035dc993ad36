using System.Globalization;
using System.Text.Json;

namespace FilterService.Admin.History;

/// <summary>
/// The history for an auditor's own records: entries (with their diffs and hashes) as CSV (<see cref="ConsoleCsv"/>: one row
/// per entry, files and diffs joined, formula cells neutralised) or JSON (one object per entry, a list of files). Texts kept by summary are exported as their
/// summary, as stored; users files never appear as text.
/// </summary>
internal static class HistoryExport
{
    public static string Csv(IEnumerable<ChangeEntry> entries) => ConsoleCsv.Write(
        ["id", "at", "who", "source", "reason", "reverts", "policy_version", "files", "diff", "previous_hash", "hash"],
        entries.Select(e => new[]
        {
            e.Id.ToString(CultureInfo.InvariantCulture), EntryHash.FormatTime(e.At), e.Change.Who, EntryHash.SourceName(e.Change.Source), e.Change.Reason,
            e.Change.Reverts?.ToString(CultureInfo.InvariantCulture) ?? "", e.PolicyVersion, string.Join(' ', e.Change.Files.Select(f => f.Path)),
            string.Concat(e.Change.Files.Select(f => f.Diff)), e.PreviousHash, e.Hash,
        }));

    public static string Json(IEnumerable<ChangeEntry> entries) => JsonSerializer.Serialize(entries.Select(e => new
    {
        id = e.Id,
        at = EntryHash.FormatTime(e.At),
        who = e.Change.Who,
        source = EntryHash.SourceName(e.Change.Source),
        reason = e.Change.Reason,
        reverts = e.Change.Reverts,
        policy_version = e.PolicyVersion,
        files = e.Change.Files.Select(f => new { path = f.Path, tracking = EntryHash.TrackingName(f.Tracking), before = f.Before, after = f.After, diff = f.Diff }),
        previous_hash = e.PreviousHash,
        hash = e.Hash,
    }), new JsonSerializerOptions { WriteIndented = true });
}
