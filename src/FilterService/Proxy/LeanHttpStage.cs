using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FilterService.Audit;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.WebUtilities;
using PolicyModel.Decisions;

namespace FilterService.Proxy;

/// <summary>
/// The lean HTTP stage (<c>Proxy:LeanHttp</c>): plain-HTTP proxy requests served straight from the connection's pipe,
/// with no HttpContext and no HttpClient. It takes the common case only, a well-formed bodiless GET or HEAD for an
/// <c>http://</c> URL (<see cref="PlainRequestParser"/>), and hands the connection to Kestrel's HTTP/1.1 and
/// <see cref="ForwardingStage"/> at the first request it does not recognise, which then serve the rest of the connection
/// as before. Admission, the decision, alerts, the block page and the records are <see cref="HttpVerdict"/>'s, the
/// ForwardingStage's too: this stage only reads the head, writes the answer to the pipe, and forwards.
/// </summary>
/// <remarks>
/// Upstream it keeps HTTP/1.1 connections per origin (<see cref="UpstreamPool"/>), sends the request line in origin
/// form with the headers the client sent (hop-by-hop ones dropped, <c>Host</c> from the URL, <c>Via</c> added), and
/// relays the response: the head with its hop-by-hop headers dropped and <c>Via</c> added, then the body as it comes,
/// by Content-Length, chunked (passed through, its end found by <see cref="ChunkScanner"/>) or to the close. A request
/// on a reused connection that the origin closed before answering is retried once on a new one (GET and HEAD are
/// idempotent). bench/load/README.md has what it saves against the HttpClient path.
/// </remarks>
internal sealed partial class LeanHttpStage : IDisposable
{
    private const int HeadBufferSize = 8 * 1024;
    private const int MaxResponseHead = 64 * 1024;
    private const int BodyBlock = 64 * 1024;

    private readonly ProxyServices _proxy;
    private readonly UpstreamPool _pool;
    private readonly ILogger<LeanHttpStage> _logger;
    private readonly byte[] _via;

    public LeanHttpStage(ProxyServices proxy, ILogger<LeanHttpStage> logger)
    {
        _proxy = proxy;
        _pool = new UpstreamPool(proxy.Time);
        _logger = logger;
        _via = Encoding.ASCII.GetBytes("Via: " + proxy.Via + "\r\n");
    }

    public void Dispose() => _pool.Dispose();

    private enum Next { Served, Close }

    /// <summary>
    /// Serves requests on <paramref name="connection"/> until it closes (true) or a request needs Kestrel's HTTP stage
    /// (false: that request is still unread in the pipe).
    /// </summary>
    /// <param name="firstHeadTimeLeft">
    /// What is left of the connection's head deadline (<c>Proxy:HeadTimeout</c> from the accept) for the first request's
    /// head: the caller has already waited for its first bytes, so a fresh HeadTimeout here would let a client that
    /// trickles the head hold the connection for nearly twice as long.
    /// </param>
    public async Task<bool> ServeAsync(ConnectionContext connection, IPAddress client, TimeSpan firstHeadTimeLeft)
    {
        var input = connection.Transport.Input;
        var lifetime = connection.Features.Get<IConnectionLifetimeNotificationFeature>();
        using var deadline = new ReadDeadline(_proxy.Time);
        // One of each per connection, refilled by every request.
        var head = new PlainRequestHead();
        var response = new UpstreamResponseHead();
        // Graceful shutdown: an idle keep-alive connection stops waiting for its next request.
        using var stopping = lifetime?.ConnectionClosedRequested.UnsafeRegister(static s => ((PipeReader)s!).CancelPendingRead(), input) ?? default;
        try
        {
            bool first = true;
            while (true)
            {
                if (lifetime?.ConnectionClosedRequested.IsCancellationRequested == true)
                {
                    return true; // shutting down: no new request on this connection
                }
                // The first request's bytes have arrived: its head must complete within HeadTimeout of the accept (what
                // the caller left of it). Later ones may idle for KeepAliveTimeout, and then must complete within
                // HeadTimeout of their first byte.
                var token = deadline.Arm(first ? firstHeadTimeLeft : _proxy.Options.KeepAliveTimeout);
                bool started = first;
                HeadCheck check;
                bool timedOut = false, ended = false;
                while (true)
                {
                    ReadResult result;
                    try
                    {
                        result = await input.ReadAsync(token);
                    }
                    catch (OperationCanceledException)
                    {
                        timedOut = true;
                        check = HeadCheck.Incomplete;
                        break;
                    }
                    var buffer = result.Buffer;
                    if ((buffer.IsEmpty && result.IsCompleted) || (result.IsCanceled && !started))
                    {
                        input.AdvanceTo(buffer.Start);
                        ended = true;
                        check = HeadCheck.Incomplete;
                        break;
                    }
                    if (!started && !buffer.IsEmpty)
                    {
                        started = true;
                        deadline.Arm(_proxy.Options.HeadTimeout);
                    }
                    check = PlainRequestParser.TryParse(buffer, _proxy.Options.MaxHeadBytes, _proxy.Options.MaxRequestLineBytes, head);
                    if (check == HeadCheck.Simple && !HttpTarget.TryResolve(head.Target, https: false, out head.Resolved))
                    {
                        head.Dispose();
                        check = HeadCheck.NotSimple; // the ForwardingStage refuses it, as ever
                    }
                    if (check == HeadCheck.Simple)
                    {
                        input.AdvanceTo(buffer.GetPosition(head.Length));
                        break;
                    }
                    if (check == HeadCheck.NotSimple || result.IsCompleted)
                    {
                        input.AdvanceTo(buffer.Start); // unread: Kestrel parses it from the start
                        check = HeadCheck.NotSimple;
                        break;
                    }
                    input.AdvanceTo(buffer.Start, buffer.End);
                }
                deadline.Disarm();
                if (ended || (timedOut && !started))
                {
                    return true; // closed, or idle past the keep-alive timeout: close quietly
                }
                if (timedOut)
                {
                    await RefuseHeadTimeoutAsync(connection, client);
                    return true;
                }
                if (check == HeadCheck.NotSimple)
                {
                    return false;
                }
                Next next;
                try
                {
                    next = await HandleAsync(connection, client, head, response);
                }
                finally
                {
                    head.Dispose();
                }
                if (next == Next.Close)
                {
                    return true;
                }
                first = false;
            }
        }
        finally
        {
            head.Dispose();
        }
    }

    private async Task RefuseHeadTimeoutAsync(ConnectionContext connection, IPAddress client)
    {
        // What Kestrel answers a trickled head with, recorded as the RejectedRequestLogger records Kestrel's.
        var request = _proxy.Begin(client);
        var output = connection.Transport.Output;
        WriteText(output, 408, "Request Timeout", "The request head took too long.", close: true);
        await TryFlushAsync(output);
        _proxy.Observe(request.Refused("-", "-", "head-timeout", 408));
    }

    private async Task<Next> HandleAsync(ConnectionContext connection, IPAddress client, PlainRequestHead head, UpstreamResponseHead response)
    {
        var output = connection.Transport.Output;
        var verdict = await HttpVerdict.DecideAsync(_proxy, _proxy.Begin(client), head.Method, head.Resolved, head.ProxyAuthorization);
        switch (verdict.Kind)
        {
            case HttpVerdictKind.Forward:
                return await ForwardAsync(connection, head, response, verdict);
            case HttpVerdictKind.Block:
            {
                var page = verdict.PageUtf8(); // this thread's buffer: written out before the flush awaits
                WriteHead(output, 403, "Forbidden", "text/html; charset=utf-8", page.Length, !head.KeepAlive, "Cache-Control", "no-store");
                if (!head.IsHead)
                {
                    output.Write(page.Span);
                }
                bool flushed = await TryFlushAsync(output);
                _proxy.Observe(verdict.Blocked(head.IsHead ? 0 : page.Length));
                return flushed && head.KeepAlive ? Next.Served : Next.Close;
            }
            default:
            {
                // Refuse (Abort is for inspected tunnels only, which this stage never serves).
                bool close = verdict.Close || !head.KeepAlive;
                WriteText(output, verdict.Status, ReasonPhrases.GetReasonPhrase(verdict.Status), verdict.Text!, close, verdict.Header, verdict.HeaderValue);
                bool flushed = await TryFlushAsync(output);
                _proxy.Observe(verdict.Refused());
                return flushed && !close ? Next.Served : Next.Close;
            }
        }
    }
}
