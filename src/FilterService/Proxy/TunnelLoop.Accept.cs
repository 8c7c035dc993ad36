using static FilterService.Proxy.ConnectFlow;
using static FilterService.Proxy.Libc;

namespace FilterService.Proxy;

/// <summary>The tunnel loop's accepting, event dispatch, closing and handing over.</summary>
internal sealed unsafe partial class TunnelLoop
{
    /// <summary>Registers the listening socket (this loop's own: see TunnelLoopTransport.cs) with the loop's epoll.</summary>
    private bool ListenAgain() => EpollAdd(_epoll, _listenFd, EPOLLIN, ListenerData);

    private void Accept()
    {
        byte* address = stackalloc byte[SockaddrSize];
        int length = SockaddrSize;
        int fd = accept4(_listenFd, address, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
        {
            int errno = Errno;
            if (errno is EMFILE or ENFILE or ENOBUFS or ENOMEM)
            {
                LogAcceptFailed(_logger, errno);
                PauseAccept();
            }
            return;
        }
        var client = ReadAddress(address);
        if (!_gate.TryEnter(client))
        {
            _proxy.Refusals.Note(RefusalLog.TooManyConnections, client);
            close(fd);
            return;
        }
        NoDelay(fd);
        int slot = _free.Count > 0 ? _free.Pop() : AddSlot();
        long accepted = _time.GetTimestamp();
        var c = new Conn { Slot = slot, ClientFd = fd, Client = client, Accepted = accepted, Step = ConnectStep.Head, Due = accepted + _headTicks };
        _slots[slot] = c;
        if (!EpollAdd(_epoll, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, (ulong)slot << 1))
        {
            Close(c);
        }
    }

    private int AddSlot()
    {
        _slots.Add(null);
        return _slots.Count - 1;
    }

    private void OnEvent(Conn c, bool upstream, uint events)
    {
        bool hup = (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0;
        bool readable = (events & EPOLLIN) != 0 || hup;
        bool writable = (events & EPOLLOUT) != 0 || (events & (EPOLLHUP | EPOLLERR)) != 0;
        if (upstream)
        {
            c.Down.SourceReadable |= readable;
            c.Down.SourceHungUp |= hup;
            c.Up.TargetWritable |= writable;
        }
        else
        {
            c.Up.SourceReadable |= readable;
            c.Down.TargetWritable |= writable;
            c.Up.SourceHungUp |= hup;
        }
        switch (c.Step)
        {
            case ConnectStep.Head when !upstream && readable:
                OnHead(c);
                break;
            case ConnectStep.Resolve when c.Up.SourceHungUp:
            case ConnectStep.Connect when c.Up.SourceHungUp:
                Close(c); // the client left before the answer: nothing to say, as in ConnectMiddleware
                break;
            case ConnectStep.Connect when upstream && writable:
                OnConnected(c, failed: (events & (EPOLLERR | EPOLLHUP)) != 0);
                break;
            case ConnectStep.Hello when !upstream && readable:
                OnHello(c);
                break;
            case ConnectStep.Splice:
                Pump(c);
                break;
        }
    }

    /// <summary>Sends the flow's answer (best effort: a refused client may be gone) and closes.</summary>
    private void Answer(Conn c, byte[] response)
    {
        fixed (byte* p = response)
        {
            send(c.ClientFd, p, response.Length, MSG_NOSIGNAL);
        }
        Close(c);
    }

    private void Close(Conn c)
    {
        if (c.Step == ConnectStep.Closed)
        {
            return;
        }
        c.Step = ConnectStep.Closed;
        close(c.ClientFd);
        if (c.UpstreamFd >= 0)
        {
            close(c.UpstreamFd);
        }
        ReturnPending(ref c.Up);
        ReturnPending(ref c.Down);
        _gate.Release(c.Client);
        Release(c);
    }

    /// <summary>Gives the client socket, with nothing consumed, to Kestrel and ConnectMiddleware.</summary>
    private void HandOff(Conn c)
    {
        c.Step = ConnectStep.Closed;
        EpollRemove(_epoll, c.ClientFd);
        _gate.Release(c.Client); // the middleware takes its own slot
        Release(c);
        Volatile.Write(ref _handedOver, _handedOver + 1);
        try
        {
            _handOff(c.ClientFd, c.Accepted);
        }
        catch (Exception ex)
        {
            LogHandOffFailed(_logger, ex);
            close(c.ClientFd);
        }
    }

    private void Release(Conn c)
    {
        _slots[c.Slot] = null;
        _freeAfterBatch.Add(c.Slot);
    }
}
