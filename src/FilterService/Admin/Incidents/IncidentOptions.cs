namespace FilterService.Admin.Incidents;

/// <summary>
/// The ingester's timing. The console's own settings (<see cref="ConsoleOptions.PublicUrl"/> for the links in alerts,
/// <see cref="ConsoleOptions.DataPath"/> for console.db) are the console's section <c>Console</c>.
/// </summary>
internal sealed class IncidentOptions
{
    /// <summary>How often the ingester looks at the outbox when no alert woke it (repeats, summaries). One second.</summary>
    public TimeSpan IngestInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between attempts while console.db cannot be written. Thirty seconds.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);
}
