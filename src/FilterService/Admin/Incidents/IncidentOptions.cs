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

/// <summary>The address of an incident's page in the console, for alert email and webhooks. Thread-safe.</summary>
internal sealed class IncidentLinks
{
    private readonly Uri? _base;

    /// <param name="publicUrl"><c>Console:PublicUrl</c> (validated by <see cref="ConsoleOptions.Bind"/>), or null.</param>
    public IncidentLinks(string? publicUrl)
    {
        if (!string.IsNullOrWhiteSpace(publicUrl) && Uri.TryCreate(publicUrl.Trim(), UriKind.Absolute, out var url))
        {
            _base = url.AbsolutePath.EndsWith('/') ? url : new Uri(url.GetLeftPart(UriPartial.Path) + "/");
        }
    }

    /// <summary>The page of incident <paramref name="id"/>, or null when <c>Console:PublicUrl</c> is not set.</summary>
    public string? For(string id) => _base is null ? null : new Uri(_base, "incidents/" + Uri.EscapeDataString(id)).AbsoluteUri;
}
