// Load generator for the CONNECT side of the side-by-side benchmark (bench/load/run). wrk covers plain
// HTTP; it cannot speak CONNECT, so this drives tunnels through any HTTP proxy:
//
//   handshakes  every operation is a new TCP connection, CONNECT, a full TLS handshake (no resumption)
//               with the origin through the tunnel, one GET and close
//   downloads   each connection opens one tunnel and then repeats GET on it (keep-alive)
//
// --ca FILE trusts that PEM CA (and only it) for the origin's certificate, checking chain and name: the inspection
// suite's proxies must present a leaf for each name signed by the bench's inspection CA. Without it any certificate
// is accepted (the spliced origin is self-signed). --hosts-from FILE (one name a line) and --hosts-count N make the
// tunnels go to those names in turn, the first N of the file, instead of the --target host (its port still applies):
// in handshakes mode each new tunnel takes the next name; in downloads mode each kept-open tunnel does.
//
// Prints one JSON object: completed operations, errors, seconds, rate, latency percentiles, body bytes.
// Every operation has a deadline; the run stops at --duration whatever happens.

using System.Buffers.Text;
using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

var options = Options.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(
        "usage: LoadClient handshakes|downloads --proxy HOST:PORT --target HOST:PORT --path /1k " +
        "[--connections 50] [--duration 10] [--timeout 10] [--ca FILE] [--hosts-from FILE [--hosts-count N]]");
    return 2;
}

var targets = new Targets(options);
var workers = new Worker[options.Connections];
for (var i = 0; i < workers.Length; i++)
    workers[i] = new Worker(options, targets);

using var stop = new CancellationTokenSource(options.Duration);
var clock = Stopwatch.StartNew();
await Task.WhenAll(workers.Select(w => Task.Run(() => w.RunAsync(stop.Token))));
var seconds = clock.Elapsed.TotalSeconds;

var latencies = workers.SelectMany(w => w.Latencies).Order().ToArray();
long completed = workers.Sum(w => w.Completed), errors = workers.Sum(w => w.Errors), bytes = workers.Sum(w => w.BodyBytes);
double Percentile(double p) =>
    latencies.Length == 0 ? 0 : latencies[Math.Min(latencies.Length - 1, (int)(p * latencies.Length))] * 1000.0 / Stopwatch.Frequency;

Console.WriteLine(JsonSerializer.Serialize(new
{
    mode = options.Mode,
    completed,
    errors,
    seconds = Math.Round(seconds, 3),
    rate = Math.Round(completed / seconds, 1),
    p50_ms = Math.Round(Percentile(0.50), 3),
    p99_ms = Math.Round(Percentile(0.99), 3),
    body_bytes = bytes,
    hosts = targets.Count,
    first_error = workers.Select(w => w.FirstError).FirstOrDefault(e => e is not null),
}));
return 0;

sealed record Options(string Mode, string ProxyHost, int ProxyPort, string TargetHost, int TargetPort, string Path,
    int Connections, TimeSpan Duration, TimeSpan Timeout, string? Ca, string? HostsFrom, int HostsCount)
{
    public static Options? Parse(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("handshakes" or "downloads")) return null;
        var values = new Dictionary<string, string>();
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) return null;
            values[args[i][2..]] = args[i + 1];
        }
        if (!values.TryGetValue("proxy", out var proxy) || !values.TryGetValue("target", out var target)) return null;
        var (proxyHost, proxyPort) = SplitHostPort(proxy);
        var (targetHost, targetPort) = SplitHostPort(target);
        double Number(string key, double fallback) => values.TryGetValue(key, out var v) ? double.Parse(v) : fallback;
        return new Options(args[0], proxyHost, proxyPort, targetHost, targetPort, values.GetValueOrDefault("path", "/1k"),
            (int)Number("connections", 50), TimeSpan.FromSeconds(Number("duration", 10)),
            TimeSpan.FromSeconds(Number("timeout", 10)), values.GetValueOrDefault("ca"), values.GetValueOrDefault("hosts-from"),
            (int)Number("hosts-count", int.MaxValue));
    }

    static (string, int) SplitHostPort(string value)
    {
        var colon = value.LastIndexOf(':');
        return (value[..colon], int.Parse(value[(colon + 1)..]));
    }
}

// The names tunnels go to, with their CONNECT and GET bytes made once; Next() hands them out in turn to all workers.
sealed class Targets
{
    public sealed record Target(string Host, byte[] Connect, byte[] Get);

    readonly Target[] _targets;
    long _next = -1;

    public Targets(Options options)
    {
        var hosts = options.HostsFrom is null
            ? [options.TargetHost]
            : File.ReadLines(options.HostsFrom).Select(l => l.Trim()).Where(l => l.Length > 0).Take(options.HostsCount).ToArray();
        if (hosts.Length == 0) throw new ArgumentException($"no host names in {options.HostsFrom}");
        _targets = hosts.Select(h => new Target(h,
            Encoding.ASCII.GetBytes($"CONNECT {h}:{options.TargetPort} HTTP/1.1\r\nHost: {h}:{options.TargetPort}\r\n\r\n"),
            Encoding.ASCII.GetBytes($"GET {options.Path} HTTP/1.1\r\nHost: {HostHeader(h, options.TargetPort)}\r\nUser-Agent: filterservice-loadclient\r\n\r\n"))).ToArray();
        if (options.Ca is not null)
        {
            var trust = new X509Certificate2Collection();
            trust.ImportFromPemFile(options.Ca);
            ChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            ChainPolicy.CustomTrustStore.AddRange(trust);
        }
    }

    public int Count => _targets.Length;

    // A bumping proxy rebuilds the URL from Host: without the port it would be https://host/ on 443.
    static string HostHeader(string host, int port) => port == 443 ? host : $"{host}:{port}";

    /// <summary>Trust only the --ca certificate, with the usual name check; null: accept any certificate.</summary>
    public X509ChainPolicy? ChainPolicy { get; }

    public Target Next() => _targets[(int)((ulong)Interlocked.Increment(ref _next) % (ulong)_targets.Length)];
}

sealed class Worker(Options options, Targets targets)
{
    readonly byte[] _buffer = new byte[64 * 1024];

    public List<long> Latencies { get; } = new(1 << 16);
    public long Completed { get; private set; }
    public long Errors { get; private set; }
    public long BodyBytes { get; private set; }
    public string? FirstError { get; private set; }

    public async Task RunAsync(CancellationToken stop)
    {
        Tunnel? tunnel = null;
        while (!stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
            deadline.CancelAfter(options.Timeout);
            try
            {
                tunnel ??= await OpenAsync(targets.Next(), deadline.Token);
                await tunnel.Tls.WriteAsync(tunnel.Target.Get, deadline.Token);
                BodyBytes += await ReadResponseAsync(tunnel.Tls, deadline.Token);
                if (options.Mode == "handshakes")
                {
                    tunnel.Dispose();
                    tunnel = null;
                }
                Latencies.Add(Stopwatch.GetTimestamp() - started);
                Completed++;
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException
                                          or AuthenticationException or InvalidDataException)
            {
                tunnel?.Dispose();
                tunnel = null;
                if (stop.IsCancellationRequested) break; // the run ended mid-operation: not an error
                Errors++;
                FirstError ??= $"{e.GetType().Name}: {e.Message}";
            }
        }
        tunnel?.Dispose();
    }

    async Task<Tunnel> OpenAsync(Targets.Target target, CancellationToken cancel)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(options.ProxyHost, options.ProxyPort, cancel);
            var network = new NetworkStream(socket, ownsSocket: true);
            await network.WriteAsync(target.Connect, cancel);
            var (status, _, extra) = await ReadHeadAsync(network, cancel);
            if (status != 200 || extra != 0)
                throw new InvalidDataException($"CONNECT answered {status}");
            var tls = new SslStream(network, leaveInnerStreamOpen: false);
            var client = new SslClientAuthenticationOptions
            {
                TargetHost = target.Host,
                AllowTlsResume = false, // a full handshake every time: the work a new tunnel costs
            };
            if (targets.ChainPolicy is { } policy)
                client.CertificateChainPolicy = policy.Clone(); // SslStream may add to a policy it is given
            else
                client.RemoteCertificateValidationCallback = (_, _, _, _) => true; // the spliced bench origin is self-signed
            await tls.AuthenticateAsClientAsync(client, cancel);
            return new Tunnel(socket, tls, target);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // Reads one response with Content-Length and returns its body length.
    async Task<long> ReadResponseAsync(Stream stream, CancellationToken cancel)
    {
        var (status, contentLength, extra) = await ReadHeadAsync(stream, cancel);
        if (status != 200 || contentLength < 0)
            throw new InvalidDataException($"GET answered {status} (content-length {contentLength})");
        var remaining = contentLength - extra;
        while (remaining > 0)
        {
            var n = await stream.ReadAsync(_buffer.AsMemory(0, (int)Math.Min(_buffer.Length, remaining)), cancel);
            if (n == 0) throw new IOException("connection closed inside the body");
            remaining -= n;
        }
        return contentLength;
    }

    // Reads up to the end of a response head into _buffer; returns status, Content-Length (-1 if absent) and
    // how many body bytes were read with the head. Bytes beyond the body are not expected (no pipelining).
    async Task<(int Status, long ContentLength, int Extra)> ReadHeadAsync(Stream stream, CancellationToken cancel)
    {
        var filled = 0;
        while (true)
        {
            if (filled == _buffer.Length) throw new InvalidDataException("response head too large");
            var n = await stream.ReadAsync(_buffer.AsMemory(filled), cancel);
            if (n == 0) throw new IOException("connection closed before the response head");
            filled += n;
            var end = _buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (end < 0) continue;
            var head = _buffer.AsSpan(0, end);
            if (head.Length < 12 || !Utf8Parser.TryParse(head.Slice(9, 3), out int status, out _))
                throw new InvalidDataException("malformed status line");
            const string marker = "\r\ncontent-length:";
            long contentLength = -1;
            var lower = Encoding.ASCII.GetString(head).ToLowerInvariant();
            var at = lower.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                var value = lower.AsSpan(at + marker.Length);
                var eol = value.IndexOf("\r\n", StringComparison.Ordinal);
                contentLength = long.Parse(eol < 0 ? value : value[..eol]);
            }
            return (status, contentLength, filled - end - 4);
        }
    }
}

sealed class Tunnel(Socket socket, SslStream tls, Targets.Target target) : IDisposable
{
    public SslStream Tls { get; } = tls;
    public Targets.Target Target { get; } = target;

    public void Dispose()
    {
        Tls.Dispose();
        socket.Dispose();
    }
}
