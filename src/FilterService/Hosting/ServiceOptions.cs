using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace FilterService.Hosting;

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
    /// Socket threads (epoll threads) for Kestrel's connections, with <see cref="InlineCompletions"/>; the tunnel loop
    /// is one more. Default 0: one per two cores, at least one. One thread serves about 15,000-19,000 plain
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
    /// Serve well-formed bodiless GET and HEAD requests for http:// URLs in the lean stage (the connection's pipe and a
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

/// <summary>The admin endpoint (section <c>Admin</c>): health and metrics; the PAC file is served on the proxy port (section <c>Pac</c>).</summary>
internal sealed class AdminOptions
{
    /// <summary>Default 127.0.0.1:9090; empty turns the admin endpoint off.</summary>
    public List<IPEndPoint> Listen { get; set; } = new();
}

/// <summary>The policy directory (section <c>Policy</c>).</summary>
internal sealed class PolicyOptions
{
    /// <summary>The directory holding policy.yaml. Default deploy/samples/default.</summary>
    public string Path { get; set; } = "deploy/samples/default";

    /// <summary>Whether edits in the directory are picked up automatically (SIGHUP always reloads).</summary>
    public bool Watch { get; set; } = true;

    /// <summary>Quiet time after the last file change before reloading, so an editor's save is read once. Default 500 ms.</summary>
    public TimeSpan ReloadDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// A statutory list whose entry count falls below this fraction of its last good count is refused unless
    /// confirmed (<c>lists confirm</c>). Default 0.9: a truncated download loses far more than 10%; a real update
    /// rarely removes that much at once.
    /// </summary>
    public double StatutoryShrinkFraction { get; set; } = 0.9;

    /// <summary>A statutory list with fewer entries than this is refused unless confirmed. Default 0 (off).</summary>
    public int StatutoryMinEntries { get; set; }
}

/// <summary>What the audit log records.</summary>
internal enum AuditScope
{
    All,
    Blocked,
}

/// <summary>The audit log (section <c>Audit</c>).</summary>
internal sealed class AuditOptions
{
    /// <summary>The directory for <c>audit-YYYYMMDD.json</c> (and <c>access-YYYYMMDD.log</c>). Default logs.</summary>
    public string Path { get; set; } = "logs";

    /// <summary>Days of audit files kept (one file per day). Default 90.</summary>
    public int RetainDays { get; set; } = 90;

    /// <summary>Every decision, or blocked ones only. Default All.</summary>
    public AuditScope Log { get; set; } = AuditScope.All;

    /// <summary>Also write Squid's native access.log format, for existing log tools. Default false.</summary>
    public bool SquidFormat { get; set; }

    /// <summary>What the proxy does while the audit log cannot take records. Default Refuse (fail closed).</summary>
    public AuditFailureMode OnWriteFailure { get; set; } = AuditFailureMode.Refuse;

    /// <summary>Bytes of records queued in memory before new traffic is refused. Default 32 MB (about 80,000 records).</summary>
    public long MaxBacklogBytes { get; set; } = FilterService.Audit.AuditFile.DefaultMaxBacklogBytes;
}

/// <summary>What the proxy does while the audit log cannot take records (a full or failing disk, a full backlog).</summary>
internal enum AuditFailureMode
{
    /// <summary>Refuse new requests and tunnels with 503 until the log is written again: nothing decided goes unrecorded.</summary>
    Refuse,

    /// <summary>Keep serving; records that find no room in the backlog are dropped and counted.</summary>
    AllowAndCount,
}

/// <summary>All the service's options, bound and validated together so every problem is reported at once.</summary>
internal sealed record ServiceOptions(ProxyOptions Proxy, AdminOptions Admin, PolicyOptions Policy, AuditOptions Audit)
{
    /// <summary>Binds every section and validates it. Returns null with every problem in <paramref name="errors"/>.</summary>
    public static ServiceOptions? Bind(IConfiguration configuration, string contentRoot, List<string> errors)
    {
        var proxy = new ProxyOptions();
        var admin = new AdminOptions();
        var policy = new PolicyOptions();
        var audit = new AuditOptions();
        BindSection(configuration, "Proxy", proxy, errors, "Listen", "ConnectPorts", "HostOverrides");
        BindSection(configuration, "Admin", admin, errors, "Listen");
        BindSection(configuration, "Policy", policy, errors);
        BindSection(configuration, "Audit", audit, errors);

        proxy.Listen = ReadEndPoints(configuration, "Proxy:Listen", "127.0.0.1:3128", errors);
        admin.Listen = ReadEndPoints(configuration, "Admin:Listen", "127.0.0.1:9090", errors);
        foreach (var text in ReadList(configuration, "Proxy:ConnectPorts") ?? ["443"])
        {
            if (text == "*")
            {
                continue;
            }
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536)
            {
                proxy.ConnectPorts.Add(port);
            }
            else
            {
                errors.Add($"Proxy:ConnectPorts: '{text}' is not a port number (1-65535) or '*'");
            }
        }
        foreach (var child in configuration.GetSection("Proxy:HostOverrides").GetChildren())
        {
            if (child.Value is null || !TryParseEndPoint(child.Value, out _))
            {
                errors.Add($"Proxy:HostOverrides:{child.Key}: '{child.Value}' is not address:port");
            }
            else
            {
                proxy.HostOverrides[child.Key.TrimEnd('.')] = child.Value;
            }
        }

        if (proxy.Listen.Count == 0)
        {
            errors.Add("Proxy:Listen: at least one address:port is required");
        }
        Positive(proxy.HeadTimeout, "Proxy:HeadTimeout", errors);
        Positive(proxy.ClientHelloTimeout, "Proxy:ClientHelloTimeout", errors);
        Positive(proxy.UpstreamConnectTimeout, "Proxy:UpstreamConnectTimeout", errors);
        Positive(proxy.TunnelIdleTimeout, "Proxy:TunnelIdleTimeout", errors);
        Positive(proxy.UpstreamReadTimeout, "Proxy:UpstreamReadTimeout", errors);
        Positive(proxy.KeepAliveTimeout, "Proxy:KeepAliveTimeout", errors);
        Positive(proxy.AuthFailureWindow, "Proxy:AuthFailureWindow", errors);
        Positive(proxy.ShutdownTimeout, "Proxy:ShutdownTimeout", errors);
        Positive(proxy.RefusalLogInterval, "Proxy:RefusalLogInterval", errors);
        if (proxy.MaxHeadBytes is < 1024 or > 1024 * 1024)
        {
            errors.Add($"Proxy:MaxHeadBytes: {proxy.MaxHeadBytes} is outside 1024-1048576");
        }
        if (proxy.SocketThreads is < 0 or > 256)
        {
            errors.Add($"Proxy:SocketThreads: {proxy.SocketThreads} is outside 0-256 (0: one per two cores)");
        }
        if (proxy.MaxConnectionsPerClient < 1)
        {
            errors.Add($"Proxy:MaxConnectionsPerClient: {proxy.MaxConnectionsPerClient} must be at least 1");
        }
        if (proxy.MaxAuthFailures < 1)
        {
            errors.Add($"Proxy:MaxAuthFailures: {proxy.MaxAuthFailures} must be at least 1");
        }
        if (proxy.MaxAuthFailuresPerAddress < proxy.MaxAuthFailures)
        {
            errors.Add($"Proxy:MaxAuthFailuresPerAddress: {proxy.MaxAuthFailuresPerAddress} must be at least Proxy:MaxAuthFailures ({proxy.MaxAuthFailures})");
        }
        if (string.IsNullOrWhiteSpace(proxy.ViaName) || proxy.ViaName.Any(c => c <= ' ' || c >= 127 || c is ',' or '(' or ')'))
        {
            errors.Add($"Proxy:ViaName: '{proxy.ViaName}' must be a token (no spaces, commas or parentheses)");
        }
        if ((proxy.InspectionCaCertificate is null) != (proxy.InspectionCaKey is null))
        {
            errors.Add("Proxy:InspectionCaCertificate and Proxy:InspectionCaKey must be set together");
        }
        foreach (var (key, path) in new[] { ("Proxy:InspectionCaCertificate", proxy.InspectionCaCertificate), ("Proxy:InspectionCaKey", proxy.InspectionCaKey),
            ("Proxy:UpstreamTrustedCertificates", proxy.UpstreamTrustedCertificates) })
        {
            if (path is not null && !File.Exists(System.IO.Path.GetFullPath(path, contentRoot)))
            {
                errors.Add($"{key}: file '{path}' does not exist");
            }
        }
        Positive(policy.ReloadDelay, "Policy:ReloadDelay", errors);
        if (!(policy.StatutoryShrinkFraction is >= 0 and <= 1))
        {
            errors.Add($"Policy:StatutoryShrinkFraction: {policy.StatutoryShrinkFraction} is outside 0-1");
        }
        if (policy.StatutoryMinEntries < 0)
        {
            errors.Add($"Policy:StatutoryMinEntries: {policy.StatutoryMinEntries} is negative");
        }
        if (string.IsNullOrWhiteSpace(policy.Path))
        {
            errors.Add("Policy:Path: a policy directory is required");
        }
        else
        {
            policy.Path = ResolvePolicyPath(policy.Path, contentRoot);
            if (!Directory.Exists(policy.Path))
            {
                errors.Add($"Policy:Path: directory '{policy.Path}' does not exist");
            }
        }
        if (string.IsNullOrWhiteSpace(audit.Path))
        {
            errors.Add("Audit:Path: a log directory is required");
        }
        else
        {
            audit.Path = System.IO.Path.GetFullPath(audit.Path, contentRoot);
        }
        if (audit.RetainDays is < 1 or > 3650)
        {
            errors.Add($"Audit:RetainDays: {audit.RetainDays} is outside 1-3650");
        }
        if (audit.MaxBacklogBytes is < FilterService.Audit.AuditFile.ChunkSize or > 1L << 32)
        {
            errors.Add($"Audit:MaxBacklogBytes: {audit.MaxBacklogBytes} is outside {FilterService.Audit.AuditFile.ChunkSize}-{1L << 32}");
        }
        foreach (var a in admin.Listen)
        {
            if (a.Port != 0 && proxy.Listen.Any(p => p.Port == a.Port && (p.Address.Equals(a.Address) || IsAny(p.Address) || IsAny(a.Address))))
            {
                errors.Add($"Admin:Listen: {a} overlaps a proxy listener");
            }
        }
        return errors.Count == 0 ? new ServiceOptions(proxy, admin, policy, audit) : null;
    }

    /// <summary>Parses <c>address:port</c>, <c>[v6]:port</c>; the address must be a literal.</summary>
    public static bool TryParseEndPoint(string text, out IPEndPoint endPoint)
    {
        endPoint = null!;
        text = text.Trim();
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || (text.Contains(':') && text.IndexOf(':') != colon && text[0] != '['))
        {
            return false;
        }
        var host = text.AsSpan(0, colon);
        if (host.Length >= 2 && host[0] == '[' && host[^1] == ']')
        {
            host = host[1..^1];
        }
        else if (host.Contains(':'))
        {
            return false;
        }
        if (!IPAddress.TryParse(host, out var address) ||
            !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return false;
        }
        // IPAddress.TryParse accepts "127.1" and "2130706433"; an endpoint in configuration must be written in full.
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && host.Count('.') != 3)
        {
            return false;
        }
        endPoint = new IPEndPoint(address, port);
        return true;
    }

    private static bool IsAny(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);

    private static string ResolvePolicyPath(string path, string contentRoot)
    {
        var full = System.IO.Path.GetFullPath(path, contentRoot);
        if (Directory.Exists(full) || System.IO.Path.IsPathRooted(path))
        {
            return full;
        }
        // `dotnet run --project src/FilterService` from elsewhere in the repository: look upwards for the relative path.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, path);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return full;
    }

    private static void Positive(TimeSpan value, string key, List<string> errors)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key}: {value} must be positive");
        }
    }

    private static void BindSection(IConfiguration configuration, string name, object target, List<string> errors, params string[] skip)
    {
        foreach (var child in configuration.GetSection(name).GetChildren())
        {
            if (skip.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }
            var property = target.GetType().GetProperty(child.Key,
                System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase);
            if (property is null)
            {
                errors.Add($"{name}:{child.Key}: unknown setting");
                continue;
            }
            try
            {
                var value = child.Get(property.PropertyType);
                if (value is not null)
                {
                    property.SetValue(target, value);
                }
            }
            catch (InvalidOperationException)
            {
                errors.Add($"{name}:{child.Key}: '{child.Value}' is not a valid {FriendlyType(property.PropertyType)}");
            }
        }
    }

    private static string FriendlyType(Type t) =>
        t == typeof(TimeSpan) ? "time span (hh:mm:ss)" : t == typeof(bool) ? "boolean (true/false)" : t == typeof(int) ? "whole number" :
        t.IsEnum ? $"value ({string.Join(", ", Enum.GetNames(t))})" : t.Name;

    /// <summary>A list setting given either as children (<c>Key:0</c>, <c>Key:1</c>) or as one comma-separated value.</summary>
    private static List<string>? ReadList(IConfiguration configuration, string key)
    {
        var section = configuration.GetSection(key);
        if (section.Value is { } scalar)
        {
            return scalar.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        }
        var children = section.GetChildren().Select(c => c.Value).Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!.Trim()).ToList();
        return children.Count > 0 ? children : null;
    }

    private static List<IPEndPoint> ReadEndPoints(IConfiguration configuration, string key, string fallback, List<string> errors)
    {
        var result = new List<IPEndPoint>();
        var section = configuration.GetSection(key);
        var items = section.Value is { Length: 0 } ? [] : ReadList(configuration, key) ?? [fallback];
        foreach (var text in items)
        {
            if (TryParseEndPoint(text, out var ep))
            {
                result.Add(ep);
            }
            else
            {
                errors.Add($"{key}: '{text}' is not address:port (IPv6 as [address]:port)");
            }
        }
        return result;
    }
}
