namespace FilterService.Telemetry;

/// <summary>
/// The TLS inspection's leaf-certificate cache as the metrics see it: how to subscribe to its lookups and mints.
/// Hosting builds it from Proxy's InspectionAuthority; the metrics cannot name the proxy, which records through them
/// (docs/architecture.md: Telemetry sits below Proxy).
/// </summary>
internal sealed record LeafCacheEvents(Action<Action<bool>> OnLookup, Action<Action<TimeSpan>> OnMinted);
