using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// Tunnels Kestrel carries (Proxy:TunnelLoop false, as on Windows) through the running service, with Proxy:SocketSplice
/// on (the origin's bytes sent straight to the client's socket) and off (Kestrel's pipes both ways).
/// </summary>
public sealed class SocketSpliceServiceTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Connect_ThroughKestrel_TunnelsBothWaysAndRecordsTheBytes(bool socketSplice)
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await RunningService.StartAsync(Samples.DefaultDir, origin, "--Proxy:TunnelLoop=false",
            $"--Proxy:SocketSplice={socketSplice}");
        using var client = service.CreateClient(ignoreTls: true);
        var body = new string('x', 200_000);
        using var response = await client.PostAsync("https://secure.test/echo", new StringContent(body));
        Assert.Equal(body, await response.Content.ReadAsStringAsync());
        client.Dispose(); // closes the tunnel, which writes its record

        var record = await service.WaitForAuditAsync(r => r.Str("method") == "CONNECT" && r.Str("url") == "secure.test:443" && r.Int("status") == 200,
            "the tunnel");
        Assert.True(record.Long("bytes_in") > 200_000, $"bytes_in {record.Long("bytes_in")}");
        Assert.True(record.Long("bytes_out") > 200_000, $"bytes_out {record.Long("bytes_out")}");
    }
}
