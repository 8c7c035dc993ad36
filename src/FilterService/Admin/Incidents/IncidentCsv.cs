using System.Globalization;
using System.Security.Claims;
using System.Text;
using CsvHelper;

namespace FilterService.Admin.Incidents;

/// <summary>
/// Incidents as CSV for CPOMS or MyConcern (docs/incidents.md lists the columns), written as <see cref="ConsoleCsv"/>
/// writes (RFC 4180, formula cells neutralised), UTF-8 with a byte-order mark so Excel reads names with accents. Names go through
/// <see cref="PupilNames.Show"/>: only the DSL's export carries pupils' names; anyone else's carries pseudonyms.
/// </summary>
internal static class IncidentCsv
{
    public static readonly IReadOnlyList<string> Header =
    [
        "Incident ID", "Date", "Time", "Pupil name", "Username", "Roles", "Category", "Severity", "Description",
        "Action taken", "Outcome", "Staff member", "Status", "Attempts", "Last attempt", "Device address", "Network", "URL",
    ];

    public static readonly Encoding Utf8WithBom = new UTF8Encoding(encoderShouldEmitUTF8Identifier: true);

    /// <summary>Writes the header and one row per incident (times in <paramref name="zone"/>) as <paramref name="viewer"/> may see them.</summary>
    public static async Task WriteAsync(TextWriter output, IEnumerable<IncidentExportRow> rows, PupilNames names, ClaimsPrincipal viewer,
        TimeZoneInfo zone, CancellationToken cancellationToken = default)
    {
        await using var csv = new CsvWriter(output, ConsoleCsv.Configuration, leaveOpen: true);
        foreach (var h in Header)
        {
            csv.WriteField(h);
        }
        await csv.NextRecordAsync();
        foreach (var row in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var field in Fields(row, names, viewer, zone))
            {
                csv.WriteField(field);
            }
            await csv.NextRecordAsync();
        }
        await csv.FlushAsync();
    }

    /// <summary>The cells of one row, before quoting and formula neutralising.</summary>
    internal static IEnumerable<string> Fields(IncidentExportRow row, PupilNames names, ClaimsPrincipal viewer, TimeZoneInfo zone)
    {
        var i = row.Summary;
        var local = TimeZoneInfo.ConvertTime(i.At, zone);
        var hidden = i.User is not null && names.IsPupil(i.Roles) && !ConsoleRoles.SeesPupilNames(viewer);
        var last = TimeZoneInfo.ConvertTime(row.LastAt, zone);
        var what = i.Category is null ? $"rule {i.Rule}" : $"{i.Category} (rule {i.Rule})";
        var description = $"The web filter blocked {i.Target}: {what}, {i.Severity.ToLowerInvariant()} severity; "
            + (i.Attempts > 1 ? $"{i.Attempts} attempts, the last at {last:HH:mm}" : "1 attempt");
        return
        [
            i.Id,
            local.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            local.ToString("HH:mm", CultureInfo.InvariantCulture),
            names.Show(i.User, i.DisplayName, i.Roles, viewer) ?? "",
            hidden ? names.Pseudonym(i.User!) : i.User ?? "",
            string.Join(", ", i.Roles),
            i.Category ?? "",
            i.Severity,
            description,
            i.Action ?? "",
            i.Outcome ?? "",
            i.AssignedTo ?? row.LastActor ?? "",
            i.State.ToString(),
            i.Attempts.ToString(CultureInfo.InvariantCulture),
            last.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
            i.Client,
            i.Network ?? "",
            i.Target,
        ];
    }
}

/// <summary>An incident as exported: the summary, when it was last attempted, and who last acted on it in the console.</summary>
internal sealed record IncidentExportRow(IncidentSummary Summary, DateTimeOffset LastAt, string? LastActor);
