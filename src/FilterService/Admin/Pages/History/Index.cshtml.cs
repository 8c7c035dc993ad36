using System.Globalization;
using System.Text;
using FilterService.Admin.History;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages.History;

/// <summary>/history: the change history, newest first, 50 a page; export as CSV or JSON for a date range.</summary>
internal sealed class IndexModel(IChangeHistory history) : PageModel
{
    private const int PageSize = 50;

    public IReadOnlyList<ChangeEntry> Entries { get; private set; } = [];

    /// <summary>The id to page back from, when there are older entries.</summary>
    public long? Older { get; private set; }

    public async Task OnGetAsync(long? before, CancellationToken cancellationToken)
    {
        var page = await history.PageAsync(before, PageSize + 1, cancellationToken);
        Entries = page.Take(PageSize).ToList();
        Older = page.Count > PageSize ? Entries[^1].Id : null;
    }

    public async Task<IActionResult> OnGetExportAsync(string? format, string? from, string? until, CancellationToken cancellationToken)
    {
        var start = Date(from) ?? DateTimeOffset.MinValue;
        var end = Date(until)?.AddDays(1) ?? DateTimeOffset.MaxValue; // until is a day, included
        var entries = (await history.ListAsync(start, end, int.MaxValue, cancellationToken)).OrderBy(e => e.Id).ToList();
        return format == "json"
            ? File(Encoding.UTF8.GetBytes(HistoryExport.Json(entries)), "application/json", "history.json")
            : File(Encoding.UTF8.GetBytes(HistoryExport.Csv(entries)), "text/csv", "history.csv");
    }

    private static DateTimeOffset? Date(string? text) =>
        DateTime.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d)
            ? new DateTimeOffset(d, TimeSpan.Zero) : null;
}
