using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace FilterService.Proxy;

/// <summary>
/// The tunnel splice on Kestrel's own socket transport (Proxy:SocketSplice): the client's bytes still arrive through
/// Kestrel's input pipe (its receive loop owns the client socket's reads and offers no supported way to stop them),
/// but the origin's bytes are sent straight to the client's <see cref="Socket"/> (IConnectionSocketFeature), skipping
/// Kestrel's output pipe and its send loop. Managed code only: no libc, no unsafe, the same on Windows and Linux.
/// Ends as <see cref="Tunnel"/> does: the client's FIN half-closes upstream and the response is still delivered; the
/// origin's FIN (or either side failing) ends the tunnel; the idle deadline and server shutdown end it too.
/// </summary>
/// <remarks>
/// Writing past Kestrel's output pipe is safe only if nothing written to that pipe is still waiting for Kestrel's send
/// loop: so nothing is written to it at all for such a tunnel, and the 200 goes straight to the socket too
/// (<see cref="Tunnel.DirectSocket"/>), before this splice starts. The client may send its ClientHello in the CONNECT's
/// own write and an origin may speak first, so no ordering of the client's or the origin's bytes can be relied on: a 200
/// left in the pipe was overtaken by the origin's first bytes.
/// </remarks>
internal static class SocketSplice
{
    private const int ReceiveBlock = 64 * 1024;

    public static async Task<(long FromClient, long ToClient)> SpliceAsync(PipeReader clientInput, Socket client, Socket upstream, TimeSpan idle,
        TimeProvider time, CancellationToken closeRequested)
    {
        using var cts = new CancellationTokenSource(idle, time);
        using var shutdown = closeRequested.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), cts);
        var counters = new long[2];
        var up = Tunnel.ClientToUpstreamAsync(clientInput, upstream, counters, cts, idle);
        var down = UpstreamToClientAsync(upstream, client, counters, cts, idle);
        var first = await Task.WhenAny(up, down);
        if (first == down)
        {
            clientInput.CancelPendingRead();
        }
        else if (!first.Result)
        {
            Tunnel.Stop(upstream);
        }
        await Task.WhenAll(up, down);
        return (Interlocked.Read(ref counters[0]), Interlocked.Read(ref counters[1]));
    }

    private static async Task<bool> UpstreamToClientAsync(Socket upstream, Socket client, long[] counters, CancellationTokenSource cts, TimeSpan idle)
    {
        byte[]? block = null;
        try
        {
            while (true)
            {
                // An idle tunnel holds no block: wait for data first, and give the block back while waiting.
                if (upstream.Available == 0)
                {
                    if (block is not null)
                    {
                        ArrayPool<byte>.Shared.Return(block);
                        block = null;
                    }
                    await upstream.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cts.Token);
                }
                block ??= ArrayPool<byte>.Shared.Rent(ReceiveBlock);
                int n = await upstream.ReceiveAsync(block.AsMemory(), SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    client.Shutdown(SocketShutdown.Send);
                    return true;
                }
                Interlocked.Add(ref counters[1], n);
                cts.CancelAfter(idle);
                int sent = 0;
                while (sent < n)
                {
                    sent += await client.SendAsync(block.AsMemory(sent, n - sent), SocketFlags.None, cts.Token);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (block is not null)
            {
                ArrayPool<byte>.Shared.Return(block);
            }
        }
    }
}
