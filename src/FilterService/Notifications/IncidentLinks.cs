namespace FilterService.Notifications;

/// <summary>The address of an incident's page in the console, for alert email and webhooks. Thread-safe.</summary>
internal sealed class IncidentLinks
{
    private readonly Uri? _base;

    /// <param name="publicUrl"><c>Console:PublicUrl</c> (validated by the console's options, Admin/ConsoleOptions.cs), or null.</param>
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
