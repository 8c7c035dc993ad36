using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using FilterService.Identity;
using FilterService.Telemetry;
using PolicyModel.Decisions;
using static FilterService.Proxy.Libc;

namespace FilterService.Proxy;

/// <summary>
/// The proxy port's accept loop, and the whole life of the common tunnel, on one thread with its own epoll: a
/// well-formed CONNECT that needs no password hash, is allowed, and is not inspected is parsed, connected and spliced
/// socket to socket here, as Squid does, without Kestrel's pipes or a thread-pool hand-off per connection. Everything
/// else, untouched (the head is only peeked), is handed to Kestrel and <see cref="ConnectMiddleware"/>, which then
/// does exactly what it did before: plain HTTP, refusals (400, 407, 429, 403 with its alert), inspected hosts, and a
/// head that did not arrive in one piece. Why: bench/load/README.md (new tunnels per proxy CPU-second).
/// </summary>
/// <remarks>
/// <para>The sequence matches ConnectMiddleware's: admit, decide, resolve (a name lookup runs on the thread pool and
/// posts back), the address policy, connect, 200, peek the ClientHello and check its SNI, splice. Once the head is
/// consumed, the failures are answered here with the middleware's own texts and records.</para>
/// <para>Sockets are edge-triggered and registered once. A receive shorter than the buffer means the socket is
/// drained; a send that cannot finish keeps the rest in a buffer of that tunnel and stops reading the other side
/// until it drains, so a slow reader holds back its sender through TCP, never through memory here. Deadlines (head,
/// connect, ClientHello, idle) are checked four times a second.</para>
/// <para>State belongs to the loop thread. Other threads talk to it through <see cref="Post"/>, which wakes it
/// through an eventfd.</para>
/// </remarks>
internal sealed unsafe partial class TunnelLoop : IDisposable
{
    private const int BufferSize = 64 * 1024;
    private const int MaxEvents = 256;
    private const ulong ListenerData = ulong.MaxValue, WakeData = ulong.MaxValue - 1;
    private const int SweepMs = 250;

    private readonly ProxyServices _proxy;
    private readonly ClientGate _gate;
    private readonly bool _canInspect;
    private readonly Action<int, long> _handOff;
    private readonly ILogger _logger;
    private readonly long _headMs, _connectMs, _helloMs, _idleMs; // the deadlines, in Environment.TickCount64 units
    private readonly int _listenFd;
    private readonly int _epoll;
    private readonly int _wake;
    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
    private readonly byte* _bufferPtr;
    private readonly byte* _events;
    private readonly ConcurrentQueue<Action> _inbox = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Conn?> _slots = [];
    private readonly Stack<int> _free = new();
    private readonly List<int> _freeAfterBatch = [];
    private long _acceptPausedUntil;
    private volatile bool _stopRequested;
    private int _disposed;
    private long _carried;
    private long _handedOver;

    /// <param name="listenFd">A bound, listening, non-blocking socket; the caller keeps owning it.</param>
    /// <param name="handOff">Takes over a client socket (with nothing consumed from it) and when it was accepted.</param>
    public TunnelLoop(int listenFd, ProxyServices proxy, ClientGate gate, bool canInspect, Action<int, long> handOff, ILogger logger)
    {
        _listenFd = listenFd;
        _proxy = proxy;
        _gate = gate;
        _canInspect = canInspect;
        _handOff = handOff;
        _logger = logger;
        _headMs = (long)proxy.Options.HeadTimeout.TotalMilliseconds;
        _connectMs = (long)proxy.Options.UpstreamConnectTimeout.TotalMilliseconds;
        _helloMs = (long)proxy.Options.ClientHelloTimeout.TotalMilliseconds;
        _idleMs = (long)proxy.Options.TunnelIdleTimeout.TotalMilliseconds;
        _bufferPtr = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_buffer, 0);
        _events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * EventStride));
        _epoll = epoll_create1(SOCK_CLOEXEC);
        _wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (_epoll < 0 || _wake < 0 || !EpollAdd(_epoll, _wake, EPOLLIN, WakeData) || !EpollAdd(_epoll, _listenFd, EPOLLIN, ListenerData))
        {
            int errno = Errno;
            Dispose();
            throw new IOException($"The tunnel loop could not set up epoll (errno {errno}).");
        }
        _thread = new Thread(Run) { IsBackground = true, Name = "Tunnel loop" };
        _thread.Start();
    }

    /// <summary>Tunnels this loop took on (head consumed), since start.</summary>
    public long Carried => Volatile.Read(ref _carried);

    /// <summary>Connections handed to Kestrel untouched, since start.</summary>
    public long HandedOver => Volatile.Read(ref _handedOver);

    private enum Stage
    {
        Head,
        Resolving,
        Connecting,
        Hello,
        Splice,
        Closed,
    }

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

    private sealed class Conn
    {
        public int Slot;
        public int ClientFd;
        public int UpstreamFd = -1;
        public Stage Stage;
        public required IPAddress Client;
        public long Accepted;
        public long Due;
        public Flow Up; // client to upstream
        public Flow Down; // upstream to client
        // Known once the head is taken:
        public string Host = "";
        /// <summary>Where the upstream connection goes: <see cref="Host"/>, or the safe-search address (<see cref="SafeSearch"/>).</summary>
        public string ConnectHost = "";
        /// <summary>The safe-search provider whose address the tunnel connects to, or null.</summary>
        public string? SafeSearch;
        public string? User;
        public int Port;
        public string Target = "";
        public Decision Decision = null!;
        public string? PolicyVersion;
        public DateTimeOffset At;
        public long Started;
        public string Reference = "";
        public IPEndPoint[] Candidates = [];
        public int NextCandidate;
        public IPEndPoint? Remote;
        public long Connecting;
        public FilterMetrics.TunnelScope Active;
    }

    /// <summary>Runs <paramref name="action"/> on the loop thread.</summary>
    private void Post(Action action)
    {
        lock (_inbox)
        {
            if (_disposed != 0)
            {
                return; // a lookup that finished after the loop: its connection is already closed
            }
            _inbox.Enqueue(action);
            ulong one = 1;
            write(_wake, (byte*)&one, 8);
        }
    }

    /// <summary>Stops accepting and ends every connection the loop holds (tunnels are recorded); completes when the loop has exited.</summary>
    public Task StopAsync()
    {
        _stopRequested = true;
        Post(static () => { });
        return _stopped.Task;
    }

    private void Run()
    {
        try
        {
            long nextSweep = Environment.TickCount64 + SweepMs;
            while (!_stopRequested)
            {
                int n = epoll_wait(_epoll, _events, MaxEvents, _slots.Count - _free.Count > 0 || _acceptPausedUntil != 0 ? SweepMs : -1);
                if (n < 0)
                {
                    if (Errno == EINTR)
                    {
                        continue;
                    }
                    LogLoopFailed(_logger, Errno);
                    break;
                }
                int stride = EventStride, dataAt = EventDataOffset;
                for (int i = 0; i < n; i++)
                {
                    byte* e = _events + i * stride;
                    uint events = *(uint*)e;
                    ulong data = *(ulong*)(e + dataAt);
                    if (data == ListenerData)
                    {
                        Accept();
                    }
                    else if (data == WakeData)
                    {
                        ulong count;
                        read(_wake, (byte*)&count, 8);
                        while (_inbox.TryDequeue(out var action))
                        {
                            action();
                        }
                    }
                    else if (_slots[(int)(data >> 1)] is { Stage: not Stage.Closed } c)
                    {
                        OnEvent(c, upstream: (data & 1) == 1, events);
                    }
                }
                // A slot closed in this batch is reused only after it, so a later event of the batch cannot reach a new connection.
                foreach (var slot in _freeAfterBatch)
                {
                    _free.Push(slot);
                }
                _freeAfterBatch.Clear();
                long now = Environment.TickCount64;
                if (now >= nextSweep)
                {
                    Sweep(now);
                    nextSweep = now + SweepMs;
                }
            }
        }
        catch (Exception ex)
        {
            LogLoopCrashed(_logger, ex);
        }
        finally
        {
            for (int i = 0; i < _slots.Count; i++)
            {
                if (_slots[i] is { Stage: not Stage.Closed } c)
                {
                    if (c.Stage == Stage.Splice)
                    {
                        End(c);
                    }
                    else
                    {
                        Close(c);
                    }
                }
            }
            _stopped.TrySetResult();
        }
    }

    private void Sweep(long now)
    {
        if (_acceptPausedUntil != 0 && now >= _acceptPausedUntil)
        {
            // Listening again; if even that fails, try again in a second.
            _acceptPausedUntil = EpollAdd(_epoll, _listenFd, EPOLLIN, ListenerData) ? 0 : now + 1000;
        }
        for (int i = 0; i < _slots.Count; i++)
        {
            if (_slots[i] is not { } c || c.Stage == Stage.Closed || now < c.Due)
            {
                continue;
            }
            switch (c.Stage)
            {
                case Stage.Head:
                    HandOff(c); // Kestrel's stage finds the head deadline passed and closes or answers 408, as it always has
                    break;
                case Stage.Resolving:
                case Stage.Connecting:
                    Fail(c, UpstreamError.Timeout, c.Remote);
                    break;
                case Stage.Hello:
                    RefuseHello(c, "client-hello-timeout");
                    break;
                case Stage.Splice:
                    End(c); // idle
                    break;
            }
        }
    }

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
                // Out of descriptors or memory: stop listening for a moment rather than spin on a level-triggered listener.
                LogAcceptFailed(_logger, errno);
                EpollRemove(_epoll, _listenFd);
                _acceptPausedUntil = Environment.TickCount64 + 1000;
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
        var c = new Conn { Slot = slot, ClientFd = fd, Client = client, Accepted = Stopwatch.GetTimestamp(), Stage = Stage.Head };
        c.Due = Environment.TickCount64 + _headMs;
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
        switch (c.Stage)
        {
            case Stage.Head when !upstream && readable:
                OnHead(c);
                break;
            case Stage.Resolving when c.Up.SourceHungUp:
            case Stage.Connecting when c.Up.SourceHungUp:
                Close(c); // the client left before the answer: nothing to say, as in ConnectMiddleware
                break;
            case Stage.Connecting when upstream && writable:
                OnConnected(c, failed: (events & (EPOLLERR | EPOLLHUP)) != 0);
                break;
            case Stage.Hello when !upstream && readable:
                OnHello(c);
                break;
            case Stage.Splice:
                Pump(c);
                break;
        }
    }

    /// <summary>The first bytes: a CONNECT this loop can carry all the way, or a hand-over with nothing consumed.</summary>
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
        if (n < ConnectMiddleware.ConnectPrefix.Length || !_buffer.AsSpan(0, ConnectMiddleware.ConnectPrefix.Length).SequenceEqual(ConnectMiddleware.ConnectPrefix)
            || ConnectHeadParser.TryParse(new ReadOnlySequence<byte>(_buffer, 0, n), _proxy.Options.MaxHeadBytes, out var head) != HeadError.None
            || !TryTake(c, head!))
        {
            HandOff(c);
        }
    }

    /// <summary>Admits and judges as ConnectMiddleware does; true when the tunnel is this loop's to carry, with the head consumed.</summary>
    private bool TryTake(Conn c, ConnectHead head)
    {
        long started = Stopwatch.GetTimestamp();
        var policy = _proxy.Policy.Current;
        if (!_proxy.TryAdmitInline(policy, c.Client, head.ProxyAuthorization, out var admit) || admit.Admission != Admission.Admitted)
        {
            return false; // a refusal, or a password to hash: the middleware answers
        }
        var at = _proxy.Time.GetUtcNow();
        var judged = ConnectMiddleware.Judge(policy, c.Client, admit.User, head.Authority, at, _proxy.Options, _canInspect);
        if (judged.Verdict != ConnectMiddleware.ConnectVerdict.Splice)
        {
            return false; // the middleware judges again (recording the decision once), raises any alert and answers
        }
        _proxy.Metrics?.RecordDecisionTime(judged.DecisionTime);
        if (recv(c.ClientFd, _bufferPtr, head.Length, 0) != head.Length)
        {
            Close(c); // cannot happen for peeked bytes; nothing safe to answer if it does
            return true;
        }
        Volatile.Write(ref _carried, _carried + 1);
        c.Started = started;
        c.User = admit.User;
        c.At = at;
        c.Host = judged.Host!;
        c.ConnectHost = judged.ConnectHost!;
        c.SafeSearch = judged.SafeSearch?.Provider;
        c.Port = judged.Port;
        c.Target = Authority.Format(c.Host, c.Port);
        c.Decision = judged.Decision!;
        c.PolicyVersion = policy.Version;
        c.Reference = _proxy.NextReference();
        c.Connecting = Stopwatch.GetTimestamp();
        c.Due = Environment.TickCount64 + _connectMs;
        if (_proxy.Upstream.TryResolveInline(c.ConnectHost, c.Port, out var candidates))
        {
            StartConnect(c, candidates);
        }
        else
        {
            c.Stage = Stage.Resolving;
            Resolve(c);
        }
        return true;
    }

    /// <summary>Looks the name up on the thread pool; the answer comes back to the loop thread.</summary>
    private void Resolve(Conn c)
    {
        var timeout = new CancellationTokenSource(_proxy.Options.UpstreamConnectTimeout);
        _proxy.Upstream.ResolveAsync(c.ConnectHost, c.Port, timeout.Token).AsTask().ContinueWith(task =>
        {
            timeout.Dispose();
            var (candidates, error) = task.IsCompletedSuccessfully ? task.Result : ([], UpstreamError.NameNotResolved);
            Post(() =>
            {
                if (c.Stage != Stage.Resolving)
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
        c.Stage = Stage.Connecting;
        ConnectNext(c);
    }

    /// <summary>Starts a connection to the next allowed address; fails the tunnel when none is left.</summary>
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
        _proxy.Metrics?.RecordUpstreamTime(connect: true, Stopwatch.GetElapsedTime(c.Connecting));
        var established = ConnectMiddleware.Established.Span;
        fixed (byte* p = established)
        {
            if (send(c.ClientFd, p, established.Length, MSG_NOSIGNAL) != established.Length)
            {
                Close(c); // a fresh socket always takes 39 bytes; if not, the client is gone
                return;
            }
        }
        c.Stage = Stage.Hello;
        c.Due = Environment.TickCount64 + _helloMs;
        if (c.Up.SourceReadable)
        {
            OnHello(c);
        }
    }

    /// <summary>Peeks the ClientHello, leaving it for upstream; its SNI must name the CONNECT host.</summary>
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
        if (ConnectMiddleware.HelloRefusal(status, hello, c.Host) is { } refusal)
        {
            RefuseHello(c, refusal);
            return;
        }
        c.Stage = Stage.Splice;
        c.Active = _proxy.Metrics?.TrackTunnel() ?? default;
        c.Due = Environment.TickCount64 + _idleMs;
        c.Up.SourceReadable = true; // the ClientHello is waiting
        c.Up.TargetWritable = true; // connected, nothing sent yet
        c.Down.TargetWritable = true;
        Pump(c);
    }

    private void RefuseHello(Conn c, string refusal)
    {
        _proxy.Refusals.Note(refusal, c.Client);
        _proxy.Observe(ProxyServices.TunnelRefused(c.At, c.Client, c.Target, c.Decision, refusal, Stopwatch.GetElapsedTime(c.Started), c.Reference,
            c.PolicyVersion, c.Remote!.Address.ToString()) with { SafeSearch = c.SafeSearch });
        Close(c);
    }

    /// <summary>Answers an allowed CONNECT that could not be connected, as ConnectMiddleware does, and closes.</summary>
    private void Fail(Conn c, UpstreamError error, IPEndPoint? remote)
    {
        var (status, rule) = ConnectMiddleware.UpstreamStatus(error);
        if (error is UpstreamError.AddressRefused or UpstreamError.Loop)
        {
            _proxy.Refusals.Note(rule, c.Client);
        }
        _proxy.Metrics?.RecordUpstreamTime(connect: true, Stopwatch.GetElapsedTime(c.Connecting));
        var response = ConnectMiddleware.Response(status, $"{rule}. Reference {c.Reference}.", null);
        fixed (byte* p = response)
        {
            send(c.ClientFd, p, response.Length, MSG_NOSIGNAL);
        }
        _proxy.Observe(_proxy.Refusal(c.At, c.Client, c.User, "CONNECT", c.Target, rule, status, 0, 0, Stopwatch.GetElapsedTime(c.Started),
            c.Reference, c.PolicyVersion, c.Decision.Identity) with { UpstreamAddress = remote?.Address.ToString(), SafeSearch = c.SafeSearch });
        Close(c);
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
            c.Due = Environment.TickCount64 + _idleMs;
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
        _proxy.Observe(ProxyServices.FromDecision(c.At, c.Client, "CONNECT", c.Target, c.Decision, 200, c.Up.Bytes, c.Down.Bytes,
            Stopwatch.GetElapsedTime(c.Started), c.Reference, c.PolicyVersion, c.Remote!.Address.ToString(), null) with { SafeSearch = c.SafeSearch });
        c.Active.Dispose();
        Close(c);
    }

    private void Close(Conn c)
    {
        if (c.Stage == Stage.Closed)
        {
            return;
        }
        c.Stage = Stage.Closed;
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

    private static void ReturnPending(ref Flow f)
    {
        if (f.Pending is { } pending)
        {
            f.Pending = null;
            ArrayPool<byte>.Shared.Return(pending);
        }
    }

    /// <summary>Gives the client socket, with nothing consumed, to Kestrel and ConnectMiddleware.</summary>
    private void HandOff(Conn c)
    {
        c.Stage = Stage.Closed;
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

    public void Dispose()
    {
        if (_thread is { IsAlive: true })
        {
            StopAsync().Wait(TimeSpan.FromSeconds(10));
        }
        lock (_inbox)
        {
            if (_disposed != 0)
            {
                return;
            }
            _disposed = 1;
        }
        if (_thread is null or { IsAlive: false })
        {
            if (_epoll >= 0)
            {
                close(_epoll);
            }
            if (_wake >= 0)
            {
                close(_wake);
            }
            NativeMemory.Free(_events);
        }
    }

    [LoggerMessage(EventId = 1210, Level = LogLevel.Error, Message = "The tunnel loop's epoll_wait failed (errno {Errno}); the loop stopped")]
    private static partial void LogLoopFailed(ILogger logger, int errno);

    [LoggerMessage(EventId = 1211, Level = LogLevel.Critical, Message = "The tunnel loop failed; its connections were closed")]
    private static partial void LogLoopCrashed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 1212, Level = LogLevel.Warning, Message = "Accepting a connection failed (errno {Errno}); new connections wait a second")]
    private static partial void LogAcceptFailed(ILogger logger, int errno);

    [LoggerMessage(EventId = 1213, Level = LogLevel.Error, Message = "Handing a connection to the HTTP stage failed; it was closed")]
    private static partial void LogHandOffFailed(ILogger logger, Exception ex);
}
