using System.Buffers;
using System.Net;
using static FilterService.Proxy.ConnectFlow;
using static FilterService.Proxy.Libc;

namespace FilterService.Proxy;

/// <summary>
/// The tunnel loop's CONNECT steps up to the splice: the I/O of <see cref="ConnectFlow"/>'s Head, Admit, Decide, Resolve,
/// AddressPolicy, Connect, Established and Hello. The flow decides and answers; what the loop cannot carry to the
/// end itself (a refusal, a password to hash, an inspected host) is handed over before the head is consumed.
/// </summary>
internal sealed unsafe partial class TunnelLoop
{
    /// <summary>Head: a CONNECT this loop can carry all the way, or a hand-over with nothing consumed.</summary>
    private void OnHead(Conn c)
    {
        int n = (int)recv(c.ClientFd, _bufferPtr, Math.Min(BufferSize, _proxy.Options.MaxHeadBytes), MSG_PEEK);
        if (n < 0 && Errno == EAGAIN)
        {
            c.Up.SourceReadable = false;
            return;
        }
        if (n <= 0)
        {
            Close(c); // the client left without a word
            return;
        }
        if (n < ConnectPrefix.Length || !_buffer.AsSpan(0, ConnectPrefix.Length).SequenceEqual(ConnectPrefix)
            || ConnectHeadParser.TryParse(new ReadOnlySequence<byte>(_buffer, 0, n), _proxy.Options.MaxHeadBytes, out var head) != HeadError.None
            || !TryTake(c, head!))
        {
            HandOff(c);
        }
    }

    /// <summary>Admit and Decide; true when the tunnel is this loop's to carry, with the head consumed.</summary>
    private bool TryTake(Conn c, ConnectHead head)
    {
        var request = _flow.Begin(c.Client);
        if (!_flow.TryAdmitInline(request, head, out var admit) || admit.Admission != Admission.Admitted)
        {
            return false; // a refusal, or a password to hash: the middleware answers
        }
        request = request.Admitted(admit.User);
        var judged = _flow.Decide(request, head.Authority, record: false);
        if (judged.Verdict != ConnectVerdict.Splice)
        {
            return false; // the middleware judges again through the flow (recording the decision once), raises any alert and answers
        }
        _flow.RecordDecision(judged);
        if (recv(c.ClientFd, _bufferPtr, head.Length, 0) != head.Length)
        {
            Close(c); // cannot happen for peeked bytes; nothing safe to answer if it does
            return true;
        }
        Volatile.Write(ref _carried, _carried + 1);
        c.Request = request;
        c.Judged = judged;
        c.Connecting = _time.GetTimestamp();
        c.Due = c.Connecting + _connectTicks;
        if (_proxy.Upstream.TryResolveInline(judged.ConnectHost!, judged.Port, out var candidates))
        {
            StartConnect(c, candidates);
        }
        else
        {
            c.Step = ConnectStep.Resolve;
            Resolve(c);
        }
        return true;
    }

    /// <summary>Resolve: looks the name up on the thread pool; the answer comes back to the loop thread.</summary>
    private void Resolve(Conn c)
    {
        var timeout = new CancellationTokenSource(_proxy.Options.UpstreamConnectTimeout, _time);
        _proxy.Upstream.ResolveAsync(c.Judged.ConnectHost!, c.Judged.Port, timeout.Token).AsTask().ContinueWith(task =>
        {
            timeout.Dispose();
            var (candidates, error) = task.IsCompletedSuccessfully ? task.Result : ([], UpstreamError.NameNotResolved);
            Post(() =>
            {
                if (c.Step != ConnectStep.Resolve)
                {
                    return; // timed out or the client left meanwhile
                }
                if (error != UpstreamError.None)
                {
                    Fail(c, error, null);
                }
                else
                {
                    StartConnect(c, candidates);
                }
            });
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    /// <summary>AddressPolicy, then Connect.</summary>
    private void StartConnect(Conn c, IPEndPoint[] candidates)
    {
        var (allowed, refused, refusedAt) = _proxy.Upstream.Allow(candidates);
        if (allowed.Length == 0)
        {
            Fail(c, refused, refusedAt);
            return;
        }
        c.Candidates = allowed;
        c.NextCandidate = 0;
        c.Step = ConnectStep.Connect;
        ConnectNext(c);
    }

    /// <summary>Connect: starts a connection to the next allowed address; fails the tunnel when none is left.</summary>
    private void ConnectNext(Conn c)
    {
        byte* address = stackalloc byte[SockaddrSize];
        while (c.NextCandidate < c.Candidates.Length)
        {
            var ep = c.Candidates[c.NextCandidate++];
            c.Remote = ep;
            int fd = socket(ep.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0)
            {
                continue;
            }
            NoDelay(fd);
            int length = WriteAddress(ep, address);
            if ((connect(fd, address, length) == 0 || Errno == EINPROGRESS)
                && EpollAdd(_epoll, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, ((ulong)c.Slot << 1) | 1))
            {
                c.UpstreamFd = fd;
                c.Up.TargetWritable = false;
                c.Down.SourceReadable = false;
                c.Down.SourceHungUp = false;
                return; // the first EPOLLOUT says how it went
            }
            close(fd);
        }
        Fail(c, UpstreamError.ConnectFailed, c.Candidates.Length > 0 ? c.Candidates[0] : null);
    }

    /// <summary>Connected (or not), then Established.</summary>
    /// <param name="failed">EPOLLERR or EPOLLHUP came with the EPOLLOUT: the connect failed (no getsockopt needed to tell).</param>
    private void OnConnected(Conn c, bool failed)
    {
        if (failed)
        {
            close(c.UpstreamFd);
            c.UpstreamFd = -1;
            ConnectNext(c);
            return;
        }
        _flow.Connected(_time.GetElapsedTime(c.Connecting));
        var established = Established.Span;
        fixed (byte* p = established)
        {
            if (send(c.ClientFd, p, established.Length, MSG_NOSIGNAL) != established.Length)
            {
                Close(c); // a fresh socket always takes 39 bytes; if not, the client is gone
                return;
            }
        }
        c.Step = ConnectStep.Hello;
        c.Due = DueIn(_helloTicks);
        if (c.Up.SourceReadable)
        {
            OnHello(c);
        }
    }

    /// <summary>Hello: peeks the ClientHello, leaving it for upstream; the flow checks its SNI.</summary>
    private void OnHello(Conn c)
    {
        int n = (int)recv(c.ClientFd, _bufferPtr, BufferSize, MSG_PEEK);
        if (n < 0)
        {
            if (Errno == EAGAIN)
            {
                c.Up.SourceReadable = false;
                return;
            }
            Close(c);
            return;
        }
        // A peek leaves the bytes queued, so the next edge comes only with more of them.
        c.Up.SourceReadable = false;
        var status = ClientHelloParser.TryParse(new ReadOnlySequence<byte>(_buffer, 0, n), out var hello);
        if (status == HelloStatus.Incomplete && !c.Up.SourceHungUp && n < BufferSize)
        {
            return;
        }
        if (!_flow.CheckHello(c.Request, c.Judged, status, hello, c.Remote))
        {
            Close(c);
            return;
        }
        c.Step = ConnectStep.Splice;
        c.Active = _proxy.Metrics?.TrackTunnel() ?? default;
        c.Due = DueIn(_idleTicks);
        c.Up.SourceReadable = true; // the ClientHello is waiting
        c.Up.TargetWritable = true; // connected, nothing sent yet
        c.Down.TargetWritable = true;
        Pump(c);
    }

    /// <summary>Hello's deadline passed.</summary>
    private void RefuseHello(Conn c)
    {
        _flow.CheckHello(c.Request, c.Judged, HelloStatus.Incomplete, null, c.Remote);
        Close(c);
    }

    /// <summary>Resolve, AddressPolicy or Connect failed: the flow's answer, then close.</summary>
    private void Fail(Conn c, UpstreamError error, IPEndPoint? remote)
    {
        _flow.Connected(_time.GetElapsedTime(c.Connecting));
        Answer(c, _flow.UpstreamFailed(c.Request, c.Judged, error, remote));
    }
}
