using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace FilterService.Proxy;

/// <summary>
/// Splices a client connection's pipe and an upstream socket both ways until both directions finish, the
/// tunnel idles out, either side fails, or the server asks connections to close (graceful shutdown).
/// A finished direction half-closes the other side, so request-then-EOF protocols work.
/// </summary>
internal static class Tunnel
{
    private const int ReceiveBlock = 64 * 1024;

    /// <summary>
    /// The client's socket that <see cref="SocketSplice"/> sends the origin's bytes to, when <paramref name="socketSplice"/>
    /// and the connection is on Kestrel's socket transport; else null (the pipe splice). Whatever goes to the client before
    /// such a splice (the 200) must go to this socket too: Kestrel's send loop sends what is written to its output pipe
    /// later, on another thread, so the splice's first origin bytes could overtake it.
    /// </summary>
    public static Socket? DirectSocket(ConnectionContext connection, bool socketSplice) =>
        socketSplice ? connection.Features.Get<IConnectionSocketFeature>()?.Socket : null;

    /// <summary>
    /// Splices <paramref name="connection"/> and <paramref name="upstream"/>: with a <paramref name="directSocket"/> (from
    /// <see cref="DirectSocket"/>), through <see cref="SocketSplice"/> (the origin's bytes sent straight to the client's
    /// socket); otherwise through the connection's pipes. The idle deadline runs on <paramref name="time"/>.
    /// </summary>
    public static Task<(long FromClient, long ToClient)> SpliceAsync(ConnectionContext connection, Socket upstream, TimeSpan idle, Socket? directSocket,
        TimeProvider time, CancellationToken closeRequested) =>
        directSocket is null
            ? SpliceAsync(connection.Transport, upstream, idle, time, closeRequested)
            : SocketSplice.SpliceAsync(connection.Transport.Input, directSocket, upstream, idle, time, closeRequested);

    /// <remarks>
    /// The usual ends are exception-free: the client's FIN completes its pipe, the origin's FIN (or reset) ends the
    /// receive with 0, and the other direction is then stopped by cancelling the pipe read or shutting the socket down,
    /// never by cancelling a token. A cancelled socket operation throws and completes on the thread pool, and Kestrel
    /// signals its <c>ConnectionClosed</c> token on every client close, so the previous linked token cost an
    /// exception and a thread-pool hop per tunnel (bench/load/profile.py tunnels --perf). The token now carries only
    /// the idle timeout and server shutdown, which are rare.
    /// </remarks>
    public static async Task<(long FromClient, long ToClient)> SpliceAsync(IDuplexPipe client, Socket upstream, TimeSpan idle,
        TimeProvider time, CancellationToken closeRequested)
    {
        using var cts = new CancellationTokenSource(idle, time);
        using var shutdown = closeRequested.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), cts);
        var counters = new long[2];
        var up = ClientToUpstreamAsync(client.Input, upstream, counters, cts, idle);
        var down = UpstreamToClientAsync(upstream, client.Output, counters, cts, idle);
        // The client finishing first is a half-close: keep delivering the response. Upstream finishing first, or
        // either side failing, ends the tunnel.
        var first = await Task.WhenAny(up, down);
        if (first == down)
        {
            client.Input.CancelPendingRead();
        }
        else if (!first.Result)
        {
            Stop(upstream);
        }
        await Task.WhenAll(up, down);
        return (Interlocked.Read(ref counters[0]), Interlocked.Read(ref counters[1]));
    }

    /// <summary>Ends a pending receive on the upstream socket without an exception: it returns 0.</summary>
    internal static void Stop(Socket upstream)
    {
        try
        {
            upstream.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    internal static async Task<bool> ClientToUpstreamAsync(PipeReader input, Socket upstream, long[] counters, CancellationTokenSource cts, TimeSpan idle)
    {
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(cts.Token);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    int sent = 0;
                    while (sent < segment.Length)
                    {
                        sent += await upstream.SendAsync(segment[sent..], SocketFlags.None, cts.Token);
                    }
                }
                if (!buffer.IsEmpty)
                {
                    Interlocked.Add(ref counters[0], buffer.Length);
                    cts.CancelAfter(idle);
                }
                input.AdvanceTo(buffer.End);
                if (result.IsCanceled)
                {
                    return true; // upstream finished first: SpliceAsync stopped this read
                }
                if (result.IsCompleted)
                {
                    try
                    {
                        upstream.Shutdown(SocketShutdown.Send);
                    }
                    catch (SocketException)
                    {
                    }
                    return true;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException
            or Microsoft.AspNetCore.Connections.ConnectionAbortedException)
        {
            return false;
        }
    }

    private static async Task<bool> UpstreamToClientAsync(Socket upstream, PipeWriter output, long[] counters, CancellationTokenSource cts, TimeSpan idle)
    {
        try
        {
            while (true)
            {
                // With nothing to read, wait for data before taking a buffer, as Kestrel does: an idle tunnel holds no
                // block. The block is 64 KB because a download then costs a quarter of the receive and send calls it
                // did with 16 KB (bench/load/profile.py downloads: 6,500 -> 8,800 per proxy CPU-second).
                if (upstream.Available == 0)
                {
                    await upstream.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cts.Token);
                }
                var memory = output.GetMemory(ReceiveBlock);
                int n = await upstream.ReceiveAsync(memory, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    await output.CompleteAsync();
                    return true;
                }
                output.Advance(n);
                Interlocked.Add(ref counters[1], n);
                cts.CancelAfter(idle);
                var flush = await output.FlushAsync(cts.Token);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    return false;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException
            or Microsoft.AspNetCore.Connections.ConnectionAbortedException or InvalidOperationException)
        {
            return false;
        }
    }
}
