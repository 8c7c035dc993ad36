using FilterService.Admin.Editing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using YamlDotNet.RepresentationModel;

namespace FilterService.Admin.Pages.Editing;

/// <summary>Weekly schedules (windows per day) and the term calendars they name (terms, holidays, INSET days).</summary>
internal sealed class SchedulesModel(ScheduleEditor editor, IAuthorizationService authorization) : EditingPageModel(authorization)
{
    public IReadOnlyList<ScheduleView> Schedules { get; private set; } = [];
    public IReadOnlyList<string> Calendars { get; private set; } = [];

    public void OnGet()
    {
        Schedules = editor.List();
        Calendars = editor.CalendarFiles();
    }

    /// <summary>One calendar section's items as text: <c>Autumn 2026: 2026-09-02 to 2026-12-18</c>, <c>2026-09-02</c>.</summary>
    public IReadOnlyList<string> Items(string file, string section) => editor.CalendarItems(file, section).Select(n => n switch
    {
        YamlScalarNode s => s.Value ?? "",
        _ when PolicyEdits.Scalar(n, "date") is { } date => $"{PolicyEdits.Scalar(n, "name")}: {date}",
        _ => $"{PolicyEdits.Scalar(n, "name")}: {PolicyEdits.Scalar(n, "start")} to {PolicyEdits.Scalar(n, "end")}",
    }).ToList();

    public async Task<IActionResult> OnPostWeeklyAsync(string? name, string[]? days, string[]? times)
    {
        days ??= [];
        times ??= [];
        var windows = days.Select((d, i) => (d ?? "", i < times.Length ? times[i] ?? "" : "")).ToList();
        var outcome = await editor.SetWeeklyAsync(name ?? "", windows, Who, Reason ?? "", HttpContext.RequestAborted);
        OnGet();
        return Show(Form ?? "", outcome, $"Schedule '{name}' saved");
    }

    public async Task<IActionResult> OnPostAddCalendarAsync(string? file, string? section, string? name, string? start, string? end)
    {
        var outcome = await editor.AddCalendarAsync(file ?? "", section ?? "", name, start, end, Who, Reason ?? "", HttpContext.RequestAborted);
        OnGet();
        return Show(Form ?? "", outcome, $"Added to {section}");
    }

    public async Task<IActionResult> OnPostRemoveCalendarAsync(string? file, string? section, int index)
    {
        var outcome = await editor.RemoveCalendarAsync(file ?? "", section ?? "", index, Who, Reason ?? "", HttpContext.RequestAborted);
        OnGet();
        return Show(Form ?? "", outcome, $"Removed from {section}");
    }
}
