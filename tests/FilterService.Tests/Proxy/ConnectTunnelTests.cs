using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

public sealed class ConnectTunnelTests(ProxyFixture fixture) : IClassFixture<ProxyFixture>
{
    private RunningService Service => fixture.Service;

    [Fact]
    public async Task Connect_CurlToLocalTlsOrigin_TunnelsAndIsAudited()
    {
        var result = await Curl.RunAsync("-k", "--proxy", Service.ProxyUri.ToString(), "https://secure.test/hello");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(200, result.HttpCode);
        Assert.Equal(200, result.ConnectCode);
        Assert.Contains("Hello from the origin", result.Body);
        var record = await Service.WaitForAuditAsync(r => r.Str("method") == "CONNECT" && r.Str("url") == "secure.test:443" && r.Int("status") == 200, "the tunnel");
        Assert.Equal("allow", record.Str("action"));
        Assert.True(record.Long("bytes_in") > 0);
        Assert.True(record.Long("bytes_out") > 0);
    }

    [Fact]
    public async Task Connect_HttpClientToLocalTlsOrigin_PostsThroughTunnel()
    {
        using var client = Service.CreateClient(ignoreTls: true);
        using var response = await client.PostAsync("https://secure.test/echo", new StringContent("through the tunnel"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("through the tunnel", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Connect_SniDifferentFromConnectHost_IsClosedAndLogged()
    {
        await using var raw = await RawClient.ConnectAsync(Service.ProxyEndPoint);
        await raw.SendAsync("CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test:443\r\n\r\n");
        var head = await raw.ReadHeadAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 200", head);
        using var tls = new SslStream(raw.Stream, leaveInnerStreamOpen: true, (_, _, _, _) => true);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<Exception>(() => tls.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions { TargetHost = "www.example.org" }, cts.Token));
        var record = await Service.WaitForAuditAsync(r => r.Str("rule") == "sni-mismatch", "the SNI mismatch");
        Assert.Equal("block", record.Str("action"));
        Assert.Equal("secure.test:443", record.Str("url"));
    }

    [Fact]
    public async Task Connect_PlainBytesInsteadOfTls_AreNotTunnelled()
    {
        await using var raw = await RawClient.ConnectAsync(Service.ProxyEndPoint);
        await raw.SendAsync("CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test:443\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", await raw.ReadHeadAsync(TimeSpan.FromSeconds(10)));
        await raw.SendAsync("GET / HTTP/1.1\r\nHost: secure.test\r\n\r\n");
        var (text, closed) = await raw.ReadAllAsync(TimeSpan.FromSeconds(10));
        Assert.True(closed);
        Assert.Equal("", text);
        await Service.WaitForAuditAsync(r => r.Str("rule") == "tunnel-not-tls", "the non-TLS tunnel");
    }

    [Fact]
    public async Task Connect_ToPortOtherThan443_Gets403()
    {
        var result = await Curl.RunAsync("-k", "--proxy", Service.ProxyUri.ToString(), "https://secure.test:8443/hello");
        Assert.Equal(403, result.ConnectCode);
        await Service.WaitForAuditAsync(r => r.Str("rule") == "connect-port" && r.Str("url") == "secure.test:8443", "the port refusal");
    }
}
