using System.Net;
using PolicyModel.Decisions;

namespace FilterService.Proxy;

/// <summary>
/// The one CONNECT flow: every decision and every answer of a tunnel, in the order the steps come. The transports
/// (<see cref="ConnectMiddleware"/> over Kestrel's pipes, <see cref="TunnelLoop"/> over epoll) only move bytes and
/// call the step they reached; each step here notes the refusal log, records the metrics, raises the alert and
/// observes the <see cref="PolicyModel.Decisions.DecisionRecord"/> (through <see cref="ProxyRequest"/>), and returns
/// what the transport sends. A new check goes here, once, and both transports make it.
/// </summary>
/// <remarks>
/// <para>The steps (<see cref="ConnectStep"/>): <see cref="ConnectStep.Head"/> (parsed under the head deadline),
/// <see cref="ConnectStep.Admit"/>, <see cref="ConnectStep.Decide"/> (<see cref="Judge"/>: target, engine, port policy,
/// inspection), <see cref="ConnectStep.Resolve"/>, <see cref="ConnectStep.AddressPolicy"/>, <see cref="ConnectStep.Connect"/>,
/// <see cref="ConnectStep.Established"/> (the 200), <see cref="ConnectStep.Hello"/> (the ClientHello peeked, its SNI
/// checked under its deadline), then <see cref="ConnectStep.Splice"/>, <see cref="ConnectStep.Inspect"/>,
/// <see cref="ConnectStep.BlockPage"/> or <see cref="ConnectStep.Refuse"/>. Resolve, AddressPolicy and Connect are
/// <see cref="UpstreamConnector"/>'s (the loop calls its parts, the middleware its whole); their failure is one answer,
/// <see cref="UpstreamFailed"/>.</para>
/// <para>Thread safety: stateless beyond <see cref="ProxyServices"/>; any thread may call any step.</para>
/// </remarks>
internal sealed partial class ConnectFlow(ProxyServices proxy, Func<bool> canInspect)
{
    internal static ReadOnlySpan<byte> ConnectPrefix => "CONNECT "u8;

    /// <summary>The 200 a transport sends once upstream is connected (or before a bump).</summary>
    internal static readonly ReadOnlyMemory<byte> Established = "HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray();

    /// <summary>The upstream address recorded for a CONNECT bumped to show the block page: there is no upstream.</summary>
    internal const string BlockPageUpstream = "block-page";

    /// <summary>The named steps of a CONNECT, in order; a transport is in exactly one of them.</summary>
    internal enum ConnectStep
    {
        Head,
        Admit,
        Decide,
        Resolve,
        AddressPolicy,
        Connect,
        Established,
        Hello,
        Splice,
        Inspect,
        BlockPage,
        Refuse,
        /// <summary>Not a step: the transport has closed the connection (or handed it over) and holds nothing of it.</summary>
        Closed,
    }

    public ProxyServices Proxy => proxy;

    /// <summary>
    /// Whether an allowed tunnel may be inspected (an inspection CA, and Kestrel's HTTP stage behind TLS): asked per
    /// CONNECT, as the middleware's HTTP stage is known only once Kestrel has built the connection pipeline.
    /// </summary>
    public bool CanInspect => canInspect();

    /// <summary>Starts a CONNECT from <paramref name="client"/>: the clock, the policy snapshot and the reference, once.</summary>
    public ProxyRequest Begin(IPAddress client) => proxy.Begin(client);

    /// <summary>Head: a head that could not be parsed (or did not come in time). Records it; the answer to send.</summary>
    public byte[] RefuseHead(in ProxyRequest request, HeadError error)
    {
        int status = error switch
        {
            HeadError.TooLarge => 431,
            HeadError.BadVersion => 505,
            HeadError.Incomplete => 408,
            _ => 400,
        };
        string rule = error switch
        {
            HeadError.TooLarge => "head-too-large",
            HeadError.Incomplete => "head-timeout",
            HeadError.BodyNotAllowed => "connect-with-body",
            _ => "malformed-request",
        };
        proxy.Refusals.Note(rule, request.Client);
        proxy.Observe(request.Refused("CONNECT", "-", rule, status));
        return Response(status, rule, null);
    }

    /// <summary>Admit: who is asking (a password hash runs off the socket threads).</summary>
    public async ValueTask<AdmitResult> AdmitAsync(ProxyRequest request, ConnectHead head) =>
        await proxy.AdmitAsync(request.Policy, request.Client, head.ProxyAuthorization);

    /// <summary>Admit, when it needs no password hash and changes nothing; false when only <see cref="AdmitAsync"/> can tell.</summary>
    public bool TryAdmitInline(in ProxyRequest request, ConnectHead head, out AdmitResult result) =>
        proxy.TryAdmitInline(request.Policy, request.Client, head.ProxyAuthorization, out result);

    /// <summary>Admit: a client that was not admitted. Records it; the answer to send (403, 407, 429 or 503).</summary>
    public byte[] RefuseAdmission(in ProxyRequest request, ConnectHead head, AdmitResult admit)
    {
        int status = admit.Admission switch { Admission.NotClient => 403, Admission.Challenge => 407, Admission.AuditUnavailable => 503, _ => 429 };
        if (admit.Admission == Admission.NotClient)
        {
            proxy.Refusals.Note(RefusalLog.NotAClient, request.Client);
        }
        string? extra = admit.Admission switch
        {
            Admission.Challenge => "Proxy-Authenticate: " + proxy.ProxyAuthenticate + "\r\n",
            Admission.Throttled => $"Retry-After: {Math.Max(1, (int)Math.Ceiling(admit.RetryAfter.TotalSeconds))}\r\n",
            Admission.AuditUnavailable => "Retry-After: 30\r\n",
            _ => null,
        };
        var rule = ProxyServices.RuleFor(admit.Admission);
        proxy.Observe(request.Refused("CONNECT", head.Authority, rule, status));
        return Response(status, rule, extra);
    }

    /// <summary>
    /// Decide: <see cref="Judge"/> for an admitted request. With <paramref name="record"/>, records the engine's time
    /// (unless the target was bad); a transport that may yet hand the CONNECT to another (the loop) records it with
    /// <see cref="RecordDecision"/> once it keeps it, so a decision is timed once.
    /// </summary>
    public ConnectJudgement Decide(in ProxyRequest request, string authority, bool record = true)
    {
        var judged = Judge(request.Policy, request.Client, request.User, authority, request.At, proxy.Options, canInspect(), proxy.Time);
        if (record)
        {
            RecordDecision(judged);
        }
        return judged;
    }

    /// <summary>Records the engine's time for <paramref name="judged"/> (none for a bad target: the engine was not asked).</summary>
    public void RecordDecision(ConnectJudgement judged)
    {
        if (judged.Verdict != ConnectVerdict.BadTarget)
        {
            proxy.Metrics?.RecordDecisionTime(judged.DecisionTime);
        }
    }

    /// <summary>
    /// Refuse: the answer to a verdict that ends the CONNECT here (BadTarget, Blocked with its alert, PortRefused).
    /// Records it; the answer to send.
    /// </summary>
    public async ValueTask<byte[]> RefuseAsync(ProxyRequest request, string authority, ConnectJudgement judged)
    {
        switch (judged.Verdict)
        {
            case ConnectVerdict.BadTarget:
                proxy.Observe(request.Refused("CONNECT", authority, "bad-connect-target", 400, request.Policy.Identify(request.Client, request.User)));
                return Response(400, "bad-connect-target", null);
            case ConnectVerdict.Blocked:
                await AlertAsync(request, judged);
                proxy.Observe(request.Decided("CONNECT", judged.Target, judged.Decision!, 403));
                return Response(403, BlockedText(judged.Decision!, request.Reference), null);
            case ConnectVerdict.PortRefused:
                proxy.Observe(request.Refused("CONNECT", judged.Target, "connect-port", 403, judged.Decision!.Identity));
                return Response(403, $"Tunnels to port {judged.Port} are not allowed. Reference {request.Reference}.", null);
            default:
                throw new ArgumentException($"{judged.Verdict} is not a refusal", nameof(judged));
        }
    }

    /// <summary>BlockPage: the alert, raised once, before the 200 and the page inside TLS.</summary>
    public ValueTask AlertAsync(in ProxyRequest request, ConnectJudgement judged) =>
        proxy.AlertAsync(request.At, request.Client, "CONNECT", judged.Target, judged.Host!, judged.Decision!, request.Reference, request.PolicyVersion);

    /// <summary>Connect: how long connecting upstream took (resolve, address policy and connect).</summary>
    public void Connected(TimeSpan took) => proxy.Metrics?.RecordUpstreamTime(connect: true, took);

    /// <summary>Resolve, AddressPolicy or Connect failed. Records it; the answer to send (403, 502 or 504).</summary>
    public byte[] UpstreamFailed(in ProxyRequest request, ConnectJudgement judged, UpstreamError error, IPEndPoint? remote)
    {
        var (status, rule) = UpstreamStatus(error);
        if (error is UpstreamError.AddressRefused or UpstreamError.Loop)
        {
            proxy.Refusals.Note(rule, request.Client);
        }
        proxy.Observe(request.Refused("CONNECT", judged.Target, rule, status, judged.Decision!.Identity)
            with { UpstreamAddress = remote?.Address.ToString(), SafeSearch = judged.SafeSearch?.Provider });
        return Response(status, $"{rule}. Reference {request.Reference}.", null);
    }

    /// <summary>
    /// Hello: the ClientHello the transport peeked (<see cref="HelloStatus.Incomplete"/> when its deadline passed).
    /// True when it names the CONNECT host; false when the tunnel is refused, recorded: the transport closes.
    /// </summary>
    /// <param name="upstream">The connected upstream address; null for a tunnel to be bumped.</param>
    public bool CheckHello(in ProxyRequest request, ConnectJudgement judged, HelloStatus status, ClientHelloInfo? hello, IPEndPoint? upstream)
    {
        if (HelloRefusal(status, hello, judged.Host!) is not { } refusal)
        {
            return true;
        }
        proxy.Refusals.Note(refusal, request.Client);
        var record = request.TunnelRefused(judged.Target, judged.Decision!, refusal, upstream?.Address.ToString());
        proxy.Observe(upstream is null ? record : record with { SafeSearch = judged.SafeSearch?.Provider });
        return false;
    }

    /// <summary>Splice: a tunnel that ended, with its bytes each way.</summary>
    public void Spliced(in ProxyRequest request, ConnectJudgement judged, IPEndPoint upstream, long fromClient, long toClient) =>
        proxy.Observe(request.Decided("CONNECT", judged.Target, judged.Decision!, 200, fromClient, toClient, upstream.Address.ToString())
            with { SafeSearch = judged.SafeSearch?.Provider });

    /// <summary>
    /// Inspect or BlockPage: the CONNECT's own record once the ClientHello passed (the requests inside get theirs),
    /// and what the TLS and HTTP stages need to know about the tunnel.
    /// </summary>
    public InspectedTunnel Bumped(in ProxyRequest request, ConnectJudgement judged)
    {
        bool blockPage = judged.Verdict == ConnectVerdict.BlockPage;
        // A block page's record keeps the engine's block (action, rule, category) with the status the client saw.
        proxy.Observe(request.Decided("CONNECT", judged.Target, judged.Decision!, 200, upstream: blockPage ? BlockPageUpstream : "inspected"));
        return new InspectedTunnel(judged.Host!, judged.Port, request.User, request.Reference, blockPage ? judged.Decision : null);
    }
}
