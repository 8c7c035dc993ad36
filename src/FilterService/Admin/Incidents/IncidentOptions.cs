using Microsoft.Extensions.Configuration;

namespace FilterService.Admin.Incidents;

/// <summary>
/// What the incident inbox reads from configuration. <c>Console:PublicUrl</c> (the console's address as the DSL's
/// browser reaches it, e.g. <c>https://filter.school.example:9090/</c>) puts each incident's page in the alert email and
/// webhook; unset, alerts carry no link. <c>Console:DataPath</c> (default <c>&lt;Audit:Path&gt;/console</c>) holds
/// <c>console.db</c>. Both keys belong to the console (Admin/README.md); this class only reads them.
/// </summary>
internal sealed class IncidentOptions
{
    /// <summary>The console's public base address, ending in '/'; null when not configured.</summary>
    public Uri? PublicUrl { get; init; }

    /// <summary>The console's data directory, or null for the default beside the audit log.</summary>
    public string? DataPath { get; init; }

    /// <summary>How often the ingester looks at the outbox when no alert woke it (repeats, summaries). One second.</summary>
    public TimeSpan IngestInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between attempts while console.db cannot be written. Thirty seconds.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Reads the keys; a malformed <c>Console:PublicUrl</c> is a start-up problem in <paramref name="errors"/>.</summary>
    public static IncidentOptions? Bind(IConfiguration configuration, string contentRoot, List<string> errors)
    {
        var url = configuration["Console:PublicUrl"];
        Uri? publicUrl = null;
        if (!string.IsNullOrWhiteSpace(url))
        {
            if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out publicUrl) || publicUrl.Scheme is not ("https" or "http")
                || !string.IsNullOrEmpty(publicUrl.Query) || !string.IsNullOrEmpty(publicUrl.Fragment))
            {
                errors.Add($"Console:PublicUrl: '{url}' is not an http or https address without query (e.g. https://filter.school.example:9090/)");
                return null;
            }
            if (!publicUrl.AbsolutePath.EndsWith('/'))
            {
                publicUrl = new Uri(publicUrl.GetLeftPart(UriPartial.Path) + "/");
            }
        }
        var data = configuration["Console:DataPath"];
        return new IncidentOptions
        {
            PublicUrl = publicUrl,
            DataPath = string.IsNullOrWhiteSpace(data) ? null : Path.GetFullPath(data, contentRoot),
        };
    }
}

/// <summary>The address of an incident's page in the console, for alert email and webhooks. Thread-safe.</summary>
internal sealed class IncidentLinks(Uri? publicUrl)
{
    /// <summary>The page of incident <paramref name="id"/>, or null when <c>Console:PublicUrl</c> is not set.</summary>
    public string? For(string id) => publicUrl is null ? null : new Uri(publicUrl, "incidents/" + Uri.EscapeDataString(id)).AbsoluteUri;
}
