using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// Issue 15's proxy findings, each through the running service on raw sockets, with the fast paths (the lean HTTP stage,
/// the tunnel loop) on and off: what is decided is what is sent, one canonical address for every path, and the address
/// policy sees through IPv6 forms of IPv4.
/// </summary>
public sealed partial class Issue15ProxyTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly string Staff = "Proxy-Authorization: Basic " + Convert.ToBase64String("staff1:staff1-demo"u8.ToArray()) + "\r\n";

    private ScriptedOrigin _origin = null!;

    public Task InitializeAsync()
    {
        _origin = new ScriptedOrigin(path => ScriptedOrigin.Answer.Of($"HTTP/1.1 200 OK\r\nContent-Length: {path.Length}\r\n\r\n{path}"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _origin.DisposeAsync();

    /// <summary>The default sample, allowed.test and en.wikipedia.org sent to the scripted origin.</summary>
    private Task<RunningService> StartWithOriginAsync(bool lean) => RunningService.StartAsync(Samples.DefaultDir, null,
        "--Proxy:AllowLoopbackUpstream=true", $"--Proxy:LeanHttp={lean}",
        $"--Proxy:HostOverrides:allowed.test=127.0.0.1:{_origin.Port}", $"--Proxy:HostOverrides:en.wikipedia.org=127.0.0.1:{_origin.Port}");

    private static async Task<string> ExchangeAsync(RunningService service, string request, string until = "\r\n\r\n")
    {
        await using var raw = await RawClient.ConnectAsync(service.ProxyEndPoint);
        await raw.SendAsync(request);
        var (text, _) = await raw.ReadAllAsync(Wait, t => t.Contains(until, StringComparison.Ordinal));
        return text;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Item01_LowerCaseMethod_IsRefusedWith400_AsAudited_AndNeverForwarded(bool lean)
    {
        await using var service = await StartWithOriginAsync(lean);

        // The rule applies to POST as sent...
        var post = await ExchangeAsync(service, $"POST http://en.wikipedia.org/w/index.php?action=submit HTTP/1.1\r\nHost: en.wikipedia.org\r\n{Staff}Content-Length: 0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 403 ", post);
        // ...and a spelling the rules would not match, but the forwarder or a lenient origin would read as POST, is refused.
        string[] methods = ["post", "Post", "Head", "get"];
        foreach (var method in methods)
        {
            var text = await ExchangeAsync(service,
                $"{method} http://en.wikipedia.org/w/index.php?action=submit HTTP/1.1\r\nHost: en.wikipedia.org\r\n{Staff}Content-Length: 0\r\n\r\n", "upper case");
            Assert.StartsWith("HTTP/1.1 400 ", text);
        }
        // Each refusal's record, looked for once all four are sent: one wait for the audit file's flush, not four.
        foreach (var method in methods)
        {
            var record = await service.WaitForAuditAsync(r => r.Str("method") == method, method);
            Assert.Equal(400, record.Int("status"));
            Assert.Equal("method-not-upper-case", record.Str("rule"));
        }
        Assert.Empty(_origin.Requests);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SmallerItem_Http11WithoutHost_Gets400_AndIsNotForwarded(bool lean)
    {
        await using var service = await StartWithOriginAsync(lean);
        var text = await ExchangeAsync(service, "GET http://allowed.test/no-host HTTP/1.1\r\nAccept: */*\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400 ", text);
        Assert.Empty(_origin.Requests);
    }

    [Theory]
    [InlineData(true, "Connection: keep-alive, X-Secret\r\n")]
    [InlineData(false, "Connection: keep-alive, X-Secret\r\n")]
    [InlineData(false, "Connection: close, X-Secret\r\n")]
    [InlineData(false, "Connection: X-Secret, keep-alive\r\n")]
    [InlineData(false, "Connection: keep-alive\r\nConnection: X-Secret\r\n")]
    [InlineData(false, "Connection: upgrade, X-Secret\r\n")]
    public async Task SmallerItem_ConnectionHeaderNamingAHeader_ThatHeaderIsNotForwarded(bool lean, string connection)
    {
        await using var service = await StartWithOriginAsync(lean);
        var text = await ExchangeAsync(service, $"GET http://allowed.test/hop HTTP/1.1\r\nHost: allowed.test\r\n{connection}X-Secret: 1\r\nX-Kept: 2\r\n\r\n", "/hop");
        Assert.StartsWith("HTTP/1.1 200 ", text);
        var forwarded = Assert.Single(_origin.Requests);
        Assert.Contains("\r\nX-Kept: 2\r\n", forwarded);
        Assert.DoesNotContain("X-Secret", forwarded, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(true, "Connection: keep-alive, X\0y\r\n")]
    [InlineData(false, "Connection: keep-alive, X\0y\r\n")]
    [InlineData(false, "Connection: keep-alive, X\u00ff\r\n")]
    public async Task SmallerItem_ConnectionHeaderWithNulOrBadUtf8_Gets400_AsAnyOtherHeader(bool lean, string connection)
    {
        await using var service = await StartWithOriginAsync(lean);
        await using var raw = await RawClient.ConnectAsync(service.ProxyEndPoint);
        await raw.SendAsync(System.Text.Encoding.Latin1.GetBytes($"GET http://allowed.test/bad HTTP/1.1\r\nHost: allowed.test\r\n{connection}\r\n"));
        var (text, _) = await raw.ReadAllAsync(Wait, t => t.Contains("\r\n\r\n", StringComparison.Ordinal));
        Assert.StartsWith("HTTP/1.1 400 ", text);
        Assert.Empty(_origin.Requests);
    }

    /// <summary>A copy of the default sample with 127.0.0.5 in the social list and social blocked for everyone.</summary>
    private static string PolicyListingAnAddress()
    {
        var dir = Samples.CopyDefault();
        File.AppendAllText(Path.Combine(dir, "lists", "social-extra.txt"), "\n127.0.0.5\n");
        var policy = Path.Combine(dir, "policy.yaml");
        var text = File.ReadAllText(policy);
        Assert.Contains("\ndefault: allow", text);
        File.WriteAllText(policy, text.Replace("\ndefault: allow",
            "\n  - name: listed-addresses\n    description: Social for everyone, to test address forms\n    category: social\n    action: block\n\ndefault: allow"));
        return dir;
    }

    [Theory]
    [InlineData(true, "127.0.0.5:443")]
    [InlineData(true, "2130706437:443")]
    [InlineData(false, "2130706437:443")]
    [InlineData(true, "127.5:443")]
    [InlineData(false, "127.5:443")]
    [InlineData(true, "0x7f.0.0.5:443")]
    [InlineData(true, "0177.0.0.05:443")]
    [InlineData(true, "[::ffff:127.0.0.5]:443")]
    [InlineData(false, "[::ffff:127.0.0.5]:443")]
    [InlineData(true, "[::ffff:7f00:5]:443")]
    public async Task Item03_IPLiteralFormsOverConnect_AreDecidedAsTheirAddress(bool loop, string authority)
    {
        await using var service = await RunningService.StartAsync(PolicyListingAnAddress(), null, $"--Proxy:TunnelLoop={loop}");
        var text = await ExchangeAsync(service, $"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 403 ", text);
        var record = await service.WaitForAuditAsync(r => r.Str("method") == "CONNECT", authority);
        Assert.Equal("listed-addresses", record.Str("rule"));
        Assert.Equal("127.0.0.5:443", record.Str("url"));
    }

    [Theory]
    [InlineData(true, "http://2130706437/")]
    [InlineData(false, "http://2130706437/")]
    [InlineData(true, "http://[::ffff:127.0.0.5]/")]
    [InlineData(false, "http://[::ffff:127.0.0.5]/")]
    public async Task Item03_IPLiteralFormsOverPlainHttp_AreDecidedAsTheirAddress(bool lean, string url)
    {
        await using var service = await RunningService.StartAsync(PolicyListingAnAddress(), null, $"--Proxy:LeanHttp={lean}");
        var host = new Uri(url).Authority;
        var text = await ExchangeAsync(service, $"GET {url} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 403 ", text);
        var record = await service.WaitForAuditAsync(r => r.Str("method") == "GET", url);
        Assert.Equal("listed-addresses", record.Str("rule"));
    }

    [Theory]
    [InlineData(true, "[::127.0.0.1]:443")]
    [InlineData(false, "[::127.0.0.1]:443")]
    [InlineData(true, "[::ffff:0:7f00:1]:443")]
    [InlineData(false, "[::ffff:0:7f00:1]:443")]
    [InlineData(true, "[64:ff9b::7f00:1]:443")]
    [InlineData(false, "[64:ff9b::7f00:1]:443")]
    [InlineData(true, "[64:ff9b::a9fe:a9fe]:443")]
    [InlineData(true, "[2002:7f00:1::1]:443")]
    public async Task Item08_IPv6FormsOfAForbiddenIPv4_AreRefusedUpstream_OverConnect(bool loop, string authority)
    {
        await using var service = await RunningService.StartAsync(Samples.DefaultDir, null, $"--Proxy:TunnelLoop={loop}",
            "--Proxy:UpstreamConnectTimeout=00:00:02");
        var text = await ExchangeAsync(service, $"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 403 ", text);
        var record = await service.WaitForAuditAsync(r => r.Str("method") == "CONNECT", authority);
        Assert.Equal("upstream-address-refused", record.Str("rule"));
    }

    [Theory]
    [InlineData(true, "http://[64:ff9b::7f00:1]/")]
    [InlineData(false, "http://[64:ff9b::7f00:1]/")]
    [InlineData(true, "http://[::ffff:0:7f00:1]/")]
    [InlineData(false, "http://[::127.0.0.1]/")]
    public async Task Item08_IPv6FormsOfAForbiddenIPv4_AreRefusedUpstream_OverPlainHttp(bool lean, string url)
    {
        await using var service = await RunningService.StartAsync(Samples.DefaultDir, null, $"--Proxy:LeanHttp={lean}",
            "--Proxy:UpstreamConnectTimeout=00:00:02");
        var text = await ExchangeAsync(service, $"GET {url} HTTP/1.1\r\nHost: {new Uri(url).Authority}\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 403 ", text);
        var record = await service.WaitForAuditAsync(r => r.Str("method") == "GET", url);
        Assert.Equal("upstream-address-refused", record.Str("rule"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SmallerItem_FloodOfRefusedTunnels_WritesSummaryLines_WhileTheAuditLogKeepsEveryRecord(bool loop)
    {
        const int Tunnels = 60, Heads = 60;
        // An upstream that accepts and waits: the refusal is the proxy's, on the bytes after the CONNECT.
        var upstream = new TcpListener(IPAddress.Loopback, 0);
        upstream.Start();
        var accepted = new List<Socket>();
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var socket = await upstream.AcceptSocketAsync(stop.Token);
                    lock (accepted)
                    {
                        accepted.Add(socket);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var audit = TempDir.Create("audit");
        try
        {
            await using var service = await ServiceProcess.StartAsync([$"--Policy:Path={Samples.DefaultDir}", $"--Audit:Path={audit}",
                "--Proxy:AllowLoopbackUpstream=true", $"--Proxy:HostOverrides:tunnel.test=127.0.0.1:{((IPEndPoint)upstream.LocalEndpoint).Port}", $"--Proxy:TunnelLoop={loop}", "--Proxy:RefusalLogInterval=00:00:01",
                "--Logging:LogLevel:Default=Information"]);
            var proxy = new IPEndPoint(IPAddress.Loopback, service.ProxyPort);
            for (int i = 0; i < Tunnels; i++)
            {
                await using var raw = await RawClient.ConnectAsync(proxy);
                await raw.SendAsync("CONNECT tunnel.test:443 HTTP/1.1\r\nHost: tunnel.test:443\r\n\r\n");
                Assert.StartsWith("HTTP/1.1 200", await raw.ReadHeadAsync(Wait));
                await raw.SendAsync("GET / HTTP/1.1\r\n\r\n"); // not TLS: refused
                var (_, closed) = await raw.ReadAllAsync(Wait);
                Assert.True(closed);
            }
            for (int i = 0; i < Heads; i++)
            {
                await using var raw = await RawClient.ConnectAsync(proxy);
                await raw.SendAsync("CONNECT a:443 b HTTP/1.1\r\n\r\n"); // malformed
                Assert.StartsWith("HTTP/1.1 400", await raw.ReadHeadAsync(Wait));
            }

            // Every refusal is in the audit log, and in the summary lines' counts, not in a line of its own.
            var counts = new Dictionary<string, long>();
            var deadline = DateTime.UtcNow + Wait;
            while (true)
            {
                counts.Clear();
                foreach (Match m in SummaryLine().Matches(service.Output))
                {
                    foreach (Match c in Count().Matches(m.Groups[1].Value))
                    {
                        counts[c.Groups[1].Value] = counts.GetValueOrDefault(c.Groups[1].Value) + long.Parse(c.Groups[2].Value);
                    }
                }
                if (counts.GetValueOrDefault("tunnel-not-tls") == Tunnels && counts.GetValueOrDefault("malformed-request") == Heads)
                {
                    break;
                }
                Assert.True(DateTime.UtcNow < deadline, "summary counts " + string.Join(", ", counts) + "; output:\n" + service.Output);
                await Task.Delay(100);
            }
            Assert.DoesNotContain("Closed a tunnel", service.Output);
            Assert.DoesNotContain("Refused a CONNECT head", service.Output);
            Assert.True(SummaryLine().Matches(service.Output).Count <= (Tunnels + Heads) / 4, service.Output);
            // The summary counts at the refusal; the audit writer appends after it, off the socket thread: wait for it.
            List<string> records;
            deadline = DateTime.UtcNow + Wait;
            while (true)
            {
                records = AuditFiles.ReadLines(audit);
                if (records.Count(l => l.Contains("\"tunnel-not-tls\"", StringComparison.Ordinal)) >= Tunnels
                    && records.Count(l => l.Contains("\"malformed-request\"", StringComparison.Ordinal)) >= Heads || DateTime.UtcNow > deadline)
                {
                    break;
                }
                await Task.Delay(100);
            }
            Assert.Equal(Tunnels, records.Count(l => l.Contains("\"tunnel-not-tls\"", StringComparison.Ordinal)));
            Assert.Equal(Heads, records.Count(l => l.Contains("\"malformed-request\"", StringComparison.Ordinal)));
        }
        finally
        {
            stop.Cancel();
            upstream.Stop();
            await accepting.WaitAsync(Wait).ContinueWith(_ => { });
            lock (accepted)
            {
                accepted.ForEach(s => s.Dispose());
            }
        }
    }

    [GeneratedRegex(@"Refused \d+ connections or tunnels in the last \d+ s: ([^\r\n]*)")]
    private static partial Regex SummaryLine();

    [GeneratedRegex(@"([a-z-]+)=(\d+)")]
    private static partial Regex Count();
}
