using System.Net;
using System.Net.Http.Headers;
using System.Text;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

public sealed class HttpForwardingTests(ProxyFixture fixture) : IClassFixture<ProxyFixture>
{
    private RunningService Service => fixture.Service;

    [Fact]
    public async Task Get_AllowedThroughCurl_ReturnsOriginPage()
    {
        var result = await Curl.RunAsync("--proxy", Service.ProxyUri.ToString(), "http://allowed.test/hello");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(200, result.HttpCode);
        Assert.Contains("Hello from the origin", result.Body);
        Assert.Contains("host allowed.test", result.Body);
        var record = await Service.WaitForAuditAsync(r => r.Str("url") == "http://allowed.test/hello", "the allowed GET");
        Assert.Equal("allow", record.Str("action"));
        Assert.Equal(200, record.Int("status"));
        Assert.Equal("default", record.Str("rule"));
        Assert.True(record.Long("bytes_out") > 0);
    }

    [Fact]
    public async Task Post_WithBodyThroughHttpClient_ReachesOriginIntact()
    {
        using var client = Service.CreateClient();
        var body = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("pupil homework ", 5000)));
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using var response = await client.PostAsync("http://allowed.test/echo", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(body.Length.ToString(), response.Headers.GetValues("X-Request-Length").Single());
        var record = await Service.WaitForAuditAsync(r => r.Str("method") == "POST" && r.Long("bytes_in") == body.Length, "the POST");
        Assert.Equal(body.Length, record.Long("bytes_out"));
    }

    [Fact]
    public async Task Post_ChunkedUploadThroughCurl_IsReframedAndDelivered()
    {
        var file = Path.Combine(TempDir.Create("upload"), "data.txt");
        await File.WriteAllTextAsync(file, string.Concat(Enumerable.Repeat("0123456789", 30000)));
        var result = await Curl.RunAsync("--proxy", Service.ProxyUri.ToString(), "-H", "Transfer-Encoding: chunked",
            "--data-binary", "@" + file, "http://allowed.test/echo");
        Assert.Equal(200, result.HttpCode);
        Assert.Equal(300000, result.Body.Length);
        Assert.StartsWith("0123456789", result.Body);
    }

    [Fact]
    public async Task Download_50MegabytesThroughHttpClient_IsStreamedNotBuffered()
    {
        using var client = Service.CreateClient();
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
        fixture.Origin.ReleaseGate();
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

    [Fact]
    public async Task Download_50MegabytesThroughCurl_ArrivesComplete()
    {
        var result = await Curl.RunAsync("--proxy", Service.ProxyUri.ToString(), "http://allowed.test/big?mb=50");
        Assert.Equal(200, result.HttpCode);
        Assert.Equal(50 * 1024 * 1024, result.Body.Length);
    }

    [Fact]
    public async Task Forward_HopByHopHeaders_AreDroppedAndViaAdded()
    {
        await using var raw = await RawClient.ConnectAsync(Service.ProxyEndPoint);
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

        // Keep-alive: a second request on the same connection is answered too.
        await raw.SendAsync("GET http://allowed.test/hello HTTP/1.1\r\nHost: allowed.test\r\n\r\n");
        var second = await raw.ReadHeadAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 200", second);
    }

    [Fact]
    public async Task Connect_SecondOnKeepAliveConnection_Gets405AndClose()
    {
        await using var raw = await RawClient.ConnectAsync(Service.ProxyEndPoint);
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

    [Fact]
    public async Task Get_UpstreamRefusesConnection_Gets502()
    {
        var result = await Curl.RunAsync("--proxy", Service.ProxyUri.ToString(), "http://127.0.0.1:1/");
        Assert.Equal(502, result.HttpCode);
    }

    [Fact]
    public async Task Get_OriginFormToProxyPort_IsNotForwarded()
    {
        var result = await Curl.RunAsync($"http://127.0.0.1:{Service.ProxyPort}/hello");
        Assert.Equal(400, result.HttpCode);
    }
}
