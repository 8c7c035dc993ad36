using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace FilterService.Proxy;

/// <summary>
/// Splices a client connection's pipe and an upstream socket both ways until both directions finish, the
/// tunnel idles out, either side fails, or the server asks connections to close (graceful shutdown).
/// A finished direction half-closes the other side, so request-then-EOF protocols work.
/// </summary>
internal static class Tunnel
{
    private const int ReceiveBlock = 64 * 1024;

    public static async Task<(long FromClient, long ToClient)> SpliceAsync(IDuplexPipe client, Socket upstream, TimeSpan idle,
        CancellationToken closed, CancellationToken closeRequested)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(closed, closeRequested);
        cts.CancelAfter(idle);
        var counters = new long[2];
        var up = ClientToUpstreamAsync(client.Input, upstream, counters, cts, idle);
        var down = UpstreamToClientAsync(upstream, client.Output, counters, cts, idle);
        // The client finishing first is a half-close: keep delivering the response. Upstream finishing first, or
        // either side failing, ends the tunnel.
        var first = await Task.WhenAny(up, down);
        if (first == down || !first.Result)
        {
            cts.Cancel();
        }
        await Task.WhenAll(up, down);
        return (Interlocked.Read(ref counters[0]), Interlocked.Read(ref counters[1]));
    }

    private static async Task<bool> ClientToUpstreamAsync(PipeReader input, Socket upstream, long[] counters, CancellationTokenSource cts, TimeSpan idle)
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
                if (result.IsCompleted || result.IsCanceled)
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
