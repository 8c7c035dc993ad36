using System.Diagnostics;
using System.Net;
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
            // Kestrel decodes request header values as strict UTF-8 (invalid bytes get 400); encoding them back as UTF-8
            // sends the origin the bytes the client sent, as the lean HTTP stage does. HttpClient's default refuses any
            // non-ASCII value, which made a request with a UTF-8 header value a 502 on this path alone.
            RequestHeaderEncodingSelector = static (_, _) => System.Text.Encoding.UTF8,
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
        var client = ProxyServices.ClientAddress(context.Connection.RemoteIpAddress);
        var proxyRequest = _proxy.Begin(client);
        var policy = proxyRequest.Policy;
        var request = context.Request;
        string method = request.Method;
        string raw = context.Features.Get<IHttpRequestFeature>()!.RawTarget;

        if (!IsUpperCaseMethod(method))
        {
            // Methods are case-sensitive (RFC 9110 9.1): "post" is not POST to the rules, but lenient origins and the
            // upstream client treat it as POST. What would not be forwarded exactly as decided is refused.
            context.Response.Headers.Connection = "close";
            await TextAsync(context, 400, "Request methods are case-sensitive: send them in upper case.");
            Audit(proxyRequest.Refused(method, raw, "method-not-upper-case", 400));
            return;
        }
        if (HttpMethods.IsConnect(method))
        {
            // A CONNECT after the first request on a keep-alive connection reaches Kestrel's HTTP layer, which cannot tunnel.
            context.Response.Headers.Connection = "close";
            await TextAsync(context, 405, "CONNECT must be the first request on a connection.");
            Audit(proxyRequest.Refused(method, raw, "connect-not-first", 405));
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
                    var refusal = HttpVerdict.Refuse(Admission.NotClient, TimeSpan.Zero, _proxy.ProxyAuthenticate);
                    context.Response.Headers.Connection = "close";
                    await TextAsync(context, refusal.Status, refusal.Text);
                    Audit(proxyRequest.Refused(method, raw, ProxyServices.RuleFor(Admission.NotClient), refusal.Status));
                    return;
                }
                await _pac.ServeAsync(context);
                return;
            }
            if (read && _pages.Find(raw) is { } page && policy.IsClient(client))
            {
                await ServePageAsync(context, page, method, raw, proxyRequest);
                return;
            }
            context.Response.Headers.Connection = "close";
            bool https = raw.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            await TextAsync(context, 400, https ? "Use CONNECT for https." : "This is a web filtering proxy: configure it as your browser's proxy.");
            Audit(proxyRequest.Refused(method, raw, https ? "https-without-connect" : "not-a-proxy-request", 400));
            return;
        }
        var headers = request.Headers;
        if (headers.ContainsKey("Transfer-Encoding") && (headers.ContainsKey("Content-Length") || headers.ContainsKey("X-Content-Length")))
        {
            // Conflicting framing is how requests are smuggled past one parser to another: refuse, and close. Kestrel
            // itself lets Transfer-Encoding win, renames Content-Length to X-Content-Length and closes afterwards.
            context.Response.Headers.Connection = "close";
            await TextAsync(context, 400, "Conflicting Content-Length and Transfer-Encoding.");
            Audit(proxyRequest.Admitted(tunnel?.User).Refused(method, raw, "conflicting-framing", 400));
            return;
        }

        // Inside an inspected tunnel the target is origin-form and always goes to the host the CONNECT named.
        var target = tunnel is null ? raw : InspectedTarget(tunnel, raw);
        if (!HttpTarget.TryResolveUri(target, https: tunnel is not null, out var uri, out var host))
        {
            context.Response.Headers.Connection = "close";
            await TextAsync(context, 400, "Malformed request target.");
            Audit(proxyRequest.Admitted(tunnel?.User).Refused(method, raw, "malformed-request", 400));
            return;
        }
        var verdict = await HttpVerdict.DecideAsync(_proxy, proxyRequest, method, HttpTarget.From(uri, host), headers.ProxyAuthorization, tunnel);
        switch (verdict.Kind)
        {
            case HttpVerdictKind.Forward:
                await ForwardAsync(context, uri, host, verdict);
                return;
            case HttpVerdictKind.Block:
                context.Response.StatusCode = 403;
                context.Response.ContentType = "text/html; charset=utf-8";
                context.Response.Headers.CacheControl = "no-store";
                context.Response.Headers.Via = _proxy.Via;
                var page = verdict.Page;
                context.Response.ContentLength = page.Length;
                await context.Response.Body.WriteAsync(page, context.RequestAborted);
                Audit(verdict.Blocked(page.Length));
                return;
            case HttpVerdictKind.Abort:
                context.Abort();
                return;
            default:
                context.Response.Headers.Append(verdict.Header ?? "Connection", verdict.HeaderValue ?? "close");
                await TextAsync(context, verdict.Status, verdict.Text!);
                Audit(verdict.Refused());
                return;
        }
    }

    private async Task ServePageAsync(HttpContext context, ProxyPage page, string method, string raw, ProxyRequest request)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = page.ContentType;
        context.Response.ContentLength = page.Body.Length;
        context.Response.Headers.CacheControl = "no-cache";
        if (HttpMethods.IsGet(method))
        {
            await context.Response.Body.WriteAsync(page.Body, context.RequestAborted);
        }
        Audit(request.Refused(method, raw, page.Rule, 200, bytesOut: HttpMethods.IsGet(method) ? page.Body.Length : 0)
            with { Action = DecisionAction.Allow });
    }

    private static Task TextAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text + "\n");
    }

    private void Audit(DecisionRecord record) => _proxy.Observe(record);
}
