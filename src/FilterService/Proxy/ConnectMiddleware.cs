using System.Buffers;
using System.IO.Pipelines;
using FilterService.Identity;
using Microsoft.AspNetCore.Connections;

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
/// Every decision and answer of steps 3-5 is <see cref="ConnectFlow"/>'s (as it is for the tunnel loop); this class
/// only reads and writes Kestrel's pipes. Failures are answered with a status and recorded; they never throw out of
/// the middleware.
/// </summary>
internal sealed partial class ConnectMiddleware
{
    private readonly ConnectionDelegate _next;
    private readonly ProxyServices _proxy;
    private readonly ClientGate _gate;
    private readonly RejectedRequestLogger _rejected;
    private readonly HttpDelegateHolder _http;
    private readonly ConnectFlow _flow;
    private readonly LeanHttpStage? _lean;
    private readonly ILogger<ConnectMiddleware> _logger;

    /// <param name="next">Kestrel's HTTP/1.1, or with inspection enabled its TLS middleware in front of it.</param>
    /// <param name="http">Kestrel's HTTP/1.1 itself when <paramref name="next"/> is TLS; plain HTTP goes straight there.</param>
    /// <param name="lean">The lean HTTP stage for the plain requests it recognises (<c>Proxy:LeanHttp</c>), or null.</param>
    public ConnectMiddleware(ConnectionDelegate next, HttpDelegateHolder http, bool canInspect, LeanHttpStage? lean, ProxyServices proxy,
        ClientGate gate, RejectedRequestLogger rejected, ILogger<ConnectMiddleware> logger)
    {
        _lean = lean;
        _next = next;
        _http = http;
        _flow = new ConnectFlow(proxy, () => canInspect && http.Http is not null);
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
        using var deadline = new ReadDeadline(_proxy.Time);
        try
        {
            connection.Features.Set(ProxyConnectionFeature.Instance);
            // The whole head, first bytes included, is due HeadTimeout after the connection was accepted.
            long accepted = connection.Features.Get<AcceptedAtFeature>()?.Timestamp ?? _proxy.Time.GetTimestamp();
            bool isConnect = false, ended = false, partialConnect = false;
            bool inTime = await ReadUntilAsync(connection.Transport.Input, deadline, HeadTimeLeft(accepted),
                (in ReadOnlySequence<byte> buffer, bool completed) =>
                {
                    int n = (int)Math.Min(buffer.Length, ConnectFlow.ConnectPrefix.Length);
                    Span<byte> first = stackalloc byte[8];
                    buffer.Slice(0, n).CopyTo(first);
                    bool prefix = first[..n].SequenceEqual(ConnectFlow.ConnectPrefix[..n]);
                    if (prefix && n < ConnectFlow.ConnectPrefix.Length && !completed)
                    {
                        partialConnect = n > 0;
                        return null;
                    }
                    isConnect = prefix && n == ConnectFlow.ConnectPrefix.Length;
                    ended = completed && buffer.IsEmpty;
                    // consumed = examined = start: Kestrel's HTTP layer reads these bytes again at once.
                    return buffer.Start;
                });
            if (!inTime && partialConnect)
            {
                // The start of a CONNECT arrived but not the rest in time (a trickle, or a connection the tunnel loop
                // handed over at its head deadline): answered 408 and recorded, as a trickled head after the prefix is.
                await RespondAsync(connection.Transport.Output, _flow.RefuseHead(_flow.Begin(client), HeadError.Incomplete));
                return;
            }
            if (!inTime || ended)
            {
                return; // nothing arrived in time, or the client left: close quietly, nothing to answer
            }
            if (!isConnect)
            {
                try
                {
                    // The first request's head stays due HeadTimeout after the accept, not after its first bytes.
                    if (_lean is not null && await _lean.ServeAsync(connection, client, HeadTimeLeft(accepted)))
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
                await HandleConnectAsync(connection, _flow.Begin(client), deadline, accepted);
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
        var left = _proxy.Options.HeadTimeout - _proxy.Time.GetElapsedTime(accepted);
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
}
