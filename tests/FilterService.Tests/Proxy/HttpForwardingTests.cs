using System.Net;
using System.Net.Http.Headers;
using System.Text;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>The origin's /gated release is one-shot: each combination has its own origin.</summary>
public sealed class ForwardingFixture : FastPathFixture
{
    protected override bool OriginPerCombination => true;
}

/// <summary>Plain HTTP forwarded on real sockets, with the fast paths in every combination ("general" is neither).</summary>
public sealed class HttpForwardingTests(ForwardingFixture fixture) : IClassFixture<ForwardingFixture>
{
    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public Task EachCombination_TakesItsPaths(string paths) => fixture.AssertTakesItsPathsAsync(paths);

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task Get_AllowedThroughCurl_ReturnsOriginPage(string paths)
    {
        var service = fixture[paths];
        var result = await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "http://allowed.test/hello");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(200, result.HttpCode);
        Assert.Contains("Hello from the origin", result.Body);
        Assert.Contains("host allowed.test", result.Body);
        var record = await service.WaitForAuditAsync(r => r.Str("url") == "http://allowed.test/hello", "the allowed GET");
        Assert.Equal("allow", record.Str("action"));
        Assert.Equal(200, record.Int("status"));
        Assert.Equal("default", record.Str("rule"));
        Assert.True(record.Long("bytes_out") > 0);
    }

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task Post_WithBodyThroughHttpClient_ReachesOriginIntact(string paths)
    {
        var service = fixture[paths];
        using var client = service.CreateClient();
        var body = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("pupil homework ", 5000)));
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using var response = await client.PostAsync("http://allowed.test/echo", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(body.Length.ToString(), response.Headers.GetValues("X-Request-Length").Single());
        var record = await service.WaitForAuditAsync(r => r.Str("method") == "POST" && r.Long("bytes_in") == body.Length, "the POST");
        Assert.Equal(body.Length, record.Long("bytes_out"));
    }

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task Post_ChunkedUploadThroughCurl_IsReframedAndDelivered(string paths)
    {
        var service = fixture[paths];
        var file = Path.Combine(TempDir.Create("upload"), "data.txt");
        await File.WriteAllTextAsync(file, string.Concat(Enumerable.Repeat("0123456789", 30000)));
        var result = await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "-H", "Transfer-Encoding: chunked",
            "--data-binary", "@" + file, "http://allowed.test/echo");
        Assert.Equal(200, result.HttpCode);
        Assert.Equal(300000, result.Body.Length);
        Assert.StartsWith("0123456789", result.Body);
    }

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task Download_50MegabytesThroughHttpClient_IsStreamedNotBuffered(string paths)
    {
        var service = fixture[paths];
        using var client = service.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var response = await client.GetAsync("http://allowed.test/gated", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        var buffer = new byte[64 * 1024];
        long total = 0;
        // The origin holds back 49 MB until we have seen the first megabyte: a buffering proxy never delivers it.
        while (total < TestOrigin.GatedFirst)
        {
            int n = await stream.ReadAsync(buffer, cts.Token);
            Assert.True(n > 0, "stream ended early");
            total += n;
        }
        fixture.OriginOf(paths).ReleaseGate();
        while (true)
        {
            int n = await stream.ReadAsync(buffer, cts.Token);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        Assert.Equal(TestOrigin.GatedTotal, total);
    }

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task Download_50MegabytesThroughCurl_ArrivesComplete(string paths)
    {
        var service = fixture[paths];
        var result = await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "http://allowed.test/big?mb=50");
        Assert.Equal(200, result.HttpCode);
        Assert.Equal(50 * 1024 * 1024, result.Body.Length);
    }

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task Forward_HopByHopHeaders_AreDroppedAndViaAdded(string paths)
    {
        var service = fixture[paths];
        await using var raw = await RawClient.ConnectAsync(service.ProxyEndPoint);
        await raw.SendAsync("GET http://allowed.test/headers HTTP/1.1\r\nHost: allowed.test\r\nConnection: X-Secret-Hop\r\n" +
            "X-Secret-Hop: drop-me\r\nProxy-Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-End-To-End: keep-me\r\n\r\n");
        var head = await raw.ReadHeadAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 200", head);
        Assert.Contains("Via: 1.1 school-filter", head);
        Assert.DoesNotContain("X-Origin-Hop", head);
        var length = int.Parse(head.Split("\r\n").First(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))[15..].Trim());
        var body = new byte[length];
        await raw.Stream.ReadExactlyAsync(body, new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        var text = Encoding.ASCII.GetString(body);
        Assert.Contains("X-End-To-End: keep-me", text);
        Assert.Contains("Via: 1.1 school-filter", text);
        Assert.False(text.Contains("X-Secret-Hop"), text);
        Assert.DoesNotContain("Proxy-Connection", text);
        Assert.DoesNotContain("Keep-Alive", text);

        if (!FastPath.Named(paths).Lean)
        {
            // Kestrel's parser: a Connection header naming an extension token is kept whole by adding "close" (see
            // ConnectionHeaderEncoding), so the connection ends after this response, as that class documents.
            Assert.Contains("\r\nConnection: close\r\n", head);
            var (rest, closed) = await raw.ReadAllAsync(TimeSpan.FromSeconds(10));
            Assert.True(closed && rest.Length == 0, rest);
            return;
        }
        // The lean stage: keep-alive, a second request on the same connection is answered too.
        await raw.SendAsync("GET http://allowed.test/hello HTTP/1.1\r\nHost: allowed.test\r\n\r\n");
        var second = await raw.ReadHeadAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 200", second);
    }

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task Connect_SecondOnKeepAliveConnection_Gets405AndClose(string paths)
    {
        var service = fixture[paths];
        await using var raw = await RawClient.ConnectAsync(service.ProxyEndPoint);
        await raw.SendAsync("GET http://allowed.test/hello HTTP/1.1\r\nHost: allowed.test\r\n\r\n");
        var first = await raw.ReadHeadAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 200", first);
        var length = int.Parse(first.Split("\r\n").First(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))[15..].Trim());
        await raw.Stream.ReadExactlyAsync(new byte[length], new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        await raw.SendAsync("CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test:443\r\n\r\n");
        var (text, closed) = await raw.ReadAllAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 405", text);
        Assert.True(closed);
    }

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task Get_UpstreamRefusesConnection_Gets502(string paths)
    {
        var service = fixture[paths];
        var result = await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "http://127.0.0.1:1/");
        Assert.Equal(502, result.HttpCode);
    }

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task Get_OriginFormToProxyPort_IsNotForwarded(string paths)
    {
        var service = fixture[paths];
        var result = await Curl.RunAsync($"http://127.0.0.1:{service.ProxyPort}/hello");
        Assert.Equal(400, result.HttpCode);
    }
}
