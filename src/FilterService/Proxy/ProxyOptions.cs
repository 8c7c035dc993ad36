using System.Net;

namespace FilterService.Proxy;

/// <summary>
/// The proxy's listeners and limits (configuration section <c>Proxy</c>). Every default says where it came from;
/// limits apply per connection unless stated otherwise.
/// </summary>
internal sealed class ProxyOptions
{
    /// <summary>Where the proxy listens: one or more <c>address:port</c>, IPv6 in brackets. Default 127.0.0.1:3128 (Squid's port).</summary>
    public List<IPEndPoint> Listen { get; set; } = new();

    /// <summary>
    /// Whether upstream connections may go to loopback addresses. False by default, like Squid's
    /// <c>http_access deny to_localhost</c>: a client must not reach services bound to the proxy host.
    /// </summary>
    public bool AllowLoopbackUpstream { get; set; }

    /// <summary>
    /// Host name to <c>address:port</c> overrides for the upstream connection (tests, or a split-horizon intranet).
    /// The address policy still applies to the overridden address.
    /// </summary>
    public Dictionary<string, string> HostOverrides { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Ports a CONNECT may reach; empty means any. Default 443, like Squid's <c>deny CONNECT !SSL_ports</c>.</summary>
    public List<int> ConnectPorts { get; set; } = new();

    /// <summary>Largest request head (request line plus headers), bytes. Default 32 KiB, Kestrel's MaxRequestHeadersTotalSize.</summary>
    public int MaxHeadBytes { get; set; } = 32 * 1024;

    /// <summary>Longest request line: the head's limit, at most 16 KiB. Longer lines get 414 (from Kestrel).</summary>
    public int MaxRequestLineBytes => Math.Min(MaxHeadBytes, 16 * 1024);

    /// <summary>Time allowed for a whole request head to arrive. Default 10 s (Kestrel's RequestHeadersTimeout is 30 s; a proxy sees trickling clients more often).</summary>
    public TimeSpan HeadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed for the TLS ClientHello after a tunnel is established. Default 10 s.</summary>
    public TimeSpan ClientHelloTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed to resolve and connect upstream. Default 15 s.</summary>
    public TimeSpan UpstreamConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Longest wait for a forwarded request's upstream response head, or for the next bytes of either body.
    /// Default 2 min (Squid waits up to 15; a stalled origin should not hold a pupil's browser that long).
    /// </summary>
    public TimeSpan UpstreamReadTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A tunnel with no bytes either way for this long is closed. Default 10 min (Squid's read_timeout is 15 min).</summary>
    public TimeSpan TunnelIdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Idle keep-alive connections from clients are closed after this. Default 130 s, Kestrel's KeepAliveTimeout.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(130);

    /// <summary>
    /// Run socket completions and the proxy's own code on the socket threads (<see cref="SocketThreads"/>, each with its own epoll)
    /// rather than hopping to the thread pool for every read and write. Default true: with it, context switches per
    /// plain-HTTP request fall from 4-7 to under 1 (bench/load/README.md). Anything slow that the proxy does (password hashing, the alert outbox's fsync) runs on the thread
    /// pool either way. Process-wide and read once at start.
    /// </summary>
    public bool InlineCompletions { get; set; } = true;

    /// <summary>
    /// Socket threads (epoll threads) for Kestrel's connections, with <see cref="InlineCompletions"/>; as many tunnel
    /// loops again (each its own thread and epoll, sharing the listening socket). Default 0: one per two cores, at least one. One thread serves about 15,000-19,000 plain
    /// requests per second of its core on the benchmark machine; a second one on two cores, shared with other work,
    /// gave no more requests per CPU-second and a longer tail (median p99 13.0 against 10.1 ms in alternating
    /// profile.py runs, bench/load/README.md). Read once at start.
    /// </summary>
    public int SocketThreads { get; set; }

    /// <summary>What <see cref="SocketThreads"/> comes to on this machine.</summary>
    public int EffectiveSocketThreads => SocketThreads > 0 ? SocketThreads : Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>
    /// Keep a 4 KB read buffer posted on every client connection while it waits for its next request, so that the
    /// request is read with one system call when it comes. Default true: false waits with a zero-byte read first and
    /// takes a buffer only when bytes are there, which on the benchmark's plain requests is 3.8 reads per request
    /// against 2.5, and about 3% of the CPU (bench/load/README.md). False is for sites whose clients hold tens of
    /// thousands of idle keep-alive connections: with true each holds 4 KB, 40 MB for 10,000. Read once at start.
    /// </summary>
    public bool IdleReadBuffers { get; set; } = true;

    /// <summary>
    /// Serve well-formed bodiless GET and HEAD requests for http:// URLs in the lean HTTP stage (the connection's pipe and a
    /// pooled upstream HTTP/1.1 client) instead of Kestrel's HTTP/1.1 and HttpClient; everything else, and every
    /// request after the first one it does not recognise on a connection, goes the Kestrel way. Default true; false is
    /// for comparison (bench/load/README.md) and diagnosis.
    /// </summary>
    public bool LeanHttp { get; set; } = true;

    /// <summary>
    /// Accept proxy connections in the tunnel loop (<see cref="Proxy.TunnelLoop"/>), one thread with its own epoll that
    /// carries the common tunnel (an allowed, uninspected CONNECT needing no password hash) from accept to close and
    /// hands every other connection, untouched, to Kestrel. Default true; Linux on x64 or arm64 only (elsewhere Kestrel
    /// accepts everything, as with false). False is for comparison (bench/load/README.md) and diagnosis.
    /// </summary>
    public bool TunnelLoop { get; set; } = true;

    /// <summary>Tunnels Kestrel carries send the origin's bytes straight to the client's socket (Proxy.SocketSplice), not through Kestrel's output pipe. Default: see bench/load/README.md.</summary>
    public bool SocketSplice { get; set; } = true;

    /// <summary>Concurrent connections one client address may hold. Default 256 (a NATed classroom shares one address).</summary>
    public int MaxConnectionsPerClient { get; set; } = 256;

    /// <summary>
    /// Failed proxy logins per client address and user name within <see cref="AuthFailureWindow"/> before further
    /// attempts as that user from that address are refused. Default 10. Per name as well as address, so one pupil's
    /// wrong passwords do not lock out the rest of a NAT'd classroom (issue 15 item 16).
    /// </summary>
    public int MaxAuthFailures { get; set; } = 10;

    /// <summary>
    /// Failed proxy logins per client address, whatever the names, within <see cref="AuthFailureWindow"/> before every
    /// new login from that address is refused: the ceiling against one password sprayed across many names. Default 100,
    /// ten times <see cref="MaxAuthFailures"/>: a classroom of 30 behind one address mistyping three times a minute
    /// each stays under it. Credentials already verified keep working.
    /// </summary>
    public int MaxAuthFailuresPerAddress { get; set; } = 100;

    /// <summary>The window for <see cref="MaxAuthFailures"/>. Default 1 min.</summary>
    public TimeSpan AuthFailureWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The realm shown in the 407 login prompt.</summary>
    public string AuthRealm { get; set; } = "School web filter";

    /// <summary>The pseudonym this proxy adds to Via headers.</summary>
    public string ViaName { get; set; } = "school-filter";

    /// <summary>
    /// PEM certificate of the school's inspection CA. With <see cref="InspectionCaKey"/>, tunnels to hosts whose rules
    /// need methods or paths are intercepted (TLS terminated with a minted certificate). Unset: every tunnel is spliced.
    /// </summary>
    public string? InspectionCaCertificate { get; set; }

    /// <summary>PEM private key of the inspection CA.</summary>
    public string? InspectionCaKey { get; set; }

    /// <summary>
    /// In the Development environment only (the quick start), with no inspection CA configured: the directory (from
    /// the content root) whose <c>ca.crt</c> and <c>ca.key</c> the service uses, made on first run
    /// (<see cref="QuickStartCa"/>). Empty turns it off. Ignored in every other environment. Default <c>ca</c>.
    /// </summary>
    public string QuickStartCaDirectory { get; set; } = "ca";

    /// <summary>
    /// PEM certificates accepted from upstream servers of intercepted tunnels even though they do not chain to the
    /// system's roots (a self-signed intranet server). Exact certificates, not CAs. Default none.
    /// </summary>
    public string? UpstreamTrustedCertificates { get; set; }

    /// <summary>How long graceful shutdown waits for requests and tunnels. Default 10 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Refused connections and tunnels (not a client, too many connections, a bad CONNECT head, a forbidden upstream
    /// address, a ClientHello that is not TLS for the host) are counted, and one operational log line per interval gives
    /// the counts by reason: a flood of refusals cannot flood the log (the audit log still records each one). Default 1 min.
    /// </summary>
    public TimeSpan RefusalLogInterval { get; set; } = TimeSpan.FromMinutes(1);
}
