using System.Globalization;
using FilterService.Admin.Incidents;
using FilterService.Notifications;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages.Incidents;

/// <summary>
/// <c>/incidents/export?from=YYYY-MM-DD&amp;until=YYYY-MM-DD</c> (local dates, both days included; default the last 30 days):
/// the CSV for CPOMS or MyConcern (docs/incidents.md). Any role may export; pupils' names only in the DSL's export.
/// </summary>
[Authorize(Policy = ConsolePolicies.Read)]
internal sealed class ExportModel(IncidentStore store, PupilNames names, AlertOptions alerts, TimeProvider time) : PageModel
{
    public async Task<IActionResult> OnGetAsync(string? from, string? until, CancellationToken cancellationToken)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(alerts.TimeZone);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(time.GetUtcNow(), zone).DateTime);
        if (!TryDate(from, today.AddDays(-29), out var first) || !TryDate(until, today, out var last) || last < first)
        {
            return BadRequest("from and until are dates (YYYY-MM-DD), until not before from");
        }
        var end = last.AddDays(1);
        var rows = await store.ExportAsync(Start(first, zone), Start(end, zone), cancellationToken);
        var buffer = new MemoryStream();
        await using (var writer = new StreamWriter(buffer, IncidentCsv.Utf8WithBom, leaveOpen: true))
        {
            await IncidentCsv.WriteAsync(writer, rows, names, User, zone, cancellationToken);
        }
        Response.Headers.CacheControl = "no-store";
        return File(buffer.ToArray(), "text/csv; charset=utf-8", $"incidents-{first:yyyy-MM-dd}-to-{last:yyyy-MM-dd}.csv");
    }

    private static bool TryDate(string? text, DateOnly fallback, out DateOnly date)
    {
        date = fallback;
        return string.IsNullOrEmpty(text) || DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date);
    }

    private static DateTimeOffset Start(DateOnly day, TimeZoneInfo zone)
    {
        var local = day.ToDateTime(TimeOnly.MinValue);
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }
}
