using System.Net;
using System.Net.Sockets;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>The lean HTTP stage's upstream pool keeps idle connections for <see cref="UpstreamPool.IdleTimeout"/> on the injected clock.</summary>
public sealed class UpstreamPoolClockTests
{
    [Fact]
    public async Task TryRent_IdleJustUnderTheTimeout_ReusesIt_AndAtTheTimeout_ClosesIt()
    {
        var time = new FakeTime(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero));
        using var pool = new UpstreamPool(time);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var remote = (IPEndPoint)listener.LocalEndPoint!;

        var first = await ConnectedAsync(remote, time);
        pool.Return("origin.test", 80, first);
        time.Advance(UpstreamPool.IdleTimeout - TimeSpan.FromSeconds(1));
        Assert.Same(first, pool.TryRent("origin.test", 80));
        Assert.Null(pool.TryRent("origin.test", 80)); // rented: no longer idle

        pool.Return("origin.test", 80, first);
        time.Advance(UpstreamPool.IdleTimeout);
        Assert.Null(pool.TryRent("origin.test", 80));
        Assert.Throws<ObjectDisposedException>(() => first.Socket.Send(new byte[1])); // expired: closed, not leaked
    }

    private static async Task<UpstreamConnection> ConnectedAsync(IPEndPoint remote, TimeProvider time)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(remote).WaitAsync(TimeSpan.FromSeconds(10));
        return new UpstreamConnection(socket, remote, time);
    }
}
