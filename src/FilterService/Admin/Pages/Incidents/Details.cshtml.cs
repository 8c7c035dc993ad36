using FilterService.Admin.Incidents;
using FilterService.Notifications;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages.Incidents;

/// <summary>
/// One incident: its fields, the step history, and the DSL's forms. Every POST handler demands
/// <see cref="ConsolePolicies.ManageIncidents"/> on the server (403 otherwise, nothing changed); the forms are only
/// shown to those who hold it, which is a convenience, not the check.
/// </summary>
[Authorize(Policy = ConsolePolicies.Read)]
internal sealed class DetailsModel(IncidentStore store, PupilNames names, AlertOptions alerts, IAuthorizationService authorization,
    Admin.Accounts.AccountStore accounts) : PageModel
{
    /// <summary>Who an incident can be given to: the enabled dsl accounts.</summary>
    public IReadOnlyList<string> Assignees { get; private set; } = [];

    public IncidentDetails Incident { get; private set; } = null!;
    public bool CanManage { get; private set; }
    public string? Message { get; private set; }
    public TimeZoneInfo Zone { get; } = TimeZoneInfo.FindSystemTimeZoneById(alerts.TimeZone);

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken) => await ShowAsync(id, null, cancellationToken);

    public Task<IActionResult> OnPostAcknowledgeAsync(string id, CancellationToken cancellationToken) =>
        ChangeAsync(id, who => store.AcknowledgeAsync(id, who, cancellationToken), cancellationToken);

    public Task<IActionResult> OnPostAssignAsync(string id, string? assignee, CancellationToken cancellationToken) =>
        ChangeAsync(id, who => accounts.Find(assignee ?? "") is { Disabled: false, Role: ConsoleRoles.Dsl } account
            ? store.AssignAsync(id, account.Name, who, cancellationToken)
            : Task.FromResult(IncidentChangeResult.BadInput), cancellationToken);

    public Task<IActionResult> OnPostActionAsync(string id, string? text, CancellationToken cancellationToken) =>
        ChangeAsync(id, who => store.RecordActionAsync(id, text ?? "", who, cancellationToken), cancellationToken);

    public Task<IActionResult> OnPostOutcomeAsync(string id, string? text, CancellationToken cancellationToken) =>
        ChangeAsync(id, who => store.RecordOutcomeAsync(id, text ?? "", who, cancellationToken), cancellationToken);

    public Task<IActionResult> OnPostCloseAsync(string id, CancellationToken cancellationToken) =>
        ChangeAsync(id, who => store.CloseAsync(id, who, cancellationToken), cancellationToken);

    /// <summary>The person as this viewer may see them: a pupil's name only for the DSL.</summary>
    public string Who => names.Show(Incident.Summary.User, Incident.Summary.DisplayName, Incident.Summary.Roles, User) ?? "(not signed in)";

    /// <summary>The account name as this viewer may see it: a pupil's account is a pseudonym for everyone but the DSL.</summary>
    public string? Account => Incident.Summary.User is { } u && names.IsPupil(Incident.Summary.Roles) && !ConsoleRoles.SeesPupilNames(User)
        ? names.Pseudonym(u)
        : Incident.Summary.User;

    public string Local(DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, Zone).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    private async Task<IActionResult> ChangeAsync(string id, Func<string, Task<IncidentChangeResult>> change, CancellationToken cancellationToken)
    {
        if (!(await authorization.AuthorizeAsync(User, ConsolePolicies.ManageIncidents)).Succeeded || User.Identity?.Name is not { Length: > 0 } who)
        {
            return Forbid();
        }
        var result = await change(who);
        if (result == IncidentChangeResult.Done)
        {
            return RedirectToPage(new { id });
        }
        Response.StatusCode = result == IncidentChangeResult.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest;
        return await ShowAsync(id, result switch
        {
            IncidentChangeResult.Closed => "The incident is closed; it cannot be changed.",
            IncidentChangeResult.WrongState => "Not possible in this state (acknowledge only a new incident; record an outcome before closing).",
            IncidentChangeResult.BadInput => $"Give some text (at most {IncidentStore.MaxText} characters), or an enabled dsl account to assign to.",
            _ => "No such incident.",
        }, cancellationToken);
    }

    private async Task<IActionResult> ShowAsync(string id, string? message, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, cancellationToken) is not { } incident)
        {
            return NotFound();
        }
        Incident = incident;
        Message = message;
        CanManage = (await authorization.AuthorizeAsync(User, ConsolePolicies.ManageIncidents)).Succeeded;
        if (CanManage)
        {
            Assignees = accounts.List().Where(a => a.Role == ConsoleRoles.Dsl && !a.Disabled).Select(a => a.Name).ToList();
        }
        return Page();
    }
}
