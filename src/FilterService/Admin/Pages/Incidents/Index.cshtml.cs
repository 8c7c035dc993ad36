using FilterService.Admin.Incidents;
using FilterService.Notifications;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages.Incidents;

/// <summary>The inbox: incidents newest first, filtered by state, paged, with the count in each state. Any console role reads it.</summary>
[Authorize(Policy = ConsolePolicies.Read)]
internal sealed class IndexModel(IncidentStore store, PupilNames names, AlertOptions alerts, TimeProvider time) : PageModel
{
    public const int PageSize = 25;

    public IncidentPage Incidents { get; private set; } = null!;
    public IncidentState? State { get; private set; }
    public int PageNumber { get; private set; }
    public int Pages => Math.Max(1, (Incidents.Total + PageSize - 1) / PageSize);
    public TimeZoneInfo Zone { get; } = TimeZoneInfo.FindSystemTimeZoneById(alerts.TimeZone);

    /// <summary>The export form's default range: the last 30 days, today included (local dates).</summary>
    public string ExportFrom => Today.AddDays(-29).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    public string ExportUntil => Today.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private DateOnly Today => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(time.GetUtcNow(), Zone).DateTime);

    public async Task OnGetAsync(string? state, int p = 1, CancellationToken cancellationToken = default)
    {
        State = Enum.TryParse<IncidentState>(state, ignoreCase: true, out var s) && Enum.IsDefined(s) ? s : null;
        PageNumber = Math.Max(1, p);
        Incidents = await store.PageAsync(State, (PageNumber - 1) * PageSize, PageSize, cancellationToken);
    }

    /// <summary>The person as this viewer may see them: a pupil's name only for the DSL.</summary>
    public string Who(IncidentSummary i) => names.Show(i.User, i.DisplayName, i.Roles, User) ?? i.Client;

    public string Local(DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, Zone).ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
}
