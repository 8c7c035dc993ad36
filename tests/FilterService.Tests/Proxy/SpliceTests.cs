using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// The two managed tunnel splices on real sockets: <see cref="Tunnel"/> (Kestrel's pipes both ways, Proxy:SocketSplice
/// false) and <see cref="SocketSplice"/> (the origin's bytes straight to the client's socket, true). The client side
/// is what Kestrel hands the splice: an input pipe the test fills as Kestrel's receive loop would, and either an output
/// pipe (false) or the client's connected socket (true). The idle deadline runs on a manual clock.
/// </summary>
public sealed class SpliceTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(10);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Splice_BytesBothWays_ArriveIntactAndAreCounted(bool socketSplice)
    {
        await using var rig = await Rig.StartAsync(socketSplice);
        var request = Bytes(100_000, seed: 1);
        var response = Bytes(300_000, seed: 2);
        await rig.SendFromClientAsync(request);
        Assert.Equal(request, (await rig.ReadAtOriginAsync(request.Length)).Data);
        var sending = rig.Origin.SendAsync(response, SocketFlags.None);
        Assert.Equal(response, (await rig.ReadAtClientAsync(response.Length)).Data);
        await sending;
        rig.Origin.Shutdown(SocketShutdown.Send);

        Assert.True((await rig.ReadAtClientAsync(1)).Ended, "the origin's FIN ends the client's side");
        Assert.Equal((100_000L, 300_000L), await rig.Splice.WaitAsync(Wait));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Splice_ClientHalfCloses_OriginSeesEndAndResponseIsStillDelivered(bool socketSplice)
    {
        await using var rig = await Rig.StartAsync(socketSplice);
        await rig.SendFromClientAsync("request"u8.ToArray());
        await rig.FinishClientAsync();
        var atOrigin = await rig.ReadAtOriginAsync(100);
        Assert.Equal("request"u8.ToArray(), atOrigin.Data);
        Assert.True(atOrigin.Ended, "the client's FIN reaches the origin");
        Assert.False(rig.Splice.IsCompleted, "a half-closed tunnel still carries the response");

        await rig.Origin.SendAsync("response"u8.ToArray(), SocketFlags.None);
        rig.Origin.Shutdown(SocketShutdown.Send);
        var atClient = await rig.ReadAtClientAsync(100);
        Assert.Equal("response"u8.ToArray(), atClient.Data);
        Assert.True(atClient.Ended);
        Assert.Equal((7L, 8L), await rig.Splice.WaitAsync(Wait));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Splice_IdleForTheDeadline_Ends_AndTrafficPushesTheDeadlineBack(bool socketSplice)
    {
        await using var rig = await Rig.StartAsync(socketSplice);
        rig.Clock.Advance(Idle - TimeSpan.FromMinutes(1));
        await rig.Origin.SendAsync("ping"u8.ToArray(), SocketFlags.None); // re-arms the deadline before it reaches the client
        Assert.Equal("ping"u8.ToArray(), (await rig.ReadAtClientAsync(4)).Data);
        rig.Clock.Advance(Idle - TimeSpan.FromMinutes(1));
        await AssertStillRunningAsync(rig.Splice);

        rig.Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal((0L, 4L), await rig.Splice.WaitAsync(Wait));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Splice_ServerAsksConnectionsToClose_Ends(bool socketSplice)
    {
        await using var rig = await Rig.StartAsync(socketSplice);
        await rig.SendFromClientAsync("hello"u8.ToArray());
        Assert.Equal("hello"u8.ToArray(), (await rig.ReadAtOriginAsync(5)).Data);
        await AssertStillRunningAsync(rig.Splice);

        rig.CloseRequested.Cancel();
        Assert.Equal((5L, 0L), await rig.Splice.WaitAsync(Wait));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Splice_ClientGoneWhileOriginSends_EndsTheTunnel(bool socketSplice)
    {
        await using var rig = await Rig.StartAsync(socketSplice);
        rig.AbortClient();
        // The origin keeps talking; the splice must notice the client is gone rather than buffer forever.
        var chunk = Bytes(64 * 1024, seed: 3);
        using var cts = new CancellationTokenSource(Wait);
        while (!rig.Splice.IsCompleted && !cts.IsCancellationRequested)
        {
            try
            {
                await rig.Origin.SendAsync(chunk, SocketFlags.None, cts.Token);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                break;
            }
        }
        await rig.Splice.WaitAsync(Wait);
    }

    private static async Task AssertStillRunningAsync(Task splice)
    {
        // A negative check needs a bounded look: the splice must not end within this short while.
        var first = await Task.WhenAny(splice, Task.Delay(TimeSpan.FromMilliseconds(200)));
        Assert.NotSame(splice, first);
    }

    private static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task<(Socket Near, Socket Far)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var far = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(Wait);
        await far.ConnectAsync(listener.LocalEndPoint!, cts.Token);
        var near = await listener.AcceptAsync(cts.Token);
        return (near, far);
    }

    private static async Task<(byte[] Data, bool Ended)> ReceiveAsync(Socket socket, int count)
    {
        var data = new MemoryStream();
        var buffer = new byte[64 * 1024];
        using var cts = new CancellationTokenSource(Wait);
        while (data.Length < count)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count - data.Length)), SocketFlags.None, cts.Token);
            if (n == 0)
            {
                return (data.ToArray(), true);
            }
            data.Write(buffer, 0, n);
        }
        return (data.ToArray(), false);
    }

    /// <summary>One tunnel under test: the client's side as Kestrel presents it, the upstream socket and the origin's end of it.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly Pipe _clientIn = new();
        private readonly Pipe _clientOut = new();
        private Socket? _clientSocket; // the proxy's end of the client's connection (socket splice)
        private Socket? _clientPeer; // the client's own end
        private Socket _upstream = null!;

        public Socket Origin { get; private set; } = null!;
        public FakeTime Clock { get; } = new(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero), manualTimers: true);
        public CancellationTokenSource CloseRequested { get; } = new();
        public Task<(long FromClient, long ToClient)> Splice { get; private set; } = null!;

        public static async Task<Rig> StartAsync(bool socketSplice)
        {
            var rig = new Rig();
            (rig.Origin, rig._upstream) = await PairAsync(); // the origin accepts, the proxy connects
            if (socketSplice)
            {
                (rig._clientSocket, rig._clientPeer) = await PairAsync();
                rig.Splice = SocketSplice.SpliceAsync(rig._clientIn.Reader, rig._clientSocket, rig._upstream, Idle, rig.Clock, rig.CloseRequested.Token);
            }
            else
            {
                rig.Splice = Tunnel.SpliceAsync(new DuplexPipe(rig._clientIn.Reader, rig._clientOut.Writer), rig._upstream, Idle, rig.Clock,
                    rig.CloseRequested.Token);
            }
            return rig;
        }

        public Task SendFromClientAsync(byte[] data) => _clientIn.Writer.WriteAsync(data).AsTask();

        public Task FinishClientAsync() => _clientIn.Writer.CompleteAsync().AsTask();

        /// <summary>The client vanishes: a reset on its socket, or Kestrel's output pipe reader completing.</summary>
        public void AbortClient()
        {
            if (_clientPeer is not null)
            {
                _clientPeer.LingerState = new LingerOption(true, 0);
                _clientPeer.Close();
            }
            else
            {
                _clientOut.Reader.Complete();
            }
            _clientIn.Writer.Complete(new IOException("client reset"));
        }

        public Task<(byte[] Data, bool Ended)> ReadAtOriginAsync(int count) => ReceiveAsync(Origin, count);

        public async Task<(byte[] Data, bool Ended)> ReadAtClientAsync(int count)
        {
            if (_clientPeer is not null)
            {
                return await ReceiveAsync(_clientPeer, count);
            }
            var data = new MemoryStream();
            using var cts = new CancellationTokenSource(Wait);
            while (data.Length < count)
            {
                var result = await _clientOut.Reader.ReadAsync(cts.Token);
                var take = result.Buffer.Slice(0, Math.Min(result.Buffer.Length, count - data.Length));
                foreach (var segment in take)
                {
                    data.Write(segment.Span);
                }
                _clientOut.Reader.AdvanceTo(take.End);
                if (result.IsCompleted && take.Length == result.Buffer.Length)
                {
                    return (data.ToArray(), data.Length < count);
                }
            }
            return (data.ToArray(), false);
        }

        public async ValueTask DisposeAsync()
        {
            CloseRequested.Cancel();
            await Splice.WaitAsync(Wait).ContinueWith(_ => { });
            _upstream.Dispose();
            Origin.Dispose();
            _clientSocket?.Dispose();
            _clientPeer?.Dispose();
            CloseRequested.Dispose();
        }
    }

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
