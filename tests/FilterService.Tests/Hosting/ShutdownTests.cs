using System.Diagnostics;
using System.Net.Security;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Hosting;

public sealed class ShutdownTests
{
    [Fact]
    public async Task Stop_WithAnOpenTunnel_ClosesItPromptlyAndAuditsIt()
    {
        await using var origin = await TestOrigin.StartAsync();
        var service = await RunningService.StartAsync(Samples.DefaultDir, origin, "--Proxy:ShutdownTimeout=00:00:05");
        await using var raw = await RawClient.ConnectAsync(service.ProxyEndPoint);
        await raw.SendAsync("CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test:443\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", await raw.ReadHeadAsync(TimeSpan.FromSeconds(10)));
        using var tls = new SslStream(raw.Stream, leaveInnerStreamOpen: true, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "secure.test" }, new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);

        var stopwatch = Stopwatch.StartNew();
        await service.App.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        // Under the 5 s shutdown timeout: the tunnel ended because it honours ConnectionClosedRequested, not because Kestrel gave up on it.
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(4), $"stop took {stopwatch.Elapsed}");
        var buffer = new byte[16];
        using var read = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n = await tls.ReadAsync(buffer, read.Token).AsTask().ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : 0);
        Assert.Equal(0, n);
        var r = await service.WaitForAuditAsync(r => r.Str("url") == "secure.test:443" && r.Int("status") == 200, "the closed tunnel");
        Assert.True(r.Long("bytes_out") > 0);
        await service.DisposeAsync();
    }
}
