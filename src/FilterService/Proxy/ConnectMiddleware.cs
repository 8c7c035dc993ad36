using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using FilterService.Audit;
using FilterService.Hosting;
using FilterService.Identity;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.WebUtilities;
using PolicyModel.Decisions;

namespace FilterService.Proxy;

/// <summary>
/// The first stage of every proxy connection (see README.md):
/// 1. cap connections per client address;
/// 2. sniff the first bytes; anything but <c>CONNECT </c> goes to the lean HTTP stage, which serves the plain requests
///    it recognises and leaves the first one it does not (and the rest of the connection) to Kestrel's HTTP layer;
/// 3. CONNECT: parse the head strictly under a deadline, admit the client, decide on the host, answer 403 or
///    connect upstream and answer 200;
/// 4. peek the ClientHello without consuming it; its SNI must agree with the CONNECT host;
/// 5. splice bytes both ways until either side finishes or the tunnel idles out; or, for hosts whose rules need
///    methods or paths (and an inspection CA is configured), hand the connection to TLS and the HTTP stage.
/// Failures are answered with a status and recorded; they never throw out of the middleware.
/// </summary>
internal sealed partial class ConnectMiddleware
{
    internal static ReadOnlySpan<byte> ConnectPrefix => "CONNECT "u8;
    internal static readonly ReadOnlyMemory<byte> Established = "HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray();

    private readonly ConnectionDelegate _next;
    private readonly ProxyServices _proxy;
    private readonly ClientGate _gate;
    private readonly RejectedRequestLogger _rejected;
    private readonly HttpDelegateHolder _http;
    private readonly bool _canInspect;
    private readonly PlainHttpStage? _lean;
    private readonly ILogger<ConnectMiddleware> _logger;

    /// <param name="next">Kestrel's HTTP/1.1, or with inspection enabled its TLS middleware in front of it.</param>
    /// <param name="http">Kestrel's HTTP/1.1 itself when <paramref name="next"/> is TLS; plain HTTP goes straight there.</param>
    /// <param name="lean">The lean stage for the plain requests it recognises (<c>Proxy:LeanHttp</c>), or null.</param>
    public ConnectMiddleware(ConnectionDelegate next, HttpDelegateHolder http, bool canInspect, PlainHttpStage? lean, ProxyServices proxy,
        ClientGate gate, RejectedRequestLogger rejected, ILogger<ConnectMiddleware> logger)
    {
        _lean = lean;
        _next = next;
        _http = http;
        _canInspect = canInspect;
        _proxy = proxy;
        _gate = gate;
        _rejected = rejected;
        _logger = logger;
    }

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var client = ProxyServices.ClientAddress(connection.RemoteEndPoint);
        if (!_gate.TryEnter(client))
        {
            _proxy.Refusals.Note(RefusalLog.TooManyConnections, client);
            connection.Abort(new ConnectionAbortedException("Too many connections from this client."));
            return;
        }
        using var deadline = new ReadDeadline();
        try
        {
            connection.Features.Set(ProxyConnectionFeature.Instance);
            // The whole head, first bytes included, is due HeadTimeout after the connection was accepted.
            long accepted = connection.Features.Get<AcceptedAtFeature>()?.Timestamp ?? Stopwatch.GetTimestamp();
            bool isConnect = false, ended = false;
            bool inTime = await ReadUntilAsync(connection.Transport.Input, deadline, HeadTimeLeft(accepted),
                (in ReadOnlySequence<byte> buffer, bool completed) =>
                {
                    int n = (int)Math.Min(buffer.Length, ConnectPrefix.Length);
                    Span<byte> first = stackalloc byte[8];
                    buffer.Slice(0, n).CopyTo(first);
                    bool prefix = first[..n].SequenceEqual(ConnectPrefix[..n]);
                    if (prefix && n < ConnectPrefix.Length && !completed)
                    {
                        return null;
                    }
                    isConnect = prefix && n == ConnectPrefix.Length;
                    ended = completed && buffer.IsEmpty;
                    // consumed = examined = start: Kestrel's HTTP layer reads these bytes again at once.
                    return buffer.Start;
                });
            if (!inTime || ended)
            {
                return; // nothing (or too little) arrived in time, or the client left: close quietly, nothing to answer
            }
            if (!isConnect)
            {
                try
                {
                    if (_lean is not null && await _lean.ServeAsync(connection, client))
                    {
                        return;
                    }
                }
                catch (Exception ex) when (IsGone(ex))
                {
                    return; // the client went away mid-exchange
                }
                _rejected.ConnectionStarted(connection.ConnectionId, client);
                try
                {
                    await (_http.Http ?? _next)(connection);
                }
                finally
                {
                    _rejected.ConnectionEnded(connection.ConnectionId);
                }
                return;
            }
            try
            {
                await HandleConnectAsync(connection, client, deadline, accepted);
            }
            catch (Exception ex) when (IsGone(ex))
            {
                // The client or upstream went away mid-exchange: nothing left to answer.
            }
        }
        finally
        {
            _gate.Release(client);
        }
    }

    private TimeSpan HeadTimeLeft(long accepted)
    {
        var left = _proxy.Options.HeadTimeout - Stopwatch.GetElapsedTime(accepted);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private static bool IsGone(Exception ex) => ex is IOException or ConnectionResetException or ConnectionAbortedException
        or OperationCanceledException or System.Net.Sockets.SocketException;

    /// <summary>Looks at the buffered bytes: the position consumed once they suffice, or null to wait for more.</summary>
    private delegate SequencePosition? HeadStep(in ReadOnlySequence<byte> buffer, bool completed);

    /// <summary>
    /// Reads until <paramref name="step"/> has enough bytes, under <paramref name="timeout"/>: the head and ClientHello
    /// stages need deadlines of their own, which Kestrel's timeouts do not cover. False when the deadline passed first;
    /// a client that closes completes the pipe, which the step answers.
    /// </summary>
    private static async ValueTask<bool> ReadUntilAsync(PipeReader input, ReadDeadline deadline, TimeSpan timeout, HeadStep step)
    {
        var token = deadline.Arm(timeout);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(token);
                var buffer = result.Buffer;
                if (step(buffer, result.IsCompleted) is { } consumed)
                {
                    input.AdvanceTo(consumed);
                    return true;
                }

                // A completed read always gets an answer from the step, so this cannot spin.
                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        finally
        {
            deadline.Disarm();
        }
    }

    private async Task HandleConnectAsync(ConnectionContext connection, IPAddress client, ReadDeadline deadline, long accepted)
    {
        long started = Stopwatch.GetTimestamp();
        var at = _proxy.Time.GetUtcNow();
        var reference = _proxy.NextReference();
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        var policy = _proxy.Policy.Current;

        // 1. The head, strictly, under a deadline Kestrel's own timeouts do not cover.
        ConnectHead? head = null;
        var error = HeadError.Incomplete;
        await ReadUntilAsync(input, deadline, HeadTimeLeft(accepted), (in ReadOnlySequence<byte> buffer, bool completed) =>
        {
            error = ConnectHeadParser.TryParse(buffer, _proxy.Options.MaxHeadBytes, out head);
            if (error == HeadError.Incomplete && !completed)
            {
                return null;
            }
            return head is null ? buffer.Start : buffer.GetPosition(head.Length);
        });
        if (head is null)
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
            _proxy.Refusals.Note(rule, client);
            await RespondAsync(output, status, rule, null);
            _proxy.Observe(_proxy.Refusal(at, client, null, "CONNECT", "-", rule, status, 0, 0, Elapsed(started), reference, policy.Version));
            return;
        }

        // 2. Who is asking.
        var (admission, user, retryAfter) = await _proxy.AdmitAsync(policy, client, head.ProxyAuthorization);
        if (admission != Admission.Admitted)
        {
            int status = admission switch { Admission.NotClient => 403, Admission.Challenge => 407, Admission.AuditUnavailable => 503, _ => 429 };
            if (admission == Admission.NotClient)
            {
                _proxy.Refusals.Note(RefusalLog.NotAClient, client);
            }
            string? extra = admission switch
            {
                Admission.Challenge => "Proxy-Authenticate: " + _proxy.ProxyAuthenticate + "\r\n",
                Admission.Throttled => $"Retry-After: {Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))}\r\n",
                Admission.AuditUnavailable => "Retry-After: 30\r\n",
                _ => null,
            };
            await RespondAsync(output, status, ProxyServices.RuleFor(admission), extra);
            _proxy.Observe(_proxy.Refusal(at, client, null, "CONNECT", head.Authority, ProxyServices.RuleFor(admission), status, 0, 0,
                Elapsed(started), reference, policy.Version));
            return;
        }

        // 3. What is asked for, and what it gets.
        var judged = Judge(policy, client, user, head.Authority, at, _proxy.Options, _canInspect && _http.Http is not null);
        if (judged.Verdict == ConnectVerdict.BadTarget)
        {
            await RespondAsync(output, 400, "bad-connect-target", null);
            _proxy.Observe(_proxy.Refusal(at, client, user, "CONNECT", head.Authority, "bad-connect-target", 400, 0, 0, Elapsed(started), reference,
                policy.Version, policy.Identify(client, user)));
            return;
        }
        _proxy.Metrics?.RecordDecisionTime(judged.DecisionTime);
        var (host, port, decision) = (judged.Host!, judged.Port, judged.Decision!);
        var target = Authority.Format(host, port);
        switch (judged.Verdict)
        {
            case ConnectVerdict.Blocked:
                await _proxy.AlertAsync(at, client, "CONNECT", target, host, decision, reference, policy.Version);
                await RespondAsync(output, 403, BlockedText(decision, reference), null);
                _proxy.Observe(ProxyServices.FromDecision(at, client, "CONNECT", target, decision, 403, 0, 0, Elapsed(started), reference, policy.Version, null, null));
                return;
            case ConnectVerdict.BlockPage:
                // Blocked, with a CA: answer 200 and terminate TLS, so the browser shows the block page, not a tunnel error
                // it retries. The alert is raised here, once; nothing is connected upstream.
                await _proxy.AlertAsync(at, client, "CONNECT", target, host, decision, reference, policy.Version);
                await BlockInsideTlsAsync(connection, deadline, client, host, port, user, target, decision, at, started, reference, policy.Version);
                return;
            case ConnectVerdict.PortRefused:
                await RespondAsync(output, 403, $"Tunnels to port {port} are not allowed. Reference {reference}.", null);
                _proxy.Observe(_proxy.Refusal(at, client, user, "CONNECT", target, "connect-port", 403, 0, 0, Elapsed(started), reference, policy.Version, decision.Identity));
                return;
            case ConnectVerdict.Inspect:
                // 4. Hosts whose rules need methods or paths are intercepted: the HTTP stage decides each request inside.
                await InspectAsync(connection, deadline, client, host, port, user, target, decision, at, started, reference, policy.Version);
                return;
        }

        // 5. Upstream, with the address policy applied to the resolved address.
        long connecting = Stopwatch.GetTimestamp();
        var (socket, upstreamError, remote) = await _proxy.Upstream.ConnectAsync(judged.ConnectHost!, port, connection.ConnectionClosed);
        var safeSearch = judged.SafeSearch?.Provider;
        _proxy.Metrics?.RecordUpstreamTime(connect: true, Stopwatch.GetElapsedTime(connecting));
        if (socket is null)
        {
            var (status, rule) = UpstreamStatus(upstreamError);
            if (upstreamError is UpstreamError.AddressRefused or UpstreamError.Loop)
            {
                _proxy.Refusals.Note(rule, client);
            }
            await RespondAsync(output, status, $"{rule}. Reference {reference}.", null);
            _proxy.Observe(_proxy.Refusal(at, client, user, "CONNECT", target, rule, status, 0, 0, Elapsed(started), reference, policy.Version, decision.Identity)
                with { UpstreamAddress = remote?.Address.ToString(), SafeSearch = safeSearch });
            return;
        }
        using (socket)
        {
            await output.WriteAsync(Established);

            // 6. The ClientHello must name the host the CONNECT did.
            var refusal = await CheckHelloAsync(input, deadline, host);
            if (refusal is not null)
            {
                _proxy.Refusals.Note(refusal, client);
                _proxy.Observe(ProxyServices.TunnelRefused(at, client, target, decision, refusal, Elapsed(started), reference, policy.Version,
                    remote!.Address.ToString()) with { SafeSearch = safeSearch });
                return;
            }

            // 7. Splice.
            var lifetime = connection.Features.Get<IConnectionLifetimeNotificationFeature>();
            using var active = _proxy.Metrics?.TrackTunnel();
            var (fromClient, toClient) = await Tunnel.SpliceAsync(connection, socket, _proxy.Options.TunnelIdleTimeout, _proxy.Options.SocketSplice,
                _proxy.Time, lifetime?.ConnectionClosedRequested ?? CancellationToken.None);
            _proxy.Observe(ProxyServices.FromDecision(at, client, "CONNECT", target, decision, 200, fromClient, toClient, Elapsed(started), reference,
                policy.Version, remote!.Address.ToString(), null) with { SafeSearch = safeSearch });
        }
    }

    private async Task InspectAsync(ConnectionContext connection, ReadDeadline deadline, IPAddress client, string host, int port, string? user, string target,
        Decision decision, DateTimeOffset at, long started, string reference, string version)
    {
        await connection.Transport.Output.WriteAsync(Established);
        var refusal = await CheckHelloAsync(connection.Transport.Input, deadline, host);
        if (refusal is not null)
        {
            _proxy.Refusals.Note(refusal, client);
            _proxy.Observe(ProxyServices.TunnelRefused(at, client, target, decision, refusal, Elapsed(started), reference, version, null));
            return;
        }
        _proxy.Observe(ProxyServices.FromDecision(at, client, "CONNECT", target, decision, 200, 0, 0, Elapsed(started), reference, version, "inspected", null));
        connection.Features.Set(new InspectedTunnel(host, port, user, reference));
        await _next(connection); // TLS with a minted certificate, then Kestrel's HTTP/1.1 and the HTTP stage
    }

    private async Task BlockInsideTlsAsync(ConnectionContext connection, ReadDeadline deadline, IPAddress client, string host, int port, string? user,
        string target, Decision decision, DateTimeOffset at, long started, string reference, string version)
    {
        await connection.Transport.Output.WriteAsync(Established);
        var refusal = await CheckHelloAsync(connection.Transport.Input, deadline, host);
        if (refusal is not null)
        {
            _proxy.Refusals.Note(refusal, client);
            _proxy.Observe(ProxyServices.TunnelRefused(at, client, target, decision, refusal, Elapsed(started), reference, version, null));
            return;
        }
        // The CONNECT's record keeps the engine's block (action, rule, category) with the status the client saw.
        _proxy.Observe(ProxyServices.FromDecision(at, client, "CONNECT", target, decision, 200, 0, 0, Elapsed(started), reference, version, BlockPageUpstream, null));
        connection.Features.Set(new InspectedTunnel(host, port, user, reference, decision));
        await _next(connection); // TLS with a minted certificate, then the HTTP stage, which answers every request with the block page
    }

    /// <summary>The upstream address recorded for a CONNECT bumped to show the block page: there is no upstream.</summary>
    internal const string BlockPageUpstream = "block-page";

    /// <summary>Peeks the ClientHello; null if it is TLS naming <paramref name="host"/>, else the refusal's rule.</summary>
    private async Task<string?> CheckHelloAsync(PipeReader input, ReadDeadline deadline, string host)
    {
        var (hello, helloStatus) = await PeekHelloAsync(input, deadline);
        return HelloRefusal(helloStatus, hello, host);
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

    private async Task<(ClientHelloInfo?, HelloStatus)> PeekHelloAsync(PipeReader input, ReadDeadline deadline)
    {
        ClientHelloInfo? info = null;
        var status = HelloStatus.Incomplete;
        var inTime = await ReadUntilAsync(input, deadline, _proxy.Options.ClientHelloTimeout, (in ReadOnlySequence<byte> buffer, bool completed) =>
        {
            status = ClientHelloParser.TryParse(buffer, out info);
            // Peeked, not consumed: the ClientHello goes upstream untouched.
            return status == HelloStatus.Incomplete && !completed ? null : buffer.Start;
        });
        return inTime ? (info, status) : (null, HelloStatus.Incomplete);
    }

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
    }

    /// <summary>
    /// The target, the engine's decision, the port policy and whether the host is inspected, for an admitted CONNECT:
    /// the one judgement this middleware answers and the tunnel loop carries or hands over on (a new check belongs
    /// here, so the loop can never carry a tunnel the middleware would refuse).
    /// </summary>
    /// <summary>The audit rule name of a CONNECT refused by <c>connect: { bare_ip: block }</c>.</summary>
    internal const string BareIpRule = "bare-ip-connect";

    internal static ConnectJudgement Judge(PolicySnapshot policy, IPAddress client, string? user, string authority, DateTimeOffset at,
        ProxyOptions options, bool canInspect)
    {
        if (!Authority.TrySplit(authority, 0, out var hostSpan, out int port) || Authority.CanonicalHost(hostSpan) is not { } host)
        {
            return new(ConnectVerdict.BadTarget, null, 0, null, default);
        }
        var request = new FilterRequest(client, user, "CONNECT", "https", host, port, "", at);
        var decision = ProxyServices.Decide(policy, in request, out var took);
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

    internal static string BlockedText(Decision decision, string reference) =>
        $"Blocked by the school web filter: {decision.Reason} (rule {decision.Rule}"
        + (decision.Category is null ? "" : $", category {decision.Category}") + $"). Reference {reference}.";

    /// <summary>The proxy's own answer to a CONNECT it refuses: a short text/plain response, then the connection closes.</summary>
    internal static byte[] Response(int status, string text, string? extraHeaders)
    {
        var body = text + "\n";
        var head = $"HTTP/1.1 {status} {ReasonPhrases.GetReasonPhrase(status)}\r\n{extraHeaders}Content-Type: text/plain; charset=utf-8\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n";
        return Encoding.UTF8.GetBytes(head + body);
    }

    private static async ValueTask RespondAsync(PipeWriter output, int status, string text, string? extraHeaders)
    {
        try
        {
            await output.WriteAsync(Response(status, text, extraHeaders));
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or OperationCanceledException or InvalidOperationException)
        {
            // The client went away; nothing to answer.
        }
    }

    private static TimeSpan Elapsed(long started) => Stopwatch.GetElapsedTime(started);
}
