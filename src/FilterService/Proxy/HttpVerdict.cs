using System.Text;
using FilterService.Audit;
using PolicyModel.Decisions;

namespace FilterService.Proxy;

/// <summary>What an HTTP stage does with a request once its target is resolved.</summary>
internal enum HttpVerdictKind
{
    /// <summary>The proxy answers itself (<see cref="HttpVerdict.Status"/>, text, header) and records a block under its own rule.</summary>
    Refuse,
    /// <summary>The policy no longer lists the client of a long-lived inspected tunnel: the connection is dropped, unrecorded.</summary>
    Abort,
    /// <summary>The engine blocked it: the block page (<see cref="HttpVerdict.Page"/>), after any alert was written durably.</summary>
    Block,
    /// <summary>The engine allowed it: forward it, to <see cref="HttpVerdict.SafeSearch"/>'s host when set.</summary>
    Forward,
}

/// <summary>
/// The one HTTP verdict: admission, the decision, the alert and the block page, and the records, for every HTTP path
/// (the lean HTTP stage and <see cref="ForwardingStage"/>, plain and inside inspected tunnels). A stage resolves the
/// target, calls <see cref="DecideAsync"/>, and keeps only its own I/O: writing the answer to its pipe or HttpContext,
/// and forwarding. Both stages build their records through the verdict, so a request is recorded the same on both.
/// </summary>
/// <remarks>A value: it carries the (admitted) <see cref="ProxyRequest"/>, so records made from it keep its time and reference.</remarks>
internal readonly record struct HttpVerdict
{
    public required HttpVerdictKind Kind { get; init; }
    /// <summary>The request, admitted as its user when admission named one.</summary>
    public required ProxyRequest Request { get; init; }
    public required string Method { get; init; }
    /// <summary>The resolved target as decided and recorded (<see cref="HttpTarget.Url"/>).</summary>
    public required string Url { get; init; }
    /// <summary>The status to answer with (Refuse, Block).</summary>
    public int Status { get; init; }
    /// <summary>The plain-text answer of a refusal.</summary>
    public string? Text { get; init; }
    /// <summary>The one header a refusal carries (<c>Proxy-Authenticate</c>, <c>Retry-After</c>), or null.</summary>
    public string? Header { get; init; }
    public string? HeaderValue { get; init; }
    /// <summary>A refusal after which the connection is closed (an address that is not a client gets nothing more).</summary>
    public bool Close { get; init; }
    /// <summary>The audit rule of a refusal.</summary>
    public string? Rule { get; init; }
    /// <summary>The engine's decision (Block, Forward).</summary>
    public Decision? Decision { get; init; }
    /// <summary>The block page, UTF-8 (Block).</summary>
    public byte[] Page => PageUtf8().ToArray();

    /// <summary>
    /// The block page as UTF-8 in this thread's buffer (<see cref="BlockPage.RenderUtf8"/>): write it out before anything
    /// that may await. Rendered after the alert was written, never before.
    /// </summary>
    public ReadOnlyMemory<byte> PageUtf8() =>
        BlockPage.RenderUtf8(Request.Policy, Decision!, Url, Request.Client, Request.At, Request.Reference);
    /// <summary>Where a locked role's search goes instead (Forward), or null.</summary>
    public SafeSearchTarget? SafeSearch { get; init; }

    /// <summary>
    /// The headers the proxy sets on a forwarded request (Forward), each replacing any the client sent under that name:
    /// YouTube's restricted mode for a locked role (<see cref="SafeSearch"/>) and the tenant restrictions on a provider's
    /// sign-in hosts (a forged <c>Restrict-Access-To-Tenants</c> naming another tenant must never reach Microsoft).
    /// Computed here, once, so the lean HTTP stage and <see cref="ForwardingStage"/> send the same; empty otherwise.
    /// </summary>
    public IReadOnlyList<(string Name, string Value)> SetHeaders { get => _setHeaders ?? []; init => _setHeaders = value; }
    private readonly IReadOnlyList<(string Name, string Value)>? _setHeaders;

    /// <summary>
    /// Admits the client (or, inside an inspected tunnel, re-checks it and the audit log), asks the engine (an
    /// inspected tunnel bumped to show the block page carries its CONNECT's decision), writes a blocked request's
    /// alert durably before anything is answered, and renders the block page.
    /// </summary>
    public static async ValueTask<HttpVerdict> DecideAsync(ProxyServices proxy, ProxyRequest request, string method, HttpTarget target,
        string? proxyAuthorization, InspectedTunnel? tunnel = null)
    {
        string url = target.Url, host = target.Host;
        var policy = request.Policy;
        if (tunnel is null)
        {
            var (admission, user, retryAfter) = await proxy.AdmitAsync(policy, request.Client, proxyAuthorization);
            if (admission != Admission.Admitted)
            {
                return Refusal(request, method, url, admission, retryAfter, proxy.ProxyAuthenticate);
            }
            request = request.Admitted(user);
        }
        else
        {
            request = request.Admitted(tunnel.User);
            if (!policy.IsClient(request.Client))
            {
                // The policy changed under a long-lived inspected tunnel: re-check, never an open proxy.
                return new() { Kind = HttpVerdictKind.Abort, Request = request, Method = method, Url = url };
            }
            if (!proxy.AuditAccepting)
            {
                return Refusal(request, method, url, Admission.AuditUnavailable, TimeSpan.Zero, proxy.ProxyAuthenticate);
            }
        }

        var filterRequest = request.ToFilterRequest(method, tunnel is null ? "http" : "https", host, target.Port, target.PathAndQuery);
        var decision = tunnel?.Blocked ?? proxy.Decide(policy, in filterRequest);
        if (decision.IsBlocked)
        {
            if (tunnel?.Blocked is null)
            {
                await proxy.AlertAsync(request.At, request.Client, method, url, host, decision, request.Reference, request.PolicyVersion);
            } // else raised once, at the CONNECT: one alert per attempt, however many requests the browser sends inside
            return new() { Kind = HttpVerdictKind.Block, Request = request, Method = method, Url = url, Status = 403, Decision = decision };
        }
        var safe = policy.SafeSearchFor(decision.Identity, host);
        return new()
        {
            Kind = HttpVerdictKind.Forward, Request = request, Method = method, Url = url, Decision = decision,
            SafeSearch = safe, SetHeaders = HeadersToSet(policy, decision, safe, host),
        };
    }

    /// <summary>What <see cref="SetHeaders"/> holds for an allowed request to <paramref name="host"/> (the canonical host).</summary>
    private static IReadOnlyList<(string Name, string Value)> HeadersToSet(PolicySnapshot policy, Decision decision, SafeSearchTarget? safe, string host)
    {
        var tenant = policy.TenantRestrictions.HeadersFor(decision.Identity.Roles, host);
        if (safe?.YouTube is not { } youtube)
        {
            return tenant;
        }
        // YouTube's restricted mode by header (plain HTTP and inspected tunnels alike).
        return [.. tenant, ("YouTube-Restrict", youtube == YouTubeMode.Moderate ? "Moderate" : "Strict")];
    }

    /// <summary>The answer to a client that is not admitted: its status, text, header, and whether the connection closes.</summary>
    private static HttpVerdict Refusal(ProxyRequest request, string method, string url, Admission admission, TimeSpan retryAfter,
        string proxyAuthenticate)
    {
        var (status, text, header, value) = Refuse(admission, retryAfter, proxyAuthenticate);
        return new()
        {
            Kind = HttpVerdictKind.Refuse, Request = request, Method = method, Url = url, Status = status, Text = text, Header = header,
            HeaderValue = value, Close = admission == Admission.NotClient, Rule = ProxyServices.RuleFor(admission),
        };
    }

    /// <summary>
    /// The answer to a client that is not admitted: its status, text and header (none for <c>NotClient</c>, whose
    /// connection is closed: a refused address gets nothing more on this connection).
    /// </summary>
    public static (int Status, string Text, string? Header, string? Value) Refuse(Admission admission, TimeSpan retryAfter, string proxyAuthenticate) =>
        admission switch
        {
            Admission.NotClient => (403, "This proxy does not serve your address.", null, null),
            Admission.Challenge => (407, "Sign in to use the web.", "Proxy-Authenticate", proxyAuthenticate),
            Admission.AuditUnavailable => (503, "The web filter cannot write its audit log just now, and every visit must be recorded, so it is not serving web pages. Please tell the ICT team.", "Retry-After", "30"),
            _ => (429, "Too many failed sign-ins; try again later.", "Retry-After",
                Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };

    /// <summary>The record of a refusal, once answered.</summary>
    public DecisionRecord Refused() => Request.Refused(Method, Url, Rule!, Status);

    /// <summary>The record of a block page sent with <paramref name="bytesOut"/> body bytes.</summary>
    public DecisionRecord Blocked(long bytesOut) => Request.Decided(Method, Url, Decision!, 403, 0, bytesOut);

    /// <summary>The record of a forwarded request, answered with <paramref name="status"/> (499 or 502 when a side went away).</summary>
    public DecisionRecord Forwarded(int status, long bytesIn, long bytesOut, string? upstream, string? contentType) =>
        Request.Decided(Method, Url, Decision!, status, bytesIn, bytesOut, upstream, contentType) with { SafeSearch = SafeSearch?.Provider };

    /// <summary>The record of an allowed request that could not be forwarded (see <see cref="ProxyRequest.UpstreamFailed"/>).</summary>
    public DecisionRecord UpstreamFailed(int status, string rule, long bytesIn) => Request.UpstreamFailed(Method, Url, Decision!, status, rule, bytesIn);
}

/// <summary>The HTTP stages' shared operational log messages: one message, one event id, whichever stage logs it.</summary>
internal static partial class HttpLog
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Debug, Message = "Upstream failed: {Rule}: {Detail}")]
    public static partial void UpstreamFailed(ILogger logger, string rule, string detail);
}
