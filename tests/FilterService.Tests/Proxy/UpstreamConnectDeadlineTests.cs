using System.Net;
using System.Net.Sockets;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary><c>Proxy:UpstreamConnectTimeout</c> runs on the injected clock, like every other deadline of the proxy.</summary>
public sealed class UpstreamConnectDeadlineTests
{
    [Fact]
    public async Task ConnectAsync_AnOriginThatNeverAnswers_TimesOutWhenTheInjectedClockPassesTheDeadline()
    {
        // A listener whose accept queue is full: the kernel drops further SYNs, so a connect neither completes nor fails.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var origin = (IPEndPoint)listener.LocalEndPoint!;
        var fillers = new List<Socket>();
        try
        {
            for (int i = 0; i < 8; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                var connecting = filler.ConnectAsync(origin);
                if (await Task.WhenAny(connecting, Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System)) != connecting)
                {
                    break; // this one hangs: the queue is full
                }
            }

            var listeners = new ListenerRegistry();
            listeners.Set([new IPEndPoint(IPAddress.Parse("10.1.2.3"), 3128)], []);
            var options = new ProxyOptions { AllowLoopbackUpstream = true, UpstreamConnectTimeout = TimeSpan.FromSeconds(60) };
            var time = new FakeTime(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero), manualTimers: true);
            var connector = new UpstreamConnector(options, listeners, time);

            var connect = connector.ConnectAsync("127.0.0.1", origin.Port, CancellationToken.None).AsTask();
            Assert.True(time.WaitUntilArmed(1, TimeSpan.FromSeconds(10)), "the connect armed no deadline on the injected clock");
            Assert.False(connect.IsCompleted, $"the connect ended ({connect.Status}) before the clock moved");
            time.Advance(TimeSpan.FromSeconds(60) - TimeSpan.FromTicks(1));
            Assert.False(connect.IsCompleted, $"the connect ended ({connect.Status}) before the clock reached the deadline");

            time.Advance(TimeSpan.FromTicks(1));
            var (socket, error, remote) = await connect.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);

            Assert.Null(socket);
            Assert.Equal(UpstreamError.Timeout, error);
            Assert.Equal(origin, remote);
        }
        finally
        {
            foreach (var filler in fillers)
            {
                filler.Dispose();
            }
        }
    }
}
