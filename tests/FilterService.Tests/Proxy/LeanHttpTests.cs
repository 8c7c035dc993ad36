using System.Net;
using System.Text;
using FilterService.Hosting;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FilterService.Tests.Proxy;

/// <summary>
/// The lean HTTP stage against an origin scripted byte for byte: response framings (chunked, to the close, interim,
/// bodiless), broken origins (malformed, conflicting lengths, dying mid-body, silent), kept-alive connections upstream
/// (reused, and retried when stale), exactly what goes upstream, and the hand-over to Kestrel mid-connection.
/// </summary>
public sealed class LeanHttpTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private const string Chunked = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5;note=x\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 1\r\n\r\n";

    private ScriptedOrigin _origin = null!;
    private RunningService _service = null!;

    public async Task InitializeAsync()
    {
        _origin = new ScriptedOrigin(Script);
        _service = await RunningService.StartAsync(Samples.DefaultDir, null, "--Proxy:AllowLoopbackUpstream=true",
            $"--Proxy:HostOverrides:allowed.test=127.0.0.1:{_origin.Port}", "--Proxy:UpstreamReadTimeout=00:00:01");
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        await _origin.DisposeAsync();
    }

    private static ScriptedOrigin.Answer Script(string path) => path.Split('?')[0] switch
    {
        // Split at awkward places: inside the head, the size line, the data and the trailer.
        "/chunked" => new([.. Split(Chunked, 20, 75, 83, 90, 104, 118)], Pause: TimeSpan.FromMilliseconds(5)),
        "/to-close" => new([Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"), new byte[100_000]], Close: true),
        "/early" => ScriptedOrigin.Answer.Of("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        "/malformed" => ScriptedOrigin.Answer.Of("HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok", close: true),
        "/two-lengths" => ScriptedOrigin.Answer.Of("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!", close: true),
        "/dies" => new([Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"), new byte[500]], Close: true),
        "/silent" => new([], Stall: true),
        "/closes-after" => ScriptedOrigin.Answer.Of("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", close: true), // no Connection: close
        "/head" => ScriptedOrigin.Answer.Of("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"),
        "/not-modified" => ScriptedOrigin.Answer.Of("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n"),
        "/hop" => ScriptedOrigin.Answer.Of("HTTP/1.1 200 OK\r\nConnection: X-Drop\r\nX-Drop: 1\r\nKeep-Alive: timeout=5\r\nX-Stay: 2\r\nContent-Length: 2\r\n\r\nok"),
        _ => ScriptedOrigin.Answer.Of($"HTTP/1.1 200 OK\r\nContent-Length: {path.Length}\r\n\r\n{path}"),
    };

    private static IEnumerable<byte[]> Split(string text, params int[] at)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        int from = 0;
        foreach (var cut in at.Append(bytes.Length))
        {
            yield return bytes[from..cut];
            from = cut;
        }
    }

    /// <summary>Sends, then reads until the connection closes, <paramref name="until"/> has arrived, or 10 s.</summary>
    private async Task<(string Text, bool Closed)> RawAsync(string requests, string? until = null)
    {
        await using var raw = await RawClient.ConnectAsync(_service.ProxyEndPoint);
        await raw.SendAsync(requests);
        return await raw.ReadAllAsync(Wait, until is null ? null : text => text.EndsWith(until, StringComparison.Ordinal));
    }

    private static string Get(string path, string extra = "") => $"GET http://allowed.test{path} HTTP/1.1\r\nHost: allowed.test\r\n{extra}\r\n";

    /// <summary>
    /// The block page's head, exactly: no cache may keep the page once the policy has changed, and on a kept-alive
    /// connection the page is followed by the next answer (a HEAD gets the head alone, with the page's length).
    /// </summary>
    [Fact]
    public async Task ABlockedRequest_GetsThePageWithItsHead_AndTheConnectionServesTheNext_UntilAskedToClose()
    {
        string Blocked(string method, string path, string extra = "") =>
            $"{method} http://blocked-terror.test{path} HTTP/1.1\r\nHost: blocked-terror.test\r\n{extra}\r\n";
        var (text, closed) = await RawAsync(Blocked("GET", "/a") + Blocked("HEAD", "/h") + Blocked("GET", "/b", "Connection: close\r\n"));
        Assert.True(closed);
        var head = new System.Text.RegularExpressions.Regex(
            "\\GHTTP/1\\.1 403 Forbidden\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: (\\d+)\r\nCache-Control: no-store\r\n"
            + "Date: [A-Z][a-z]{2}, \\d\\d [A-Z][a-z]{2} \\d{4} \\d\\d:\\d\\d:\\d\\d GMT\r\n(Connection: close\r\n)?Via: 1\\.1 [^\r\n]+\r\n\r\n");
        int at = 0;
        foreach (var (path, isHead, closes) in new[] { ("/a", false, false), ("/h", true, false), ("/b", false, true) })
        {
            var match = head.Match(text, at);
            Assert.True(match.Success, $"the answer for {path} at {at}:\n{text[at..]}");
            Assert.Equal(closes, match.Groups[2].Success);
            at += match.Length;
            int length = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (!isHead)
            {
                var page = text.Substring(at, length); // the page is ASCII here: its length in bytes is its length in characters
                Assert.StartsWith("<!DOCTYPE html>", page);
                Assert.Contains($"<code>http://blocked-terror.test{path}</code>", page);
                Assert.EndsWith("</html>\n", page);
                at += length;
            }
        }
        Assert.Equal(text.Length, at);
    }

    [Fact]
    public async Task Chunked_IsRelayedWhole_AndOneUpstreamConnectionServesEveryRequest()
    {
        using var client = _service.CreateClient();
        for (int i = 0; i < 3; i++)
        {
            using var response = await client.GetAsync("http://allowed.test/chunked");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(response.Headers.TransferEncodingChunked);
            Assert.Equal("hello world", await response.Content.ReadAsStringAsync());
            Assert.Equal("1", response.TrailingHeaders.GetValues("X-Checksum").Single());
        }
        Assert.Equal(1, _origin.Accepted);
        var record = await _service.WaitForAuditAsync(r => r.Str("url") == "http://allowed.test/chunked", "the chunked response");
        Assert.Equal(200, record.Int("status"));
        Assert.Equal(11, record.Int("bytes_out")); // the data, not the framing
    }

    [Fact]
    public async Task ABodyToTheClose_IsRelayedWhole_AndTheClientIsToldTheConnectionCloses()
    {
        var (text, closed) = await RawAsync(Get("/to-close"));
        Assert.True(closed);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text);
        Assert.Contains("\r\nConnection: close\r\n", text);
        Assert.Equal(100_000, text.Length - text.IndexOf("\r\n\r\n", StringComparison.Ordinal) - 4);
    }

    [Fact]
    public async Task InterimResponses_AreDropped()
    {
        var (text, _) = await RawAsync(Get("/early"), until: "\r\n\r\nok");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text);
        Assert.DoesNotContain("103", text);
        Assert.EndsWith("\r\n\r\nok", text);
    }

    [Theory]
    [InlineData("/malformed")]
    [InlineData("/two-lengths")]
    public async Task AResponseThatCannotBeRelayedFaithfully_Gets502(string path)
    {
        var (text, _) = await RawAsync(Get(path), until: ".\n");
        Assert.StartsWith("HTTP/1.1 502 Bad Gateway\r\n", text);
        Assert.Contains("upstream-failed. Reference ", text);
        var record = await _service.WaitForAuditAsync(r => r.Str("url") == "http://allowed.test" + path, path);
        Assert.Equal(502, record.Int("status"));
    }

    [Fact]
    public async Task AnOriginDyingMidBody_IsAnAbortForTheClient_NotAShortBody()
    {
        using var client = _service.CreateClient();
        await Assert.ThrowsAnyAsync<HttpRequestException>(async () => await (await client.GetAsync("http://allowed.test/dies")).Content.ReadAsByteArrayAsync());
        var record = await _service.WaitForAuditAsync(r => r.Str("url") == "http://allowed.test/dies", "the short body");
        Assert.Equal(502, record.Int("status"));
        Assert.Equal(500, record.Int("bytes_out"));
    }

    [Fact]
    public async Task ASilentOrigin_Gets504AfterTheReadTimeout()
    {
        var (text, _) = await RawAsync(Get("/silent"), until: ".\n");
        Assert.StartsWith("HTTP/1.1 504 Gateway Timeout\r\n", text);
        await _service.WaitForAuditAsync(r => r.Str("url") == "http://allowed.test/silent" && r.Int("status") == 504, "the timeout");
    }

    [Fact]
    public async Task AKeptConnectionTheOriginClosed_IsRetriedOnceOnANewOne()
    {
        using var client = _service.CreateClient();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal("ok", await client.GetStringAsync("http://allowed.test/closes-after"));
            await Task.Delay(100); // the origin's close reaches the proxy's idle connection first
        }
        Assert.Equal(3, _origin.Accepted);
        Assert.Equal(3, _origin.Requests.Count);
    }

    [Fact]
    public async Task HeadAnd304_HaveNoBody_AndPipelinedRequestsAreAnsweredInOrder()
    {
        await using var raw = await RawClient.ConnectAsync(_service.ProxyEndPoint);
        await raw.SendAsync($"HEAD http://allowed.test/head HTTP/1.1\r\nHost: allowed.test\r\n\r\n{Get("/not-modified")}{Get("/last")}");
        var (text, _) = await raw.ReadAllAsync(Wait, t => t.EndsWith("\r\n\r\n/last", StringComparison.Ordinal));
        var statuses = text.Split("\r\n").Where(l => l.StartsWith("HTTP/1.1 ", StringComparison.Ordinal)).ToList();
        Assert.Equal(["HTTP/1.1 200 OK", "HTTP/1.1 304 Not Modified", "HTTP/1.1 200 OK"], statuses);
        Assert.Contains("\r\nContent-Length: 1234\r\n", text);
        Assert.EndsWith("\r\n\r\n/last", text);
    }

    [Fact]
    public async Task Upstream_GetsOriginFormHostAndVia_AndNoHopByHopHeadersEitherWay()
    {
        var (text, _) = await RawAsync("GET http://allowed.test/a/../hop?q=1 HTTP/1.1\r\nHost: elsewhere.test\r\nConnection: keep-alive, X-Secret\r\n"
            + "X-Secret: s\r\nProxy-Connection: keep-alive\r\nKeep-Alive: 5\r\nTE: trailers\r\nX-Kept: k\r\n\r\n", until: "\r\n\r\nok");
        Assert.Equal("GET /hop?q=1 HTTP/1.1\r\nHost: allowed.test\r\nX-Kept: k\r\nVia: 1.1 school-filter\r\n\r\n", _origin.Requests.Single());
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text);
        Assert.Contains("\r\nX-Stay: 2\r\n", text);
        Assert.Contains("\r\nVia: 1.1 school-filter\r\n", text);
        Assert.DoesNotContain("X-Drop", text);
        Assert.DoesNotContain("Keep-Alive", text);
    }

    [Fact]
    public async Task AfterARequestItDoesNotServe_KestrelServesTheRestOfTheConnection()
    {
        await using var raw = await RawClient.ConnectAsync(_service.ProxyEndPoint);
        await raw.SendAsync(Get("/one") + "POST http://allowed.test/two HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 0\r\n\r\n" + Get("/three"));
        var (text, _) = await raw.ReadAllAsync(Wait, t => t.EndsWith("/three", StringComparison.Ordinal));
        Assert.Equal(3, text.Split("HTTP/1.1 200 OK").Length - 1);
        Assert.True(text.IndexOf("/one", StringComparison.Ordinal) < text.IndexOf("/two", StringComparison.Ordinal)
            && text.IndexOf("/two", StringComparison.Ordinal) < text.IndexOf("/three", StringComparison.Ordinal), text);
        Assert.Equal(["GET", "POST", "GET"], _origin.Requests.Select(r => r.Split(' ')[0]));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WithOrWithoutIdleReadBuffers_AKeptAliveConnection_ServesRequestsThatIdleAndTrickle(bool idleReadBuffers)
    {
        await using var service = await RunningService.StartAsync(Samples.DefaultDir, null, "--Proxy:AllowLoopbackUpstream=true",
            $"--Proxy:HostOverrides:allowed.test=127.0.0.1:{_origin.Port}", $"--Proxy:IdleReadBuffers={idleReadBuffers}");
        // The setting reaches Kestrel's socket transport and the connections the tunnel loop hands over.
        var services = service.App.App.Services;
        Assert.Equal(!idleReadBuffers, services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.WaitForDataBeforeAllocatingBuffer);
        var loop = services.GetServices<IConnectionListenerFactory>().OfType<TunnelLoopTransportFactory>().Single();
        Assert.Equal(!idleReadBuffers, loop.HandOverOptions.WaitForDataBeforeAllocatingBuffer);

        await using var raw = await RawClient.ConnectAsync(service.ProxyEndPoint);
        for (int i = 0; i < 3; i++)
        {
            await Task.Delay(50); // the connection idles with its read posted
            var request = Get($"/idle{i}");
            await raw.SendAsync(request[..10]); // and the head comes in two reads
            await Task.Delay(20);
            await raw.SendAsync(request[10..]);
            var (text, closed) = await raw.ReadAllAsync(Wait, t => t.EndsWith($"/idle{i}", StringComparison.Ordinal));
            Assert.False(closed);
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", text);
            Assert.EndsWith($"\r\n\r\n/idle{i}", text);
        }
    }

    [Fact]
    public void ChunkScanner_FindsTheEnd_HoweverTheBytesAreSplit()
    {
        var body = Encoding.ASCII.GetBytes(Chunked[Chunked.IndexOf("\r\n\r\n", StringComparison.Ordinal)..][4..] + "NEXT");
        var random = new Random(7);
        for (int round = 0; round < 200; round++)
        {
            var scanner = new ChunkScanner();
            int at = 0;
            while (!scanner.Done)
            {
                int piece = Math.Min(random.Next(1, 8), body.Length - at);
                int used = scanner.Feed(body.AsSpan(at, piece));
                Assert.True(used >= 0);
                at += used;
                Assert.True(used == piece || scanner.Done);
            }
            Assert.Equal("NEXT", Encoding.ASCII.GetString(body, at, body.Length - at));
            Assert.Equal(11, scanner.DataBytes);
        }
        var broken = new ChunkScanner();
        Assert.Equal(-1, broken.Feed("5\r\nhelloX"u8));
    }
}
