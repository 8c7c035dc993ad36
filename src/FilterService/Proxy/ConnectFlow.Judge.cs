using System.Net;
using PolicyModel.Decisions;

namespace FilterService.Proxy;

internal sealed partial class ConnectFlow
{
    /// <summary>What an admitted CONNECT gets, in the order the checks are made.</summary>
    internal enum ConnectVerdict
    {
        /// <summary>400: the target is not host:port.</summary>
        BadTarget,
        /// <summary>
        /// 403 from the engine, with its alert (no inspection CA; an address literal: there is no name for a leaf to show a
        /// page under; or a never_inspect host blocked for a reason that is not statutory).
        /// </summary>
        Blocked,
        /// <summary>
        /// Blocked by the engine, with an inspection CA: 200, the alert, TLS terminated with a leaf for the SNI, and the block
        /// page for every request inside. Never connected upstream.
        /// </summary>
        BlockPage,
        /// <summary>403: a port outside <c>Proxy:ConnectPorts</c>.</summary>
        PortRefused,
        /// <summary>Allowed, through TLS inspection: the policy inspects the host (<see cref="PolicySnapshot.InspectTunnel"/>).</summary>
        Inspect,
        /// <summary>Allowed, spliced.</summary>
        Splice,
    }

    /// <param name="DecisionTime">How long the engine took, for the caller to record once (not set for BadTarget).</param>
    /// <param name="SafeSearch">
    /// Set when the identity's roles lock safe search and the host is a search provider's: connect upstream to
    /// <see cref="SafeSearchTarget.Host"/> instead of <paramref name="Host"/> (the SNI stays the host's).
    /// </param>
    internal readonly record struct ConnectJudgement(ConnectVerdict Verdict, string? Host, int Port, Decision? Decision, TimeSpan DecisionTime,
        SafeSearchTarget? SafeSearch = null)
    {
        /// <summary>The name the upstream connection goes to: the safe-search address, or the host itself.</summary>
        public string? ConnectHost => SafeSearch?.Host ?? Host;

        /// <summary>What the policy wants for the tunnel (<see cref="PolicySnapshot.InspectTunnel"/>), before the CA, port and address checks.</summary>
        public TunnelInspection Inspection { get; init; }

        /// <summary>host:port as recorded (IPv6 in brackets).</summary>
        public string Target => Authority.Format(Host!, Port);
    }

    /// <summary>The audit rule name of a CONNECT refused by <c>connect: { bare_ip: block }</c>.</summary>
    internal const string BareIpRule = "bare-ip-connect";

    /// <summary>
    /// The target, the engine's decision, the port policy and whether the host is inspected, for an admitted CONNECT:
    /// the one judgement every transport answers on, and <c>explain</c> reports (a new check belongs here, so no
    /// transport can carry a tunnel another would refuse). The engine's time (<see cref="ConnectJudgement.DecisionTime"/>)
    /// is measured on <paramref name="time"/>: the proxy's injected clock, or <see cref="TimeProvider.System"/> for
    /// <c>explain</c>, which does not record it.
    /// </summary>
    internal static ConnectJudgement Judge(PolicySnapshot policy, IPAddress client, string? user, string authority, DateTimeOffset at,
        ProxyOptions options, bool canInspect, TimeProvider time)
    {
        if (!Authority.TrySplit(authority, 0, out var hostSpan, out int port) || Authority.CanonicalHost(hostSpan) is not { } host)
        {
            return new(ConnectVerdict.BadTarget, null, 0, null, default);
        }
        var request = new FilterRequest(client, user, "CONNECT", "https", host, port, "", at);
        long started = time.GetTimestamp();
        var decision = policy.Decide(in request);
        var took = time.GetElapsedTime(started);
        bool bareIp = IPAddress.TryParse(host, out _);
        decision = ApplyConnectOptions(policy, host, decision);
        bool portAllowed = options.ConnectPorts.Count == 0 || options.ConnectPorts.Contains(port);
        // The policy's one answer to "inspect this tunnel?" (never_inspect, rules, tenant restrictions, named hosts).
        var inspection = policy.InspectTunnel(host, decision);
        // A block page needs a name to mint a leaf for, and a port a browser would speak TLS on.
        var verdict = decision.IsBlocked ? (canInspect && inspection.Inspect && portAllowed && !bareIp ? ConnectVerdict.BlockPage : ConnectVerdict.Blocked)
            : !portAllowed ? ConnectVerdict.PortRefused
            : canInspect && inspection.Inspect ? ConnectVerdict.Inspect
            : ConnectVerdict.Splice;
        var safeSearch = verdict is ConnectVerdict.Splice or ConnectVerdict.Inspect ? policy.SafeSearchFor(decision.Identity, host) : null;
        return new(verdict, host, port, decision, took, safeSearch) { Inspection = inspection };
    }

    /// <summary>
    /// The policy's <c>connect:</c> options on the engine's decision for a tunnel to the canonical <paramref name="host"/>:
    /// with <c>bare_ip: block</c>, a tunnel to an IP address (no name, so no SNI: nothing the policy could judge) is refused
    /// as <see cref="BareIpRule"/>. The engine's own block (statutory, denied user, a listed address) keeps its rule and
    /// alert. Used by <see cref="Judge"/> and by <c>explain</c>, so both answer alike.
    /// </summary>
    internal static Decision ApplyConnectOptions(PolicySnapshot policy, string host, Decision decision)
    {
        if (!policy.RefuseBareIpConnect || decision.IsBlocked || !IPAddress.TryParse(host, out _))
        {
            return decision;
        }

        return decision with
        {
            Action = DecisionAction.Block,
            Rule = BareIpRule,
            Category = null,
            List = null,
            Entry = null,
            Reason = "a tunnel to an IP address, with no name to check, is refused (connect.bare_ip: block)",
            Until = null,
            Alert = false,
            Severity = AlertSeverity.None,
            Trace = decision.Trace.IsDefault ? decision.Trace : decision.Trace.Add(new TraceStep("connect.bare_ip", true, $"{host} is an IP address: refused")),
        };
    }

    /// <summary>Null if the ClientHello is TLS naming <paramref name="host"/> (or none for an address literal), else the refusal's rule.</summary>
    internal static string? HelloRefusal(HelloStatus status, ClientHelloInfo? hello, string host)
    {
        string? refusal = status switch
        {
            HelloStatus.Ok => null,
            HelloStatus.NotTls => "tunnel-not-tls",
            HelloStatus.Incomplete => "client-hello-timeout",
            _ => "client-hello-malformed",
        };
        if (refusal is null)
        {
            var sni = hello!.ServerName is null ? null : PolicyModel.Matching.HostName.Normalize(hello.ServerName);
            bool hostIsLiteral = IPAddress.TryParse(host, out _);
            if (sni is null ? !hostIsLiteral : sni != host)
            {
                refusal = "sni-mismatch";
            }
        }
        return refusal;
    }

    internal static (int Status, string Rule) UpstreamStatus(UpstreamError error) => error switch
    {
        UpstreamError.AddressRefused => (403, "upstream-address-refused"),
        UpstreamError.Loop => (403, "upstream-loop"),
        UpstreamError.NameNotResolved => (502, "upstream-name-not-resolved"),
        UpstreamError.Timeout => (504, "upstream-timeout"),
        _ => (502, "upstream-connect-failed"),
    };

    internal static string BlockedText(Decision decision, string reference) =>
        $"Blocked by the school web filter: {decision.Reason} (rule {decision.Rule}"
        + (decision.Category is null ? "" : $", category {decision.Category}") + $"). Reference {reference}.";

    /// <summary>The proxy's own answer to a CONNECT it refuses: a short text/plain response, then the connection closes.</summary>
    internal static byte[] Response(int status, string text, string? extraHeaders)
    {
        var body = text + "\n";
        var head = $"HTTP/1.1 {status} {Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status)}\r\n{extraHeaders}Content-Type: text/plain; charset=utf-8\r\nContent-Length: {System.Text.Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n";
        return System.Text.Encoding.UTF8.GetBytes(head + body);
    }
}
