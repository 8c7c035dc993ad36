namespace FilterService.Admin.Incidents;

// What the DSL does to an incident. Each change reads the incident, checks the state, writes the new values and one
// step (who, when, from, to, the text set) in one transaction, so the history can never disagree with the incident.
// Who may call these is the pages' business (ConsolePolicies.ManageIncidents, checked on the server).
internal sealed partial class IncidentStore
{
    /// <summary>The longest free text kept for an action or an outcome.</summary>
    public const int MaxText = 4000;

    /// <summary>New to Acknowledged.</summary>
    public Task<IncidentChangeResult> AcknowledgeAsync(string id, string who, CancellationToken cancellationToken = default) =>
        Change(id, who, "acknowledged", null, state => state == IncidentState.New ? IncidentState.Acknowledged : null, null);

    /// <summary>Gives the incident to <paramref name="assignee"/> (a console account); the state does not change.</summary>
    public Task<IncidentChangeResult> AssignAsync(string id, string assignee, string who, CancellationToken cancellationToken = default) =>
        string.IsNullOrWhiteSpace(assignee) || assignee.Length > 200
            ? Task.FromResult(IncidentChangeResult.BadInput)
            : Change(id, who, "assigned", assignee.Trim(), state => state, "assigned_to");

    /// <summary>Records the action taken; New or Acknowledged become Actioned. A later action replaces the text (the history keeps both).</summary>
    public Task<IncidentChangeResult> RecordActionAsync(string id, string text, string who, CancellationToken cancellationToken = default) =>
        BadText(text)
            ? Task.FromResult(IncidentChangeResult.BadInput)
            : Change(id, who, "action", text.Trim(), _ => IncidentState.Actioned, "action");

    /// <summary>Records the outcome; the state does not change.</summary>
    public Task<IncidentChangeResult> RecordOutcomeAsync(string id, string text, string who, CancellationToken cancellationToken = default) =>
        BadText(text)
            ? Task.FromResult(IncidentChangeResult.BadInput)
            : Change(id, who, "outcome", text.Trim(), state => state, "outcome");

    /// <summary>Closes the incident; it needs an outcome first (the DfE asks for the outcome of every incident). Closed is final.</summary>
    public Task<IncidentChangeResult> CloseAsync(string id, string who, CancellationToken cancellationToken = default) =>
        Change(id, who, "closed", null, _ => IncidentState.Closed, null, requireOutcome: true);

    private static bool BadText(string? text) => string.IsNullOrWhiteSpace(text) || text.Length > MaxText;

    private Task<IncidentChangeResult> Change(string id, string who, string what, string? detail, Func<IncidentState, IncidentState?> next,
        string? column, bool requireOutcome = false)
    {
        using var connection = Database.Open();
        // IMMEDIATE: two DSLs changing one incident at once are serialised, not both applied to the same old state.
        using var transaction = connection.BeginTransaction(deferred: false);
        using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT state, outcome FROM incidents WHERE id = $id";
        read.Parameters.AddWithValue("$id", id);
        IncidentState from;
        bool hasOutcome;
        using (var reader = read.ExecuteReader())
        {
            if (!reader.Read())
            {
                return Task.FromResult(IncidentChangeResult.NotFound);
            }
            from = Enum.Parse<IncidentState>(reader.GetString(0));
            hasOutcome = !reader.IsDBNull(1);
        }
        if (from == IncidentState.Closed)
        {
            return Task.FromResult(IncidentChangeResult.Closed);
        }
        if (next(from) is not { } to || (requireOutcome && !hasOutcome))
        {
            return Task.FromResult(IncidentChangeResult.WrongState);
        }
        var set = column is null ? "" : $", {column} = $value";
        Exec(connection, transaction, $"UPDATE incidents SET state = $state{set} WHERE id = $id", ("$state", to.ToString()), ("$value", detail), ("$id", id));
        AddStep(connection, transaction, id, _time.GetUtcNow(), who, what, from, to, detail);
        transaction.Commit();
        return Task.FromResult(IncidentChangeResult.Done);
    }
}
