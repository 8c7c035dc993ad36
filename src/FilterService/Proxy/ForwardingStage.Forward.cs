using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using PolicyModel.Decisions;

namespace FilterService.Proxy;

/// <summary>The HTTP stage's forwarding (step 4): the upstream request, the response streamed back, the body counted.</summary>
internal sealed partial class ForwardingStage
{
    private async Task ForwardAsync(HttpContext context, Uri uri, string host, HttpVerdict verdict)
    {
        var request = context.Request;
        var safe = verdict.SafeSearch;
        // The canonical host decided on is the one connected to and sent (Authority.CanonicalHost: a trailing dot dropped,
        // as the lean HTTP stage sends it). Safe search: the request goes to the provider's safe-search name, with the
        // client's Host header (which SocketsHttpHandler also sends as the SNI and validates the certificate against), so
        // the connection pool keeps these connections apart from those to the host's own address.
        if (!uri.IdnHost.AsSpan().Trim("[]").SequenceEqual(host))
        {
            uri = new UriBuilder(uri) { Host = host }.Uri;
        }
        var sendTo = safe is null ? uri : new UriBuilder(uri) { Host = safe.Host }.Uri;
        // The method is upper case (IsUpperCaseMethod), so Parse sends exactly the token the engine decided on.
        var upstreamRequest = new HttpRequestMessage(HttpMethod.Parse(request.Method), sendTo)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        // One deadline for the upstream side, on the injected clock, pushed back whenever a body moves (YARP's activity
        // timeout), and cancelled too when the client goes.
        var readTimeout = _proxy.Options.UpstreamReadTimeout;
        using var upstreamActivity = new CancellationTokenSource(readTimeout, _proxy.Time);
        using var clientGone = context.RequestAborted.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), upstreamActivity);
        var bodyStream = new CountingStream(request.Body, upstreamActivity, readTimeout);
        var canHaveBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? false;
        if (canHaveBody)
        {
            upstreamRequest.Content = new StreamContent(bodyStream, CopyBufferSize);
        }
        var connectionTokens = request.Headers.Connection;
        foreach (var (name, values) in request.Headers)
        {
            if (!IsForwarded(name, connectionTokens))
            {
                continue;
            }
            // One value (the usual case) is added as a string: no enumerator boxed per header.
            bool added = values.Count == 1
                ? upstreamRequest.Headers.TryAddWithoutValidation(name, values[0])
                : upstreamRequest.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            if (!added && upstreamRequest.Content is { } content)
            {
                _ = values.Count == 1
                    ? content.Headers.TryAddWithoutValidation(name, values[0])
                    : content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }
        upstreamRequest.Headers.TryAddWithoutValidation("Via", _proxy.Via);
        if (safe is not null)
        {
            // The Host is the name asked for (HttpClient would otherwise derive it, and the SNI, from the safe-search name).
            upstreamRequest.Headers.Host = uri.IsDefaultPort ? uri.IdnHost : $"{uri.IdnHost}:{uri.Port}";
        }
        // YouTube-Restrict, tenant restrictions: the verdict's, replacing any the client sent.
        foreach (var (name, value) in verdict.SetHeaders)
        {
            upstreamRequest.Headers.Remove(name);
            upstreamRequest.Headers.TryAddWithoutValidation(name, value);
        }

        int status;
        long toClient = 0;
        string? upstreamAddress = null;
        string? contentType = null;
        HttpResponseMessage? response = null;
        try
        {
            try
            {
                long sending = _proxy.Time.GetTimestamp();
                response = await _invoker.SendAsync(upstreamRequest, upstreamActivity.Token);
                _proxy.Metrics?.RecordUpstreamTime(connect: false, _proxy.Time.GetElapsedTime(sending));
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or UpstreamConnectException && !context.RequestAborted.IsCancellationRequested)
            {
                var upstreamError = upstreamActivity.IsCancellationRequested ? UpstreamError.Timeout : FindUpstreamError(ex);
                (status, var rule) = upstreamError switch
                {
                    UpstreamError.None when ex is OperationCanceledException => (504, "upstream-timeout"),
                    UpstreamError.None => (502, "upstream-failed"),
                    _ => ConnectFlow.UpstreamStatus(upstreamError),
                };
                HttpLog.UpstreamFailed(_logger, rule, ex.Message);
                if (upstreamError is UpstreamError.AddressRefused or UpstreamError.Loop)
                {
                    _proxy.Refusals.Note(rule, verdict.Request.Client);
                }
                if (!context.Response.HasStarted)
                {
                    context.Response.Headers.Via = _proxy.Via;
                    await TextAsync(context, status, $"{rule}. Reference {verdict.Request.Reference}.");
                }
                Audit(verdict.UpstreamFailed(status, rule, bodyStream.Count));
                return;
            }

            status = (int)response.StatusCode;
            var r = context.Response;
            r.StatusCode = status;
            var responseConnection = response.Headers.NonValidated.TryGetValues("Connection", out var cv) ? cv.ToString() : null;
            CopyResponseHeaders(response.Headers.NonValidated, r.Headers, responseConnection);
            CopyResponseHeaders(response.Content.Headers.NonValidated, r.Headers, responseConnection);
            r.Headers.Append("Via", _proxy.Via);
            contentType = response.Content.Headers.NonValidated.TryGetValues("Content-Type", out var ct) ? ct.ToString() : null;
            upstreamAddress = uri.Host;

            await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
            try
            {
                while (true)
                {
                    upstreamActivity.CancelAfter(readTimeout);
                    int n = await body.ReadAsync(buffer, upstreamActivity.Token);
                    if (n == 0)
                    {
                        break;
                    }
                    await r.Body.WriteAsync(buffer.AsMemory(0, n), context.RequestAborted);
                    toClient += n;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException or ObjectDisposedException)
        {
            // One side went away mid-body: the response cannot be completed, so the client must see an abort, not a short body.
            status = context.RequestAborted.IsCancellationRequested ? 499 : 502;
            context.Abort();
        }
        finally
        {
            response?.Dispose();
            upstreamRequest.Dispose();
        }
        Audit(verdict.Forwarded(status, bodyStream.Count, toClient, upstreamAddress, contentType));
    }

    private static UpstreamError FindUpstreamError(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is UpstreamConnectException u)
            {
                return u.Error;
            }
            if (e is SocketException)
            {
                return UpstreamError.ConnectFailed;
            }
        }
        return UpstreamError.None;
    }

    private static void CopyResponseHeaders(HttpHeadersNonValidated source, IHeaderDictionary target, string? connection)
    {
        foreach (var (name, values) in source)
        {
            if (HopByHop.Contains(name) || (connection is not null && HttpHeaderTokens.Contains(connection, name)))
            {
                continue;
            }
            if (values.Count == 1)
            {
                target.Append(name, values.ToString());
            }
            else
            {
                foreach (var v in values)
                {
                    target.Append(name, v);
                }
            }
        }
    }

    /// <summary>
    /// Whether a request header Kestrel read is sent upstream: not hop-by-hop, not named by the request's
    /// <paramref name="connection"/> header (the lean HTTP stage's <see cref="PlainRequestParser"/> keeps the same lines).
    /// </summary>
    internal static bool IsForwarded(string name, StringValues connection) => !HopByHop.Contains(name) && !IsListed(connection, name);

    private static bool IsListed(StringValues connection, string name)
    {
        foreach (var value in connection)
        {
            if (value is not null && HttpHeaderTokens.Contains(value, name))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Counts request body bytes as HttpClient reads them.</summary>
    private sealed class CountingStream(Stream inner, CancellationTokenSource activity, TimeSpan timeout) : Stream
    {
        public long Count;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = inner.Read(buffer, offset, count);
            Count += n;
            activity.CancelAfter(timeout);
            return n;
        }
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken);
            Count += n;
            activity.CancelAfter(timeout);
            return n;
        }
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
