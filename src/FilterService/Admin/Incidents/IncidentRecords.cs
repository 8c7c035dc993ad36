namespace FilterService.Admin.Incidents;

/// <summary>
/// One step in an incident's history: who (a console account, or <see cref="IncidentStore.Filter"/> for what the filter
/// itself recorded), when, what (<c>raised</c>, <c>repeats</c>, <c>acknowledged</c>, <c>assigned</c>, <c>action</c>,
/// <c>outcome</c>, <c>closed</c>), the state before and after, and the text it set.
/// </summary>
internal sealed record IncidentStep(long Seq, DateTimeOffset At, string Who, string What, IncidentState From, IncidentState To, string? Detail);

/// <summary>An incident with everything its page shows: the summary, the fields reports do not need, and the history.</summary>
internal sealed record IncidentDetails(
    IncidentSummary Summary,
    string Method,
    string Host,
    string? Reference,
    string? PolicyVersion,
    DateTimeOffset LastAt,
    IReadOnlyList<IncidentStep> Steps);

/// <summary>One page of the inbox, newest first, with the number of incidents in each state.</summary>
internal sealed record IncidentPage(
    IReadOnlyList<IncidentSummary> Items,
    int Total,
    IReadOnlyDictionary<IncidentState, int> Counts);

/// <summary>What a change to an incident came to (an expected outcome, not an exception).</summary>
internal enum IncidentChangeResult
{
    Done,
    NotFound,
    /// <summary>The incident is closed: nothing changes it any more.</summary>
    Closed,
    /// <summary>Not allowed from the incident's state (acknowledging twice; closing without an outcome).</summary>
    WrongState,
    /// <summary>Empty or over-long text, or an empty assignee.</summary>
    BadInput,
}
