namespace FilterService.Admin.Incidents;

/// <summary>Where an incident is in the DSL's inbox (issue 19).</summary>
internal enum IncidentState
{
    New,
    Acknowledged,
    Actioned,
    Closed,
}

/// <summary>
/// An incident as reports read it: one alert (repeats folded into <see cref="Attempts"/>) and where the DSL has got to.
/// <see cref="User"/> is the account name and <see cref="DisplayName"/> the person's name: pages show them only to roles
/// that may see pupils' names (<see cref="ConsoleRoles.SeesPupilNames"/>).
/// </summary>
internal sealed record IncidentSummary(
    string Id,
    DateTimeOffset At,
    string? User,
    string? DisplayName,
    IReadOnlyList<string> Roles,
    string Client,
    string? Network,
    string Target,
    string? Category,
    string Rule,
    string Severity,
    int Attempts,
    IncidentState State,
    string? AssignedTo,
    string? Action,
    string? Outcome);

/// <summary>The read side of the incident store, which the weekly report and the review pack use.</summary>
internal interface IIncidentReader
{
    /// <summary>Incidents first seen with <c>from &lt;= At &lt; until</c>, oldest first.</summary>
    Task<IReadOnlyList<IncidentSummary>> ListAsync(DateTimeOffset from, DateTimeOffset until, CancellationToken cancellationToken = default);
}
