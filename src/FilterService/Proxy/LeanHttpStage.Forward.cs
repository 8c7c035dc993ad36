using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.WebUtilities;

namespace FilterService.Proxy;

/// <summary>The lean HTTP stage's forwarding: a pooled upstream connection, the exchange, the body relayed.</summary>
internal sealed partial class LeanHttpStage
{
    private async Task<Next> ForwardAsync(ConnectionContext connection, PlainRequestHead head, UpstreamResponseHead response, HttpVerdict verdict)
    {
        var output = connection.Transport.Output;
        var target = head.Resolved;
        var host = target.Host;
        var safe = verdict.SafeSearch;
        int port = target.Port;
        // Safe search: the connection (and the pool it is kept in) goes to the provider's safe-search name; the Host stays.
        var connectHost = safe?.Host ?? host;
        var request = BuildRequest(head, target, verdict.SetHeaders, out int requestLength);
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
                        var (status, rule) = ConnectFlow.UpstreamStatus(error);
                        if (error is UpstreamError.AddressRefused or UpstreamError.Loop)
                        {
                            _proxy.Refusals.Note(rule, verdict.Request.Client);
                        }
                        return await RespondUpstreamFailureAsync(output, head, verdict, status, rule);
                    }
                    upstream = new UpstreamConnection(socket, remote!, _proxy.Time);
                }
                sending = _proxy.Time.GetTimestamp();
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
                    _proxy.Observe(verdict.Forwarded(499, 0, 0, null, null));
                    return Next.Close;
                }
                var (failStatus, failRule) = outcome == Exchange.Timeout ? (504, "upstream-timeout") : (502, "upstream-failed");
                HttpLog.UpstreamFailed(_logger, failRule, outcome.ToString());
                return await RespondUpstreamFailureAsync(output, head, verdict, failStatus, failRule);
            }
            _proxy.Metrics?.RecordUpstreamTime(connect: false, _proxy.Time.GetElapsedTime(sending));

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
                _proxy.Observe(verdict.Forwarded(response.Status, 0, 0, target.UriHost, response.ContentType));
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
                _proxy.Observe(verdict.Forwarded(status, 0, toClient, target.UriHost, response.ContentType));
                return Next.Close;
            }
            _proxy.Observe(verdict.Forwarded(response.Status, 0, toClient, target.UriHost, response.ContentType));
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

    private async Task<Next> RespondUpstreamFailureAsync(PipeWriter output, PlainRequestHead head, HttpVerdict verdict, int status, string rule)
    {
        WriteText(output, status, ReasonPhrases.GetReasonPhrase(status), $"{rule}. Reference {verdict.Request.Reference}.", !head.KeepAlive, via: true);
        bool flushed = await TryFlushAsync(output);
        _proxy.Observe(verdict.UpstreamFailed(status, rule, 0));
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
}
