namespace FilterService.Proxy;

/// <summary>Marks a connection as a proxy connection (as opposed to the admin endpoint) for the HTTP stage.</summary>
internal sealed class ProxyConnectionFeature
{
    public static readonly ProxyConnectionFeature Instance = new();
}

/// <summary>
/// Set on a connection the tunnel loop accepted and handed over (<see cref="TunnelLoop"/>): when it was accepted, so
/// the head deadline counts from the accept, not from the hand-over.
/// </summary>
internal sealed record AcceptedAtFeature(long Timestamp);
