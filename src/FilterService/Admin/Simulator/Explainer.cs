using System.Globalization;
using FilterService.Proxy;
using NodaTime;
using PolicyModel.Decisions;
using PolicyModel.Matching;

namespace FilterService.Admin.Simulator;

/// <summary>Where the proxy makes the decision for a request (<c>decided_on</c>).</summary>
internal enum DecidedOn
{
    /// <summary>On the host alone, when the CONNECT arrives: a host:port, or an https URL whose tunnel is not inspected.</summary>
    ConnectHost,
    /// <summary>On the whole URL: plain http, or a request inside an inspected tunnel.</summary>
    Url,
}

/// <summary>What the user asked for, parsed: <see cref="PathAndQuery"/> is empty for a host:port (a CONNECT tunnel).</summary>
internal sealed record ExplainTarget(string Method, string Scheme, string Host, int Port, string PathAndQuery);

/// <summary>
/// One request decided as the live proxy would, with everything <c>explain</c> prints and the console's simulator shows:
/// <see cref="Asked"/> is what the user asked about, <see cref="Decided"/> what the proxy actually decides (the CONNECT
/// host when the tunnel is not inspected), <see cref="Answered"/> how a refused tunnel is answered, and
/// <see cref="RoleSources"/> where each of a named user's roles came from (null when no user was named).
/// </summary>
internal sealed record Explanation(
    FilterRequest Asked,
    FilterRequest Decided,
    DecidedOn On,
    bool Inspection,
    ConnectFlow.ConnectVerdict? Answered,
    TunnelInspection? Inspected,
    Decision Decision,
    SafeSearchTarget? SafeSearch,
    DateTimeZone Zone,
    string PolicyVersion,
    IReadOnlyList<(string Role, string Source)>? RoleSources);

/// <summary>
/// "Why was this blocked?": the one explainer behind the <c>explain</c> command and the console's simulator pages. It runs
/// the proxy's own engine and CONNECT judgement (<see cref="ConnectFlow.Judge"/>) on one request, with the trace.
/// </summary>
internal static class Explainer
{
    /// <summary>Decides <paramref name="asked"/> as a proxy with (<paramref name="inspection"/>) or without an inspection CA would.</summary>
    public static Explanation Explain(PolicySnapshot snapshot, FilterRequest asked, bool inspection)
    {
        var (request, on) = AsTheProxyWould(snapshot, asked, inspection);
        var decision = snapshot.Decide(request, withTrace: true);
        if (on == DecidedOn.ConnectHost)
        {
            // The policy's connect options (bare_ip), as ConnectFlow.Judge applies them.
            decision = ConnectFlow.ApplyConnectOptions(snapshot, Authority.CanonicalHost(request.Host) ?? request.Host, decision);
        }
        var inspected = ExplainInspection.Of(snapshot, asked);
        // As the proxy connects: an allowed request from a locked role to a search host goes to the safe-search address.
        var safe = decision.IsBlocked ? null : snapshot.SafeSearchFor(decision.Identity, request.Host);
        var answered = decision.IsBlocked ? AnsweredWith(snapshot, request, on, inspection) : null;
        return new Explanation(asked, request, on, inspection, answered, inspected, decision, safe, snapshot.TimeZone, snapshot.Version,
            asked.User is null ? null : snapshot.RoleSources(asked.User));
    }

    /// <summary>
    /// The request the proxy actually decides for <paramref name="asked"/>, and on what. An https URL reaches the proxy as
    /// <c>CONNECT host:port</c>: the tunnel is judged by <see cref="ConnectFlow.Judge"/>, the proxy's own judgement,
    /// and only an inspected tunnel (an inspection CA, a host whose rules need methods or paths) has its requests decided
    /// on the URL; otherwise the host at CONNECT is all the proxy sees.
    /// </summary>
    internal static (FilterRequest Decided, DecidedOn On) AsTheProxyWould(PolicySnapshot snapshot, FilterRequest asked, bool inspection)
    {
        if (asked.PathAndQuery.Length == 0)
        {
            return (asked, DecidedOn.ConnectHost);
        }
        if (asked.Scheme != "https")
        {
            return (asked, DecidedOn.Url);
        }
        var judged = ConnectFlow.Judge(snapshot, asked.Client, asked.User, Authority.Format(asked.Host, asked.Port), asked.At,
            new ProxyOptions(), inspection, TimeProvider.System);
        if (judged.Verdict == ConnectFlow.ConnectVerdict.Inspect)
        {
            return (asked, DecidedOn.Url);
        }
        return (new FilterRequest(asked.Client, asked.User, "CONNECT", "https", judged.Host ?? asked.Host, judged.Host is null ? asked.Port : judged.Port, "", asked.At),
            DecidedOn.ConnectHost);
    }

    /// <summary>
    /// How the live proxy answers a tunnel it refuses, by <see cref="ConnectFlow.Judge"/>'s verdict: the block page
    /// inside TLS (<c>BlockPage</c>: an inspection CA and a host name) or 403 to the CONNECT (<c>Blocked</c>). Null when
    /// the request is allowed or is decided on the URL (a plain http request or one inside an inspected tunnel, answered
    /// with the block page as any request).
    /// </summary>
    internal static ConnectFlow.ConnectVerdict? AnsweredWith(PolicySnapshot snapshot, FilterRequest decided, DecidedOn on, bool inspection)
    {
        if (on != DecidedOn.ConnectHost)
        {
            return null;
        }
        var judged = ConnectFlow.Judge(snapshot, decided.Client, decided.User, Authority.Format(decided.Host, decided.Port), decided.At,
            new ProxyOptions(), inspection, TimeProvider.System);
        return judged.Verdict is ConnectFlow.ConnectVerdict.BlockPage or ConnectFlow.ConnectVerdict.Blocked ? judged.Verdict : null;
    }

    /// <summary>
    /// ISO 8601. With <c>Z</c> or an offset it is an instant; without, local time in the policy's zone, where a time in
    /// the spring DST gap becomes the instant the clocks jump to and one in the autumn overlap the earlier of the two.
    /// </summary>
    internal static Instant? ParseTime(string text, DateTimeZone zone)
    {
        var t = text.IndexOf('T');
        if (t < 0)
        {
            return null;
        }

        var time = text.AsSpan(t);
        var hasOffset = time.EndsWith("Z", StringComparison.OrdinalIgnoreCase) || time.LastIndexOfAny('+', '-') > 0;
        if (hasOffset)
        {
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant)
                ? Instant.FromDateTimeOffset(instant)
                : null;
        }

        if (!DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return null;
        }

        return zone.ResolveLocal(LocalDateTime.FromDateTime(local), NodaTime.TimeZones.Resolvers.LenientResolver).ToInstant();
    }

    /// <summary>An http(s) URL, or host:port as in a CONNECT line; null when it is neither.</summary>
    internal static ExplainTarget? ParseTarget(string url, string? method)
    {
        if (url.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            {
                return null;
            }

            var host = HostName.Normalize(uri.IdnHost);
            return host is null ? null : new ExplainTarget((method ?? "GET").ToUpperInvariant(), uri.Scheme, host, uri.Port, uri.PathAndQuery);
        }

        // host:port, as in a CONNECT line.
        var colon = url.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(url.AsSpan(colon + 1), out var port) || port is <= 0 or > 65535)
        {
            return null;
        }

        var tunnelHost = HostName.Normalize(url.AsSpan(0, colon));
        return tunnelHost is null ? null : new ExplainTarget((method ?? "CONNECT").ToUpperInvariant(), "https", tunnelHost, port, string.Empty);
    }
}
