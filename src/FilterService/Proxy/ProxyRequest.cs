using System.Net;
using FilterService.Audit;
using PolicyModel.Decisions;

namespace FilterService.Proxy;

/// <summary>
/// One request or tunnel, from its first byte to its record: when it started (wall time for the record, a
/// <see cref="TimeProvider"/> timestamp for its duration), the client address (canonical: see
/// <see cref="ProxyServices.ClientAddress(EndPoint?)"/>), the policy snapshot it is decided under (read once,
/// invariant 3), its reference, and once admitted, the user. Every stage and transport builds its
/// <see cref="DecisionRecord"/> from this value, so a record's time, client, policy version and duration are derived
/// one way, and no stage passes them around as positional arguments.
/// </summary>
/// <remarks>A value: copy it freely; <see cref="Admitted"/> returns a new one. Create it with <see cref="ProxyServices.Begin"/>.</remarks>
internal readonly record struct ProxyRequest(DateTimeOffset At, long Started, IPAddress Client, PolicySnapshot Policy, string Reference,
    TimeProvider Time)
{
    /// <summary>The proxy user once admission named one (a Basic or Negotiate login); null before, or for an anonymous client.</summary>
    public string? User { get; init; }

    /// <summary>The policy version the request is decided under, as recorded.</summary>
    public string? PolicyVersion => Policy.Version;

    /// <summary>Time since the request started, on the injected clock.</summary>
    public TimeSpan Elapsed => Time.GetElapsedTime(Started);

    /// <summary>The same request, admitted as <paramref name="user"/>.</summary>
    public ProxyRequest Admitted(string? user) => this with { User = user };

    /// <summary>The engine's input for this request.</summary>
    public FilterRequest ToFilterRequest(string method, string scheme, string host, int port, string pathAndQuery) =>
        new(Client, User, method, scheme, host, port, pathAndQuery, At);

    /// <summary>
    /// A record for a request the proxy refused itself, before or instead of the engine (rule is the proxy's own:
    /// <c>not-a-client</c>, <c>head-timeout</c>, <c>connect-port</c>...). <paramref name="identity"/> when the engine
    /// already identified the client (the user, roles and network it resolved).
    /// </summary>
    public DecisionRecord Refused(string method, string target, string rule, int status, ClientIdentity? identity = null,
        long bytesIn = 0, long bytesOut = 0) =>
        new(At, Client, User ?? identity?.User, identity is null ? [] : identity.Roles, identity?.Network, method, target, DecisionAction.Block,
            rule, null, status, bytesIn, bytesOut, Elapsed, Reference, PolicyVersion, null);

    /// <summary>A record for a request or tunnel the engine decided, answered with <paramref name="status"/>.</summary>
    public DecisionRecord Decided(string method, string target, Decision decision, int status, long bytesIn = 0, long bytesOut = 0,
        string? upstream = null, string? contentType = null) =>
        new(At, Client, decision.Identity.User, decision.Identity.Roles, decision.Identity.Network, method, target, decision.Action,
            decision.Rule, decision.Category, status, bytesIn, bytesOut, Elapsed, Reference, PolicyVersion, decision, upstream, contentType);

    /// <summary>
    /// A request the engine allowed that could not be forwarded: a 403 (the resolved address is refused) is the
    /// proxy's own block under <paramref name="rule"/>; a 502 or 504 keeps the engine's decision and rule.
    /// </summary>
    public DecisionRecord UpstreamFailed(string method, string target, Decision decision, int status, string rule, long bytesIn = 0) =>
        Decided(method, target, decision, status, bytesIn) with
        {
            Action = status == 403 ? DecisionAction.Block : decision.Action,
            Rule = status == 403 ? rule : decision.Rule,
        };

    /// <summary>
    /// A tunnel the engine allowed that the proxy refused on what followed the CONNECT (the ClientHello): the proxy's
    /// own block under <paramref name="rule"/>.
    /// </summary>
    public DecisionRecord TunnelRefused(string target, Decision decision, string rule, string? upstream) =>
        Decided("CONNECT", target, decision, 403, upstream: upstream) with { Action = DecisionAction.Block, Rule = rule, Category = null };
}
