using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using FilterService.Hosting;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace FilterService.Tests.Proxy;

/// <summary>
/// The tunnel loop (Proxy:TunnelLoop) on real sockets: which connections it carries and which it hands to Kestrel
/// untouched, the answers it gives itself (502, the ClientHello deadline, the idle deadline), and the splice's edge
/// cases: a half-close, bytes relayed exactly, and a slow reader (the pending-buffer path). The behaviours that must
/// not depend on who carries the tunnel run with the loop on and off.
/// </summary>
public sealed class TunnelLoopTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private TestOrigin _origin = null!;
    private TcpListener _echo = null!;
    private Task _echoing = Task.CompletedTask;
    private int _deadPort;
    private readonly CancellationTokenSource _stop = new();

    public async Task InitializeAsync()
    {
        _origin = await TestOrigin.StartAsync();
        // An origin that reads until the client half-closes, then says how much it got and closes.
        _echo = new TcpListener(IPAddress.Loopback, 0);
        _echo.Start();
        _echoing = EchoAsync();
        // A port nothing listens on.
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        _deadPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
    }

    public async Task DisposeAsync()
    {
        _stop.Cancel();
        _echo.Stop();
        await _echoing.WaitAsync(Wait).ContinueWith(_ => { });
        await _origin.DisposeAsync();
    }

    private async Task EchoAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _echo.AcceptSocketAsync(_stop.Token);
                _ = Task.Run(async () =>
                {
                    using (socket)
                    {
                        long total = 0;
                        var buffer = new byte[8192];
                        int n;
                        while ((n = await socket.ReceiveAsync(buffer)) > 0)
                        {
                            total += n;
                        }
                        await socket.SendAsync(Encoding.ASCII.GetBytes($"received {total} bytes"));
                    }
                });
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private Task<RunningService> StartAsync(bool loop, string idle = "00:00:02", int loops = 1, TimeProvider? time = null, string hello = "00:00:01") =>
        RunningService.StartAsync(Samples.DefaultDir, _origin, time,
            $"--Proxy:TunnelLoop={loop}", $"--Proxy:SocketThreads={loops}", $"--Proxy:ClientHelloTimeout={hello}", $"--Proxy:TunnelIdleTimeout={idle}",
            $"--Proxy:HostOverrides:echo.test=127.0.0.1:{((IPEndPoint)_echo.LocalEndpoint).Port}",
            $"--Proxy:HostOverrides:dead.test=127.0.0.1:{_deadPort}");

    private static IReadOnlyList<TunnelLoop> Loops(RunningService service) =>
        service.App.App.Services.GetServices<IConnectionListenerFactory>().OfType<TunnelLoopTransportFactory>().Single().Loops;

    private static TunnelLoop Loop(RunningService service) => Assert.Single(Loops(service));

    private static async Task<RawClient> TunnelAsync(RunningService service, string target)
    {
        var raw = await RawClient.ConnectAsync(service.ProxyEndPoint);
        await raw.SendAsync($"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", await raw.ReadHeadAsync(Wait));
        return raw;
    }

    private static async Task<string> GetOverTlsAsync(Stream tunnel, string host, string path)
    {
        using var tls = new SslStream(tunnel, leaveInnerStreamOpen: true, (_, _, _, _) => true);
        using var cts = new CancellationTokenSource(Wait);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = host }, cts.Token);
        await tls.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"), cts.Token);
        using var reader = new StreamReader(tls);
        return await reader.ReadToEndAsync(cts.Token);
    }

    [Fact]
    public async Task Tunnel_IsCarriedByTheLoop_WhileOtherConnectionsAreHandedOverUntouched()
    {
        await using var service = await StartAsync(loop: true);
        var loop = Loop(service);

        await using (var raw = await TunnelAsync(service, "secure.test:443"))
        {
            Assert.Contains("Hello from the origin", await GetOverTlsAsync(raw.Stream, "secure.test", "/hello"));
        }
        Assert.Equal(1, loop.Carried);
        Assert.Equal(0, loop.HandedOver);
        var record = await service.WaitForAuditAsync(r => r.Str("method") == "CONNECT" && r.Int("status") == 200, "the tunnel");
        Assert.True(record.Long("bytes_in") > 0 && record.Long("bytes_out") > 0);

        // Plain HTTP, a refused CONNECT and a malformed one: Kestrel and ConnectMiddleware answer, as before the loop.
        using (var client = service.CreateClient())
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("http://allowed.test/hello")).StatusCode);
        }
        await using (var raw = await RawClient.ConnectAsync(service.ProxyEndPoint))
        {
            await raw.SendAsync("CONNECT secure.test:8443 HTTP/1.1\r\nHost: secure.test:8443\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 403", await raw.ReadHeadAsync(Wait));
        }
        await using (var raw = await RawClient.ConnectAsync(service.ProxyEndPoint))
        {
            await raw.SendAsync("CONNECT secure.test:443 HTTP/1.1\nHost: secure.test:443\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 400", await raw.ReadHeadAsync(Wait));
        }
        // A CONNECT the engine blocks: the middleware answers it, with the decision recorded once.
        await using (var raw = await RawClient.ConnectAsync(service.ProxyEndPoint))
        {
            await raw.SendAsync("CONNECT blocked-terror.test:443 HTTP/1.1\r\nHost: blocked-terror.test:443\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 403", await raw.ReadHeadAsync(Wait));
        }
        await service.WaitForAuditAsync(r => r.Str("url") == "blocked-terror.test:443" && r.Int("status") == 403, "the blocked tunnel");
        Assert.Equal(1, loop.Carried);
        Assert.Equal(4, loop.HandedOver);
    }

    [Fact]
    public async Task ConnectHead_InTwoPieces_IsHandedOverWithNothingLost()
    {
        await using var service = await StartAsync(loop: true);
        await using var raw = await RawClient.ConnectAsync(service.ProxyEndPoint);
        await raw.SendAsync("CONNECT secu");
        await Task.Delay(300);
        await raw.SendAsync("re.test:443 HTTP/1.1\r\nHost: secure.test:443\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", await raw.ReadHeadAsync(Wait));
        Assert.Contains("Hello from the origin", await GetOverTlsAsync(raw.Stream, "secure.test", "/hello"));
        Assert.Equal(0, Loop(service).Carried);
        Assert.Equal(1, Loop(service).HandedOver);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task UpstreamRefusingTheConnection_Gets502WithReference_AndIsAudited(bool loop)
    {
        await using var service = await StartAsync(loop);
        await using var raw = await RawClient.ConnectAsync(service.ProxyEndPoint);
        await raw.SendAsync("CONNECT dead.test:443 HTTP/1.1\r\nHost: dead.test:443\r\n\r\n");
        var (text, closed) = await raw.ReadAllAsync(Wait);
        Assert.StartsWith("HTTP/1.1 502 Bad Gateway\r\n", text);
        Assert.Contains("Connection: close\r\n", text);
        Assert.Contains("upstream-connect-failed. Reference ", text);
        Assert.True(closed);
        var record = await service.WaitForAuditAsync(r => r.Str("url") == "dead.test:443", "the failed tunnel");
        Assert.Equal(502, record.Int("status"));
        Assert.Equal("upstream-connect-failed", record.Str("rule"));
        Assert.Contains(record.Str("ref")!, text);
        if (loop)
        {
            Assert.Equal(1, Loop(service).Carried);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task NoClientHello_IsClosedAtTheDeadline_AndAudited(bool loop)
    {
        await using var service = await StartAsync(loop, hello: "00:00:00.500");
        await using var raw = await TunnelAsync(service, "secure.test:443");
        var (text, closed) = await raw.ReadAllAsync(Wait);
        Assert.True(closed);
        Assert.Equal("", text);
        var record = await service.WaitForAuditAsync(r => r.Str("rule") == "client-hello-timeout", "the silent tunnel");
        Assert.Equal(403, record.Int("status"));
        Assert.Equal("secure.test:443", record.Str("url"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task IdleTunnel_IsClosedAtTheIdleDeadline_AndAudited(bool loop)
    {
        await using var service = await StartAsync(loop, idle: "00:00:01");
        await using var raw = await TunnelAsync(service, "secure.test:443");
        using var tls = new SslStream(raw.Stream, leaveInnerStreamOpen: true, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "secure.test" });
        var started = DateTime.UtcNow;
        var read = await tls.ReadAsync(new byte[16]).AsTask().WaitAsync(Wait); // nothing comes; the proxy closes at 1 s idle
        Assert.Equal(0, read);
        // Not before half the idle deadline (the handshake's last bytes, which start it, came just before `started`).
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(500), Wait);
        var record = await service.WaitForAuditAsync(r => r.Str("url") == "secure.test:443" && r.Int("status") == 200, "the idle tunnel");
        Assert.True(record.Long("bytes_in") > 0 && record.Long("bytes_out") > 0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ClientHalfClose_TheUpstreamAnswerStillArrives_EveryByteRelayed(bool loop)
    {
        // Each FIN may arrive together with the last data, so the event that announces it is the data's: the tunnel
        // must still see both ends at once, not at the idle deadline (a minute here, past the read's 10 s). Whether
        // they arrive together is up to the scheduler, so five tunnels, each a new chance.
        await using var service = await StartAsync(loop, idle: "00:01:00");
        var hello = await TlsHello.CaptureAsync("echo.test");
        var sent = new List<(long In, long Out)>();
        for (int round = 0; round < 5; round++)
        {
            await using var raw = await TunnelAsync(service, "echo.test:443");
            var payload = new byte[100_000 + round];
            Random.Shared.NextBytes(payload);
            await raw.SendAsync([.. hello, .. payload]);
            raw.Stream.Socket.Shutdown(SocketShutdown.Send);
            var (text, closed) = await raw.ReadAllAsync(Wait);
            Assert.Equal($"received {hello.Length + payload.Length} bytes", text);
            Assert.True(closed);
            sent.Add((hello.Length + payload.Length, text.Length));
        }
        await service.WaitForAuditAsync(r => r.Str("url") == "echo.test:443" && r.Long("bytes_in") == sent[^1].In, "the last echo tunnel");
        var recorded = service.AuditRecords().Where(r => r.Str("url") == "echo.test:443").Select(r => (r.Long("bytes_in"), r.Long("bytes_out")));
        Assert.Equal(sent.Order(), recorded.Order());
    }

    [Fact]
    public async Task SlowReader_GetsEveryByte_ThroughTheLoopsPendingBuffers()
    {
        await using var service = await StartAsync(loop: true);
        await using var raw = await TunnelAsync(service, "secure.test:443");
        using var tls = new SslStream(raw.Stream, leaveInnerStreamOpen: true, (_, _, _, _) => true);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "secure.test" }, cts.Token);
        await tls.WriteAsync("GET /big?mb=24 HTTP/1.1\r\nHost: secure.test\r\nConnection: close\r\n\r\n"u8.ToArray(), cts.Token);
        // Let the origin fill every buffer on the way (the loop then holds the rest and stops reading the origin).
        await Task.Delay(1000);
        long total = 0;
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await tls.ReadAsync(buffer, cts.Token)) > 0)
        {
            total += n;
            if (total < 4 * 1024 * 1024)
            {
                await Task.Delay(2); // and keep reading slowly for a while
            }
        }
        // The TLS record MACs prove every byte arrived unchanged and in order; the count proves none is missing.
        Assert.InRange(total, 24L * 1024 * 1024, 24L * 1024 * 1024 + 1024);
        var record = await service.WaitForAuditAsync(r => r.Str("url") == "secure.test:443" && r.Int("status") == 200, "the download");
        Assert.True(record.Long("bytes_out") > 24L * 1024 * 1024);
        Assert.Equal(1, Loop(service).Carried);
    }

    [Fact]
    public async Task Tunnels_AreSpreadOverEveryLoop_AndStoppingTheServiceEndsEveryLoop()
    {
        var service = await StartAsync(loop: true, idle: "00:01:00", loops: 3);
        var loops = Loops(service);
        Assert.Equal(3, loops.Count);
        var hello = await TlsHello.CaptureAsync("echo.test");
        // Each connection comes from a new source port, which the kernel hashes to one of the three listening sockets:
        // 30 tunnels leave a loop without any with a chance of 3 x (2/3)^30, under 1 in 50,000.
        const int Tunnels = 30;
        for (int i = 0; i < Tunnels; i++)
        {
            await using var raw = await TunnelAsync(service, "echo.test:443");
            await raw.SendAsync(hello);
            raw.Stream.Socket.Shutdown(SocketShutdown.Send);
            var (text, closed) = await raw.ReadAllAsync(Wait);
            Assert.Equal($"received {hello.Length} bytes", text);
            Assert.True(closed);
        }
        Assert.Equal(Tunnels, loops.Sum(l => l.Carried));
        Assert.All(loops, l => Assert.True(l.Carried > 0, $"a loop carried none of {Tunnels}: {string.Join(", ", loops.Select(x => x.Carried))}"));

        // Tunnels held open on every loop: stopping the service ends each loop, and each loop ends its tunnels.
        var open = new List<RawClient>();
        var before = loops.Select(l => l.Carried).ToArray();
        while (loops.Where((l, i) => l.Carried == before[i]).Any() && open.Count < 60)
        {
            var raw = await TunnelAsync(service, "echo.test:443");
            await raw.SendAsync(hello);
            open.Add(raw);
        }
        Assert.All(loops.Select((l, i) => l.Carried - before[i]), n => Assert.True(n > 0));
        await service.DisposeAsync();
        Assert.All(loops, l => Assert.True(l.Stopped));
        foreach (var raw in open)
        {
            var (_, closed) = await raw.ReadAllAsync(Wait);
            Assert.True(closed);
            await raw.DisposeAsync();
        }
    }

    [Fact]
    public async Task NoClientHello_IsRefusedWhenTheInjectedClockPassesTheDeadline_NotTheWallClock()
    {
        // The ClientHello deadline is a minute; the test's clock jumps past it and the loop refuses the tunnel at its
        // next sweep (a quarter of a second of wall time), long before a minute has passed.
        var clock = new FakeTime(DateTimeOffset.UtcNow);
        await using var service = await StartAsync(loop: true, time: clock, hello: "00:01:00");
        var loop = Loop(service);
        await using var raw = await TunnelAsync(service, "secure.test:443");
        Assert.Equal(1, loop.Carried);
        clock.Advance(TimeSpan.FromSeconds(61));
        var (text, closed) = await raw.ReadAllAsync(Wait);
        Assert.True(closed);
        Assert.Equal("", text);
        var record = await service.WaitForAuditAsync(r => r.Str("rule") == "client-hello-timeout", "the silent tunnel");
        Assert.Equal(403, record.Int("status"));
        Assert.Equal("secure.test:443", record.Str("url"));
        Assert.InRange(record.Long("duration_ms"), 61_000, 62_000); // measured on the injected clock
    }
}
