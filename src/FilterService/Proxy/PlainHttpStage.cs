using System.Buffers;
using System.Diagnostics;
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
/// The lean HTTP stage: plain-HTTP proxy requests served straight from the connection's pipe, with no HttpContext and
/// no HttpClient. It takes the common case only, a well-formed bodiless GET or HEAD for an <c>http://</c> URL
/// (<see cref="PlainRequestParser"/>), and hands the connection to Kestrel's HTTP/1.1 and <see cref="ForwardingStage"/>
/// at the first request it does not recognise, which then serve the rest of the connection as before. Admission, the
/// decision, alerts, the block page, the audit record and metrics are the same as the ForwardingStage's.
/// </summary>
/// <remarks>
/// Upstream it keeps HTTP/1.1 connections per origin (<see cref="UpstreamPool"/>), sends the request line in origin
/// form with the headers the client sent (hop-by-hop ones dropped, <c>Host</c> from the URL, <c>Via</c> added), and
/// relays the response: the head with its hop-by-hop headers dropped and <c>Via</c> added, then the body as it comes,
/// by Content-Length, chunked (passed through, its end found by <see cref="ChunkScanner"/>) or to the close. A request
/// on a reused connection that the origin closed before answering is retried once on a new one (GET and HEAD are
/// idempotent). bench/load/README.md has what it saves against the HttpClient path.
/// </remarks>
internal sealed partial class PlainHttpStage : IDisposable
{
    private const int HeadBufferSize = 8 * 1024;
    private const int MaxResponseHead = 64 * 1024;
    private const int BodyBlock = 64 * 1024;

    private readonly ProxyServices _proxy;
    private readonly UpstreamPool _pool = new();
    private readonly ILogger<PlainHttpStage> _logger;
    private readonly byte[] _via;

    public PlainHttpStage(ProxyServices proxy, ILogger<PlainHttpStage> logger)
    {
        _proxy = proxy;
        _logger = logger;
        _via = Encoding.ASCII.GetBytes("Via: " + proxy.Via + "\r\n");
    }

    public void Dispose() => _pool.Dispose();

    private enum Next { Served, Close }

    /// <summary>
    /// Serves requests on <paramref name="connection"/> until it closes (true) or a request needs Kestrel's HTTP stage
    /// (false: that request is still unread in the pipe).
    /// </summary>
    public async Task<bool> ServeAsync(ConnectionContext connection, IPAddress client)
    {
        var input = connection.Transport.Input;
        var lifetime = connection.Features.Get<IConnectionLifetimeNotificationFeature>();
        using var deadline = new ReadDeadline();
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
                // The first request's bytes have arrived: its head must complete within HeadTimeout. Later ones may idle
                // for KeepAliveTimeout, and then must complete within HeadTimeout of their first byte.
                var token = deadline.Arm(first ? _proxy.Options.HeadTimeout : _proxy.Options.KeepAliveTimeout);
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
                    if (check == HeadCheck.Simple && !ForwardingStage.TryResolveTarget(head.Target, https: false, out head.Uri, out head.Host))
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
        var output = connection.Transport.Output;
        WriteText(output, 408, "Request Timeout", "The request head took too long.", close: true);
        await TryFlushAsync(output);
        _proxy.Observe(_proxy.Refusal(_proxy.Time.GetUtcNow(), client, null, "-", "-", "head-timeout", 408, 0, 0, TimeSpan.Zero,
            _proxy.NextReference(), _proxy.Policy.Current.Version));
    }

    private async Task<Next> HandleAsync(ConnectionContext connection, IPAddress client, PlainRequestHead head, UpstreamResponseHead response)
    {
        long started = Stopwatch.GetTimestamp();
        var at = _proxy.Time.GetUtcNow();
        var reference = _proxy.NextReference();
        var policy = _proxy.Policy.Current;
        var output = connection.Transport.Output;
        var uri = head.Uri!;
        var host = head.Host;
        string url = uri.AbsoluteUri;

        var (admission, user, retryAfter) = await _proxy.AdmitAsync(policy, client, head.ProxyAuthorization);
        if (admission != Admission.Admitted)
        {
            var refusal = ForwardingStage.Refuse(admission, retryAfter, _proxy.ProxyAuthenticate);
            bool close = admission == Admission.NotClient || !head.KeepAlive;
            WriteText(output, refusal.Status, ReasonPhrases.GetReasonPhrase(refusal.Status), refusal.Text, close, refusal.Header, refusal.Value);
            bool flushed = await TryFlushAsync(output);
            _proxy.Observe(_proxy.Refusal(at, client, null, head.Method, url, ProxyServices.RuleFor(admission), refusal.Status, 0, 0,
                Stopwatch.GetElapsedTime(started), reference, policy.Version));
            return flushed && !close ? Next.Served : Next.Close;
        }

        var filterRequest = new FilterRequest(client, user, head.Method, "http", host, uri.Port, uri.PathAndQuery, at);
        var decision = _proxy.Decide(policy, in filterRequest);
        if (decision.IsBlocked)
        {
            await _proxy.AlertAsync(at, client, head.Method, url, host, decision, reference, policy.Version);
            var page = BlockPage.RenderUtf8(policy, decision, url, client, at, reference);
            WriteHead(output, 403, "Forbidden", "text/html; charset=utf-8", page.Length, !head.KeepAlive, "Cache-Control", "no-store");
            if (!head.IsHead)
            {
                output.Write(page.Span);
            }
            bool flushed = await TryFlushAsync(output);
            _proxy.Observe(ProxyServices.FromDecision(at, client, head.Method, url, decision, 403, 0, head.IsHead ? 0 : page.Length,
                Stopwatch.GetElapsedTime(started), reference, policy.Version, null, null));
            return flushed && head.KeepAlive ? Next.Served : Next.Close;
        }

        return await ForwardAsync(connection, head, response, uri, host, url, decision, at, started, reference, policy.Version, client,
            policy.SafeSearchFor(decision.Identity, host));
    }

    private async Task<Next> ForwardAsync(ConnectionContext connection, PlainRequestHead head, UpstreamResponseHead response, Uri uri, string host, string url,
        Decision decision, DateTimeOffset at, long started, string reference, string version, IPAddress client, SafeSearchTarget? safe)
    {
        var output = connection.Transport.Output;
        int port = uri.Port;
        // Safe search: the connection (and the pool it is kept in) goes to the provider's safe-search name; the Host stays.
        var connectHost = safe?.Host ?? host;
        var request = BuildRequest(head, uri, host, port, out int requestLength);
        var buffer = ArrayPool<byte>.Shared.Rent(HeadBufferSize);
        UpstreamConnection? upstream = null;
        bool reusable = false;
        try
        {
            // 1. A connection, the request sent, the response head read; once more on a new connection if a reused one was stale.
            int headLength = 0, filled = 0;
            long sending = 0;
            for (int attempt = 0; ; attempt++)
            {
                upstream = attempt == 0 ? _pool.TryRent(connectHost, port) : null;
                bool reused = upstream is not null;
                if (upstream is null)
                {
                    var (socket, error, remote) = await _proxy.Upstream.ConnectAsync(connectHost, port, connection.ConnectionClosed);
                    if (socket is null)
                    {
                        var (status, rule) = ConnectMiddleware.UpstreamStatus(error);
                        if (error is UpstreamError.AddressRefused or UpstreamError.Loop)
                        {
                            _proxy.Refusals.Note(rule, client);
                        }
                        return await RespondUpstreamFailureAsync(output, head, status, rule, at, started, reference, version, client, url, decision);
                    }
                    upstream = new UpstreamConnection(socket, remote!);
                }
                sending = Stopwatch.GetTimestamp();
                var (outcome, length, read, grown) = await ExchangeAsync(upstream, request.AsMemory(0, requestLength), buffer, response,
                    connection.ConnectionClosed);
                buffer = grown;
                if (outcome == Exchange.Ok)
                {
                    headLength = length;
                    filled = read;
                    break;
                }
                upstream.Dispose();
                upstream = null;
                if (outcome == Exchange.Stale && reused && attempt == 0)
                {
                    continue;
                }
                if (outcome == Exchange.ClientGone)
                {
                    AuditForwarded(at, client, head, url, decision, 499, 0, started, reference, version, null, null, safe?.Provider);
                    return Next.Close;
                }
                var (failStatus, failRule) = outcome == Exchange.Timeout ? (504, "upstream-timeout") : (502, "upstream-failed");
                LogUpstreamFailed(_logger, failRule, outcome.ToString());
                return await RespondUpstreamFailureAsync(output, head, failStatus, failRule, at, started, reference, version, client, url, decision);
            }
            _proxy.Metrics?.RecordUpstreamTime(connect: false, Stopwatch.GetElapsedTime(sending));

            // 2. The head to the client.
            bool noBody = head.IsHead || response.Status is 204 or 304;
            bool clientKeepAlive = head.KeepAlive && (noBody || !response.CloseDelimited);
            WriteResponseHead(output, buffer, response, clientKeepAlive, chunked: response.Chunked && !noBody);

            // 3. The body.
            long toClient = 0;
            var leftover = buffer.AsMemory(headLength, filled - headLength);
            bool complete;
            if (noBody)
            {
                complete = leftover.IsEmpty;
                reusable = complete && !response.Close;
                bool flushed = await TryFlushAsync(output);
                AuditForwarded(at, client, head, url, decision, response.Status, 0, started, reference, version, uri.Host, response.ContentType, safe?.Provider);
                return flushed && clientKeepAlive ? Next.Served : Next.Close;
            }
            var (bodyOutcome, bytes, clean) = await RelayBodyAsync(upstream!, output, leftover, response);
            toClient = bytes;
            complete = bodyOutcome == Exchange.Ok;
            reusable = complete && clean && !response.Close;
            if (!complete)
            {
                // One side went away mid-body: the client must see an abort, not a short body.
                int status = bodyOutcome == Exchange.ClientGone ? 499 : 502;
                connection.Abort(new ConnectionAbortedException("The upstream response could not be completed."));
                AuditForwarded(at, client, head, url, decision, status, toClient, started, reference, version, uri.Host, response.ContentType, safe?.Provider);
                return Next.Close;
            }
            AuditForwarded(at, client, head, url, decision, response.Status, toClient, started, reference, version, uri.Host, response.ContentType, safe?.Provider);
            return clientKeepAlive ? Next.Served : Next.Close;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(request);
            if (upstream is not null)
            {
                if (reusable && upstream.Reset())
                {
                    _pool.Return(connectHost, port, upstream);
                }
                else
                {
                    upstream.Dispose();
                }
            }
        }
    }

    private void AuditForwarded(DateTimeOffset at, IPAddress client, PlainRequestHead head, string url, Decision decision, int status,
        long toClient, long started, string reference, string version, string? upstream, string? contentType, string? safeSearch) =>
        _proxy.Observe(ProxyServices.FromDecision(at, client, head.Method, url, decision, status, 0, toClient, Stopwatch.GetElapsedTime(started),
            reference, version, upstream, contentType) with { SafeSearch = safeSearch });

    private async Task<Next> RespondUpstreamFailureAsync(PipeWriter output, PlainRequestHead head, int status, string rule, DateTimeOffset at,
        long started, string reference, string version, IPAddress client, string url, Decision decision)
    {
        WriteText(output, status, ReasonPhrases.GetReasonPhrase(status), $"{rule}. Reference {reference}.", !head.KeepAlive, via: true);
        bool flushed = await TryFlushAsync(output);
        _proxy.Observe(ProxyServices.UpstreamFailure(at, client, head.Method, url, decision, status, rule, 0, Stopwatch.GetElapsedTime(started),
            reference, version));
        return flushed && head.KeepAlive ? Next.Served : Next.Close;
    }

    private enum Exchange { Ok, Stale, Failed, Timeout, ClientGone, BadResponse }

    /// <summary>
    /// Sends the request and reads the response head (skipping 1xx) into <paramref name="buffer"/>, or a bigger buffer
    /// that replaces it (returned either way).
    /// </summary>
    private async Task<(Exchange, int HeadLength, int Filled, byte[] Buffer)> ExchangeAsync(UpstreamConnection upstream, ReadOnlyMemory<byte> request,
        byte[] buffer, UpstreamResponseHead response, CancellationToken clientClosed)
    {
        var socket = upstream.Socket;
        var timeout = _proxy.Options.UpstreamReadTimeout;
        int filled = 0;
        bool anyByte = false;
        // The client leaving while the origin thinks must not hold the connection for the read timeout.
        using var gone = clientClosed.UnsafeRegister(static s => ((UpstreamConnection)s!).Deadline.Cancel(), upstream);
        try
        {
            upstream.Deadline.CancelAfter(timeout);
            while (!request.IsEmpty)
            {
                int sent = await socket.SendAsync(request, SocketFlags.None, upstream.Deadline.Token);
                request = request[sent..];
            }
            int scanFrom = 0;
            while (true)
            {
                int end = buffer.AsSpan(0, filled).Slice(scanFrom).IndexOf("\r\n\r\n"u8);
                if (end >= 0)
                {
                    int headLength = scanFrom + end + 4;
                    if (!response.TryParse(buffer.AsSpan(0, headLength - 2)) || response.Status == 101)
                    {
                        return (Exchange.BadResponse, 0, 0, buffer);
                    }
                    if (response.Status < 200)
                    {
                        // An interim response (103 Early Hints...): dropped, as HttpClient does; the final one follows.
                        buffer.AsSpan(headLength, filled - headLength).CopyTo(buffer);
                        filled -= headLength;
                        scanFrom = 0;
                        continue;
                    }
                    return (Exchange.Ok, headLength, filled, buffer);
                }
                scanFrom = Math.Max(0, filled - 3);
                if (filled == buffer.Length)
                {
                    if (buffer.Length >= MaxResponseHead)
                    {
                        return (Exchange.BadResponse, 0, 0, buffer);
                    }
                    // Heads over 8 KB are rare: the caller returns whichever buffer comes back to the pool.
                    var bigger = ArrayPool<byte>.Shared.Rent(MaxResponseHead);
                    buffer.AsSpan(0, filled).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                upstream.Deadline.CancelAfter(timeout);
                int n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, upstream.Deadline.Token);
                if (n == 0)
                {
                    return (anyByte ? Exchange.Failed : Exchange.Stale, 0, 0, buffer);
                }
                anyByte = true;
                filled += n;
            }
        }
        catch (OperationCanceledException)
        {
            return (clientClosed.IsCancellationRequested ? Exchange.ClientGone : Exchange.Timeout, 0, 0, buffer);
        }
        catch (SocketException ex) when (!anyByte && ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown)
        {
            return (Exchange.Stale, 0, 0, buffer);
        }
        catch (SocketException)
        {
            return (Exchange.Failed, 0, 0, buffer);
        }
    }

    /// <summary>Relays the body: the bytes already read after the head, then from the socket until the message ends.</summary>
    private async Task<(Exchange Outcome, long Bytes, bool Clean)> RelayBodyAsync(UpstreamConnection upstream, PipeWriter output,
        ReadOnlyMemory<byte> leftover, UpstreamResponseHead response)
    {
        var scanner = new ChunkScanner();
        long remaining = response.ContentLength;
        long relayed = 0;
        bool clean = true;

        // Returns how many of these bytes belong to the message; marks the message complete.
        int Take(ReadOnlySpan<byte> data, ref bool done)
        {
            if (response.Chunked)
            {
                int used = scanner.Feed(data);
                if (used < 0)
                {
                    return -1;
                }
                done = scanner.Done;
                return used;
            }
            if (response.ContentLength >= 0)
            {
                int used = (int)Math.Min(remaining, data.Length);
                remaining -= used;
                done = remaining == 0;
                return used;
            }
            return data.Length; // to the close
        }

        bool done = response.ContentLength == 0;
        if (!leftover.IsEmpty && !done)
        {
            int used = Take(leftover.Span, ref done);
            if (used < 0)
            {
                return (Exchange.BadResponse, 0, false);
            }
            output.Write(leftover.Span[..used]);
            relayed += used;
            clean = used == leftover.Length;
        }
        else if (!leftover.IsEmpty)
        {
            clean = false; // bytes after a complete message: the connection is not reused
        }
        try
        {
            while (!done)
            {
                var flush = await output.FlushAsync();
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    return (Exchange.ClientGone, relayed, false);
                }
                int block = response.ContentLength >= 0 ? (int)Math.Min(remaining, BodyBlock) : BodyBlock;
                var memory = output.GetMemory(block);
                if (memory.Length > block)
                {
                    memory = memory[..block];
                }
                upstream.Deadline.CancelAfter(_proxy.Options.UpstreamReadTimeout);
                int n = await upstream.Socket.ReceiveAsync(memory, SocketFlags.None, upstream.Deadline.Token);
                if (n == 0)
                {
                    if (response.CloseDelimited)
                    {
                        break;
                    }
                    return (Exchange.Failed, relayed, false);
                }
                int used = Take(memory.Span[..n], ref done);
                if (used < 0)
                {
                    return (Exchange.BadResponse, relayed, false);
                }
                clean &= used == n;
                output.Advance(used);
                relayed += used;
            }
            await output.FlushAsync(); // a client gone now is seen by the next read of its connection
        }
        catch (OperationCanceledException)
        {
            return (Exchange.Timeout, relayed, false);
        }
        catch (Exception ex) when (ex is SocketException or IOException or ConnectionAbortedException or ObjectDisposedException)
        {
            return (Exchange.Failed, relayed, false);
        }
        return (Exchange.Ok, response.Chunked ? scanner.DataBytes : relayed, clean);
    }

    /// <summary>The request upstream: origin-form target, Host from the URL, the client's end-to-end headers, Via.</summary>
    private byte[] BuildRequest(PlainRequestHead head, Uri uri, string host, int port, out int length)
    {
        string path = uri.PathAndQuery;
        string authority = (host.Contains(':') ? "[" + host + "]" : host) + (port == 80 ? "" : ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        int size = head.Method.Length + 1 + path.Length + 11 + 6 + authority.Length + 2 + head.Length + _via.Length + 2;
        var bytes = ArrayPool<byte>.Shared.Rent(size);
        var span = bytes.AsSpan();
        int at = 0;
        at += Encoding.ASCII.GetBytes(head.Method, span[at..]);
        span[at++] = (byte)' ';
        at += Encoding.ASCII.GetBytes(path, span[at..]);
        " HTTP/1.1\r\nHost: "u8.CopyTo(span[at..]);
        at += 17;
        at += Encoding.ASCII.GetBytes(authority, span[at..]);
        span[at++] = (byte)'\r';
        span[at++] = (byte)'\n';
        for (int i = 0; i < head.LineCount; i++)
        {
            var line = head.Bytes.AsSpan(head.Lines[2 * i], head.Lines[2 * i + 1] + 2); // with its CRLF
            line.CopyTo(span[at..]);
            at += line.Length;
        }
        _via.CopyTo(span[at..]);
        at += _via.Length;
        span[at++] = (byte)'\r';
        span[at++] = (byte)'\n';
        length = at;
        return bytes;
    }

    private void WriteResponseHead(PipeWriter output, byte[] buffer, UpstreamResponseHead response, bool keepAlive, bool chunked)
    {
        WriteStatusLine(output, response.Status, ReasonPhrases.GetReasonPhrase(response.Status));
        for (int i = 0; i < response.LineCount; i++)
        {
            output.Write(buffer.AsSpan(response.Lines[2 * i], response.Lines[2 * i + 1] + 2));
        }
        if (chunked)
        {
            output.Write("Transfer-Encoding: chunked\r\n"u8);
        }
        if (!response.HasDate)
        {
            WriteDate(output);
        }
        if (!keepAlive)
        {
            output.Write("Connection: close\r\n"u8);
        }
        output.Write(_via);
        output.Write("\r\n"u8);
    }

    private static void WriteStatusLine(PipeWriter output, int status, string reason)
    {
        var span = output.GetSpan(16 + reason.Length);
        "HTTP/1.1 "u8.CopyTo(span);
        span[9] = (byte)('0' + status / 100);
        span[10] = (byte)('0' + status / 10 % 10);
        span[11] = (byte)('0' + status % 10);
        span[12] = (byte)' ';
        int n = Encoding.ASCII.GetBytes(reason, span[13..]);
        span[13 + n] = (byte)'\r';
        span[14 + n] = (byte)'\n';
        output.Advance(15 + n);
    }

    private void WriteHead(PipeWriter output, int status, string reason, string contentType, long contentLength, bool close,
        string? header = null, string? value = null, bool via = true)
    {
        WriteStatusLine(output, status, reason);
        WriteAscii(output, "Content-Type: ");
        WriteAscii(output, contentType);
        WriteAscii(output, "\r\nContent-Length: ");
        WriteAscii(output, contentLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
        output.Write("\r\n"u8);
        if (header is not null)
        {
            WriteAscii(output, header);
            output.Write(": "u8);
            WriteAscii(output, value!);
            output.Write("\r\n"u8);
        }
        WriteDate(output);
        if (close)
        {
            output.Write("Connection: close\r\n"u8);
        }
        if (via)
        {
            output.Write(_via);
        }
        output.Write("\r\n"u8);
    }

    private void WriteText(PipeWriter output, int status, string reason, string text, bool close, string? header = null, string? value = null,
        bool via = false)
    {
        var body = Encoding.UTF8.GetBytes(text + "\n");
        WriteHead(output, status, reason, "text/plain; charset=utf-8", body.Length, close, header, value, via);
        output.Write(body);
    }

    private static void WriteAscii(PipeWriter output, string text)
    {
        var span = output.GetSpan(text.Length);
        int n = Encoding.Latin1.GetBytes(text, span);
        output.Advance(n);
    }

    private static void WriteDate(PipeWriter output)
    {
        output.Write("Date: "u8);
        output.Write(HttpDate.Current);
        output.Write("\r\n"u8);
    }

    private static async ValueTask<bool> TryFlushAsync(PipeWriter output)
    {
        try
        {
            var flush = await output.FlushAsync();
            return !flush.IsCompleted && !flush.IsCanceled;
        }
        catch (Exception ex) when (ex is IOException or ConnectionAbortedException or ConnectionResetException or InvalidOperationException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 1310, Level = LogLevel.Debug, Message = "Upstream failed: {Rule}: {Outcome}")]
    private static partial void LogUpstreamFailed(ILogger logger, string rule, string outcome);
}

/// <summary>The IMF-fixdate for <c>Date</c> headers, formatted once a second.</summary>
internal static class HttpDate
{
    private sealed record Formatted(long Second, byte[] Bytes);

    private static volatile Formatted s_current = new(-1, []);

    public static ReadOnlySpan<byte> Current
    {
        get
        {
            var now = DateTime.UtcNow;
            long second = now.Ticks / TimeSpan.TicksPerSecond;
            var current = s_current;
            if (current.Second != second)
            {
                current = new(second, Encoding.ASCII.GetBytes(now.ToString("r", System.Globalization.CultureInfo.InvariantCulture)));
                s_current = current;
            }
            return current.Bytes;
        }
    }
}
