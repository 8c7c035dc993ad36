using System.Buffers;
using static FilterService.Proxy.Libc;

namespace FilterService.Proxy;

/// <summary>The tunnel loop's Splice step: bytes both ways, socket to socket, with back-pressure through TCP.</summary>
internal sealed unsafe partial class TunnelLoop
{
    /// <summary>One direction of a tunnel: what arrived from its source and could not yet be sent on.</summary>
    private struct Flow
    {
        public bool SourceReadable;
        /// <summary>The source sent its FIN (or failed): read on to the 0 however short the reads, as no new edge will come.</summary>
        public bool SourceHungUp;
        public bool TargetWritable;
        public bool Ended;
        public bool ShutDown;
        public byte[]? Pending;
        public int PendingAt;
        public int PendingLength;
        public long Bytes;
    }

    /// <summary>Moves what it can both ways; ends the tunnel when upstream has finished (or either side failed).</summary>
    private void Pump(Conn c)
    {
        long before = c.Up.Bytes + c.Down.Bytes;
        var down = Move(ref c.Down, c.UpstreamFd, c.ClientFd, halfClose: false);
        var up = down == Moved.Failed ? Moved.Failed : Move(ref c.Up, c.ClientFd, c.UpstreamFd, halfClose: true);
        if (down is Moved.Failed or Moved.Finished || up == Moved.Failed)
        {
            // The client finishing first is a half-close: the response is still delivered. Upstream finishing first,
            // or either side failing, ends the tunnel (Tunnel.SpliceAsync's rule).
            End(c);
            return;
        }
        if (c.Up.Bytes + c.Down.Bytes != before)
        {
            c.Due = DueIn(_idleTicks);
        }
    }

    private enum Moved
    {
        Waiting,
        Finished,
        Failed,
    }

    /// <summary>Sends what is pending, then relays from <paramref name="source"/> until it would block, ends or fails.</summary>
    /// <param name="halfClose">Pass the source's end on to the target with a shutdown; not needed when the tunnel ends (closes) with it.</param>
    private Moved Move(ref Flow f, int source, int target, bool halfClose)
    {
        while (true)
        {
            if (f.PendingLength > 0)
            {
                if (!f.TargetWritable)
                {
                    return Moved.Waiting;
                }
                nint sent;
                fixed (byte* p = f.Pending)
                {
                    sent = send(target, p + f.PendingAt, f.PendingLength, MSG_NOSIGNAL);
                }
                if (sent < 0)
                {
                    if (Errno != EAGAIN)
                    {
                        return Moved.Failed;
                    }
                    f.TargetWritable = false;
                    return Moved.Waiting;
                }
                f.PendingAt += (int)sent;
                f.PendingLength -= (int)sent;
                if (f.PendingLength > 0)
                {
                    continue; // the next send says whether the socket is full
                }
                ArrayPool<byte>.Shared.Return(f.Pending!);
                f.Pending = null;
            }
            if (f.Ended)
            {
                if (halfClose && !f.ShutDown)
                {
                    f.ShutDown = true;
                    shutdown(target, SHUT_WR);
                }
                return Moved.Finished;
            }
            if (!f.SourceReadable)
            {
                return Moved.Waiting;
            }
            nint n = recv(source, _bufferPtr, BufferSize, 0);
            if (n < 0)
            {
                if (Errno != EAGAIN)
                {
                    return Moved.Failed;
                }
                f.SourceReadable = false;
                return Moved.Waiting;
            }
            if (n == 0)
            {
                f.Ended = true;
                continue;
            }
            f.Bytes += n;
            if (n < BufferSize && !f.SourceHungUp)
            {
                // Drained: edge-triggered, the next arrival raises a new event. Not after a FIN: its edge has come
                // already (perhaps with this very data), so the next read must be the one that returns 0.
                f.SourceReadable = false;
            }
            nint s = 0;
            if (f.TargetWritable)
            {
                s = send(target, _bufferPtr, n, MSG_NOSIGNAL);
                if (s < 0)
                {
                    if (Errno != EAGAIN)
                    {
                        return Moved.Failed;
                    }
                    s = 0;
                    f.TargetWritable = false;
                }
            }
            if (s < n)
            {
                int rest = (int)(n - s);
                f.Pending = ArrayPool<byte>.Shared.Rent(rest);
                _buffer.AsSpan((int)s, rest).CopyTo(f.Pending);
                f.PendingAt = 0;
                f.PendingLength = rest;
            }
        }
    }

    /// <summary>Records a spliced tunnel and closes it.</summary>
    private void End(Conn c)
    {
        _flow.Spliced(c.Request, c.Judged, c.Remote!, c.Up.Bytes, c.Down.Bytes);
        c.Active.Dispose();
        Close(c);
    }

    private static void ReturnPending(ref Flow f)
    {
        if (f.Pending is { } pending)
        {
            f.Pending = null;
            ArrayPool<byte>.Shared.Return(pending);
        }
    }
}
