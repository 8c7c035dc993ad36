using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using FilterService.Audit;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using PolicyModel.Decisions;

namespace FilterService.Proxy;

/// <summary>
/// The HTTP stage: absolute-form requests on proxy connections.
/// 1. Parse the target from the raw request line (<c>Request.Path</c> lies for absolute-form targets) into
///    the URI that will be sent, and decide on exactly that (dot segments already removed).
/// 2. Refuse conflicting framing, CONNECT on a keep-alive connection, non-clients; challenge for credentials.
/// 3. Ask the engine; a block gets the block page.
/// 4. Forward through one shared SocketsHttpHandler, streaming both bodies and letting HttpClient and Kestrel
///    re-frame them; hop-by-hop headers are dropped and Via added both ways.
/// </summary>
internal sealed partial class ForwardingStage
{
    private const int CopyBufferSize = 64 * 1024;

    private static readonly HashSet<string> HopByHop = new(HttpHeaderTokens.HopByHop, StringComparer.OrdinalIgnoreCase);

    private readonly ProxyServices _proxy;
    private readonly HttpMessageInvoker _invoker;
    private readonly ILogger<ForwardingStage> _logger;
    private readonly ProxyPages _pages;
    private readonly ProxyAutoConfig? _pac;

    public ForwardingStage(ProxyServices proxy, HttpMessageInvoker invoker, ProxyPages pages, ILogger<ForwardingStage> logger, ProxyAutoConfig? pac = null)
    {
        _proxy = proxy;
        _pages = pages;
        _invoker = invoker;
        _logger = logger;
        _pac = pac;
    }

    /// <summary>The one upstream handler: no proxy, cookies, redirects or decompression, no trace headers injected.</summary>
    public static HttpMessageInvoker CreateInvoker(UpstreamConnector connector, TimeSpan connectTimeout, IReadOnlySet<string> trustedThumbprints)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
            ConnectTimeout = connectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            SslOptions =
            {
                // Upstream TLS (inspected tunnels only) is validated against the system roots, plus exact pinned certificates.
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    errors == System.Net.Security.SslPolicyErrors.None
                    || (certificate is not null && trustedThumbprints.Contains(certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256))),
            },
            ConnectCallback = async (context, cancellationToken) =>
            {
                var (socket, error, remote) = await connector.ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, cancellationToken);
                if (socket is null)
                {
                    throw new UpstreamConnectException(error, $"{error} {remote}");
                }
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public async Task InvokeAsync(HttpContext context)
    {
        long started = Stopwatch.GetTimestamp();
        var at = _proxy.Time.GetUtcNow();
        var reference = _proxy.NextReference();
        var policy = _proxy.Policy.Current;
        var client = ProxyServices.ClientAddress(context.Connection.RemoteIpAddress);
        var request = context.Request;
        string method = request.Method;
        string raw = context.Features.Get<IHttpRequestFeature>()!.RawTarget;

        if (!IsUpperCaseMethod(method))
        {
            // Methods are case-sensitive (RFC 9110 9.1): "post" is not POST to the rules, but lenient origins and the
            // upstream client treat it as POST. What would not be forwarded exactly as decided is refused.
            context.Response.Headers.Connection = "close";
            await TextAsync(context, 400, "Request methods are case-sensitive: send them in upper case.");
            Audit(_proxy.Refusal(at, client, null, method, raw, "method-not-upper-case", 400, 0, 0, Stopwatch.GetElapsedTime(started), reference, policy.Version));
            return;
        }
        if (HttpMethods.IsConnect(method))
        {
            // A CONNECT after the first request on a keep-alive connection reaches Kestrel's HTTP layer, which cannot tunnel.
            context.Response.Headers.Connection = "close";
            await TextAsync(context, 405, "CONNECT must be the first request on a connection.");
            Audit(_proxy.Refusal(at, client, null, method, raw, "connect-not-first", 405, 0, 0, Stopwatch.GetElapsedTime(started), reference, policy.Version));
            return;
        }
        var tunnel = context.Features.Get<InspectedTunnel>();
        if (tunnel is null && !raw.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            // The proxy's own answers to origin-form requests, for its clients only: the PAC file (ProxyAutoConfig) and, with an
            // inspection CA, the CA's pages (ProxyPages); every other origin-form request is refused below.
            bool read = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
            if (read && _pac is not null && ProxyAutoConfig.IsPacPath(raw))
            {
                if (!policy.IsClient(client))
                {
                    var refusal = Refuse(Admission.NotClient, TimeSpan.Zero, _proxy.ProxyAuthenticate);
                    context.Response.Headers.Connection = "close";
                    await TextAsync(context, refusal.Status, refusal.Text);
                    Audit(_proxy.Refusal(at, client, null, method, raw, ProxyServices.RuleFor(Admission.NotClient), refusal.Status, 0, 0,
                        Stopwatch.GetElapsedTime(started), reference, policy.Version));
                    return;
                }
                await _pac.ServeAsync(context);
                return;
            }
            if (read && _pages.Find(raw) is { } page && policy.IsClient(client))
            {
                await ServePageAsync(context, page, method, raw, at, started, reference, policy.Version, client);
                return;
            }
            context.Response.Headers.Connection = "close";
            bool https = raw.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            await TextAsync(context, 400, https ? "Use CONNECT for https." : "This is a web filtering proxy: configure it as your browser's proxy.");
            Audit(_proxy.Refusal(at, client, null, method, raw, https ? "https-without-connect" : "not-a-proxy-request", 400, 0, 0,
                Stopwatch.GetElapsedTime(started), reference, policy.Version));
            return;
        }
        var headers = request.Headers;
        if (headers.ContainsKey("Transfer-Encoding") && (headers.ContainsKey("Content-Length") || headers.ContainsKey("X-Content-Length")))
        {
            // Conflicting framing is how requests are smuggled past one parser to another: refuse, and close. Kestrel
            // itself lets Transfer-Encoding win, renames Content-Length to X-Content-Length and closes afterwards.
            context.Response.Headers.Connection = "close";
            await TextAsync(context, 400, "Conflicting Content-Length and Transfer-Encoding.");
            Audit(_proxy.Refusal(at, client, tunnel?.User, method, raw, "conflicting-framing", 400, 0, 0, Stopwatch.GetElapsedTime(started), reference, policy.Version));
            return;
        }

        // Inside an inspected tunnel the target is origin-form and always goes to the host the CONNECT named.
        var target = tunnel is null ? raw : InspectedTarget(tunnel, raw);
        if (!TryResolveTarget(target, https: tunnel is not null, out var uri, out var host))
        {
            context.Response.Headers.Connection = "close";
            await TextAsync(context, 400, "Malformed request target.");
            Audit(_proxy.Refusal(at, client, tunnel?.User, method, raw, "malformed-request", 400, 0, 0, Stopwatch.GetElapsedTime(started), reference, policy.Version));
            return;
        }
        string url = uri.AbsoluteUri;

        string? user = tunnel?.User;
        if (tunnel is null)
        {
            (var admission, user, var retryAfter) = await _proxy.AdmitAsync(policy, client, headers.ProxyAuthorization);
            if (admission != Admission.Admitted)
            {
                var refusal = Refuse(admission, retryAfter, _proxy.ProxyAuthenticate);
                context.Response.Headers.Append(refusal.Header ?? "Connection", refusal.Value ?? "close");
                await TextAsync(context, refusal.Status, refusal.Text);
                Audit(_proxy.Refusal(at, client, null, method, url, ProxyServices.RuleFor(admission), refusal.Status, 0, 0, Stopwatch.GetElapsedTime(started), reference, policy.Version));
                return;
            }
        }
        else if (!policy.IsClient(client))
        {
            // The policy changed under a long-lived inspected tunnel: re-check, never an open proxy.
            context.Abort();
            return;
        }
        else if (!_proxy.AuditAccepting)
        {
            var refusal = Refuse(Admission.AuditUnavailable, TimeSpan.Zero, _proxy.ProxyAuthenticate);
            context.Response.Headers.Append(refusal.Header!, refusal.Value);
            await TextAsync(context, refusal.Status, refusal.Text);
            Audit(_proxy.Refusal(at, client, user, method, url, AuditLog.UnavailableRule, refusal.Status, 0, 0, Stopwatch.GetElapsedTime(started), reference, policy.Version));
            return;
        }

        var filterRequest = new FilterRequest(client, user, method, tunnel is null ? "http" : "https", host, uri.Port, uri.PathAndQuery, at);
        // A tunnel bumped to show the block page carries its CONNECT's decision: every request inside gets the page.
        var decision = tunnel?.Blocked ?? _proxy.Decide(policy, in filterRequest);
        if (decision.IsBlocked)
        {
            if (tunnel?.Blocked is null)
            {
                await _proxy.AlertAsync(at, client, method, url, host, decision, reference, policy.Version);
            } // else raised once, at the CONNECT: one alert per attempt, however many requests the browser sends inside

            var page = BlockPage.Render(policy, decision, url, client, at, reference);
            context.Response.StatusCode = 403;
            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers.Via = _proxy.Via;
            var bytes = System.Text.Encoding.UTF8.GetBytes(page);
            context.Response.ContentLength = bytes.Length;
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
            Audit(ProxyServices.FromDecision(at, client, method, url, decision, 403, 0, bytes.Length, Stopwatch.GetElapsedTime(started), reference,
                policy.Version, null, null));
            return;
        }

        await ForwardAsync(context, uri, at, started, reference, policy.Version, client, decision, policy.SafeSearchFor(decision.Identity, host),
            policy.TenantRestrictions.HeadersFor(decision.Identity.Roles, host));
    }

    private async Task ForwardAsync(HttpContext context, Uri uri, DateTimeOffset at, long started, string reference, string version,
        IPAddress client, Decision decision, SafeSearchTarget? safe, IReadOnlyList<(string Name, string Value)> tenantHeaders)
    {
        var request = context.Request;
        // Safe search: the request goes to the provider's safe-search name, with the client's Host header (which
        // SocketsHttpHandler also sends as the SNI and validates the certificate against), so the connection pool keeps
        // these connections apart from those to the host's own address.
        var sendTo = safe is null ? uri : new UriBuilder(uri) { Host = safe.Host }.Uri;
        // The method is upper case (IsUpperCaseMethod), so Parse sends exactly the token the engine decided on.
        var upstreamRequest = new HttpRequestMessage(HttpMethod.Parse(request.Method), sendTo)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        // One deadline for the upstream side, pushed back whenever a body moves (YARP's activity timeout).
        using var upstreamActivity = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var readTimeout = _proxy.Options.UpstreamReadTimeout;
        upstreamActivity.CancelAfter(readTimeout);
        var bodyStream = new CountingStream(request.Body, upstreamActivity, readTimeout);
        var canHaveBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? false;
        if (canHaveBody)
        {
            upstreamRequest.Content = new StreamContent(bodyStream, CopyBufferSize);
        }
        var connectionTokens = request.Headers.Connection;
        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name) || IsListed(connectionTokens, name))
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
        if (safe?.YouTube is { } youtube)
        {
            // YouTube's restricted mode by header (inspected tunnels; plain HTTP too): the client's own value is replaced.
            upstreamRequest.Headers.Remove("YouTube-Restrict");
            upstreamRequest.Headers.TryAddWithoutValidation("YouTube-Restrict", youtube == YouTubeMode.Moderate ? "Moderate" : "Strict");
        }

        // Tenant restrictions: the school's headers on the sign-in hosts, replacing any the client sent (a forged
        // Restrict-Access-To-Tenants naming another tenant must never reach Microsoft).
        foreach (var (name, value) in tenantHeaders)
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
                long sending = Stopwatch.GetTimestamp();
                response = await _invoker.SendAsync(upstreamRequest, upstreamActivity.Token);
                _proxy.Metrics?.RecordUpstreamTime(connect: false, Stopwatch.GetElapsedTime(sending));
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or UpstreamConnectException && !context.RequestAborted.IsCancellationRequested)
            {
                var upstreamError = upstreamActivity.IsCancellationRequested ? UpstreamError.Timeout : FindUpstreamError(ex);
                (status, var rule) = upstreamError switch
                {
                    UpstreamError.None when ex is OperationCanceledException => (504, "upstream-timeout"),
                    UpstreamError.None => (502, "upstream-failed"),
                    _ => ConnectMiddleware.UpstreamStatus(upstreamError),
                };
                LogUpstreamFailed(_logger, rule, ex.Message);
                if (upstreamError is UpstreamError.AddressRefused or UpstreamError.Loop)
                {
                    _proxy.Refusals.Note(rule, client);
                }
                if (!context.Response.HasStarted)
                {
                    context.Response.Headers.Via = _proxy.Via;
                    await TextAsync(context, status, $"{rule}. Reference {reference}.");
                }
                Audit(ProxyServices.UpstreamFailure(at, client, request.Method, uri.AbsoluteUri, decision, status, rule, bodyStream.Count,
                    Stopwatch.GetElapsedTime(started), reference, version));
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
        Audit(ProxyServices.FromDecision(at, client, request.Method, uri.AbsoluteUri, decision, status, bodyStream.Count, toClient,
            Stopwatch.GetElapsedTime(started), reference, version, upstreamAddress, contentType) with { SafeSearch = safe?.Provider });
    }

    /// <summary>
    /// Whether <paramref name="method"/> has no lower-case letter. Every registered method (GET, POST, PROPFIND...) is
    /// upper case; a token that differs from one only in case is a different method to the rules (RFC 9110 9.1) but the
    /// same one to HttpClient and to lenient origins, so it is refused rather than decided as one method and sent as another.
    /// </summary>
    public static bool IsUpperCaseMethod(string method) => !method.AsSpan().ContainsAnyInRange('a', 'z');

    /// <summary>
    /// The absolute URI a request target names and its normalised host, or false for a target the proxy refuses
    /// (400 malformed-request): not absolute, with user info, of the wrong scheme, or with a host that is no host.
    /// Both HTTP stages decide on exactly this URI, so <c>/a/../b</c> is decided as <c>/b</c>, as it is sent.
    /// </summary>
    public static bool TryResolveTarget(string target, bool https, out Uri uri, out string host)
    {
        host = "";
        if (!Uri.TryCreate(target, UriKind.Absolute, out uri!) || uri.UserInfo.Length > 0
            || uri.Scheme != (https ? Uri.UriSchemeHttps : Uri.UriSchemeHttp)
            || Authority.CanonicalHost(uri.Host) is not { } normalised)
        {
            return false;
        }
        host = normalised;
        return true;
    }

    /// <summary>
    /// The answer to a client that is not admitted: its status, text and header (for <c>NotClient</c>,
    /// <c>Connection: close</c>: a refused address gets nothing more on this connection).
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

    private static string InspectedTarget(InspectedTunnel tunnel, string raw)
    {
        var authority = tunnel.Host.Contains(':') ? "[" + tunnel.Host + "]" : tunnel.Host;
        if (tunnel.Port != 443)
        {
            authority += ":" + tunnel.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (!raw.StartsWith('/'))
        {
            // An absolute-form target inside the tunnel: only its path counts; the tunnel fixes the host.
            raw = Uri.TryCreate(raw, UriKind.Absolute, out var absolute) ? absolute.PathAndQuery : "/";
        }
        return "https://" + authority + raw;
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

    private void Audit(DecisionRecord record) => _proxy.Observe(record);

    private async Task ServePageAsync(HttpContext context, ProxyPage page, string method, string raw, DateTimeOffset at, long started,
        string reference, string version, IPAddress client)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = page.ContentType;
        context.Response.ContentLength = page.Body.Length;
        context.Response.Headers.CacheControl = "no-cache";
        if (HttpMethods.IsGet(method))
        {
            await context.Response.Body.WriteAsync(page.Body, context.RequestAborted);
        }
        Audit(_proxy.Refusal(at, client, null, method, raw, page.Rule, 200, 0, HttpMethods.IsGet(method) ? page.Body.Length : 0,
            Stopwatch.GetElapsedTime(started), reference, version) with { Action = DecisionAction.Allow });
    }

    private static Task TextAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text + "\n");
    }

    [LoggerMessage(EventId = 1300, Level = LogLevel.Debug, Message = "Upstream failed: {Rule}: {Message}")]
    private static partial void LogUpstreamFailed(ILogger logger, string rule, string message);

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
