using System.Collections.Concurrent;
using System.Net;
using System.Runtime.InteropServices;
using FilterService.Identity;
using FilterService.Telemetry;
using static FilterService.Proxy.ConnectFlow;
using static FilterService.Proxy.Libc;

namespace FilterService.Proxy;

/// <summary>
/// One of the proxy port's accept loops, and the whole life of the common tunnel, on one thread with its own epoll: a
/// well-formed CONNECT that needs no password hash, is allowed, and is not inspected is parsed, connected and spliced
/// socket to socket here, as Squid does, without Kestrel's pipes or a thread-pool hand-off per connection. Everything
/// else, untouched (the head is only peeked), is handed to Kestrel and <see cref="ConnectMiddleware"/>: plain HTTP,
/// refusals (400, 407, 429, 403 with its alert), inspected hosts, and a head that did not arrive in one piece. Why:
/// bench/load/README.md (new tunnels per proxy CPU-second).
/// </summary>
/// <remarks>
/// <para>The steps are <see cref="ConnectFlow"/>'s, which makes every decision, answer and record; this class only does
/// the I/O of each (TunnelLoop.Connect.cs), the splice (TunnelLoop.Splice.cs), accepting and handing over
/// (TunnelLoop.Accept.cs) and the deadlines (TunnelLoop.Deadlines.cs).</para>
/// <para>A port runs several loops (<c>Proxy:SocketThreads</c>' effective value, so every core can take new tunnels),
/// each with its own listening socket on the one address (SO_REUSEPORT: the kernel spreads the connections).</para>
/// <para>Sockets are edge-triggered and registered once. A receive shorter than the buffer means the socket is
/// drained; a send that cannot finish keeps the rest in a buffer of that tunnel and stops reading the other side
/// until it drains, so a slow reader holds back its sender through TCP, never through memory here.</para>
/// <para>State belongs to the loop thread. Other threads talk to it through <see cref="Post"/>, which wakes it
/// through an eventfd.</para>
/// </remarks>
internal sealed unsafe partial class TunnelLoop : IDisposable
{
    private const int BufferSize = 64 * 1024;
    private const int MaxEvents = 256;
    private const ulong ListenerData = ulong.MaxValue, WakeData = ulong.MaxValue - 1;

    private readonly ProxyServices _proxy;
    private readonly ConnectFlow _flow;
    private readonly ClientGate _gate;
    private readonly Action<int, long> _handOff;
    private readonly ILogger _logger;
    private readonly int _listenFd;
    private readonly int _epoll;
    private readonly int _wake;
    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
    private readonly byte* _bufferPtr;
    private readonly byte* _events;
    private readonly ConcurrentQueue<Action> _inbox = new();
    private readonly Thread _thread = null!;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Conn?> _slots = [];
    private readonly Stack<int> _free = new();
    private readonly List<int> _freeAfterBatch = [];
    private volatile bool _stopRequested;
    private int _disposed;
    private long _carried;
    private long _handedOver;

    /// <param name="listenFd">A bound, listening, non-blocking socket; the caller keeps owning it.</param>
    /// <param name="handOff">Takes over a client socket (with nothing consumed from it) and when it was accepted (a <see cref="TimeProvider"/> timestamp).</param>
    /// <param name="name">The loop thread's name.</param>
    public TunnelLoop(int listenFd, ProxyServices proxy, ClientGate gate, bool canInspect, Action<int, long> handOff, ILogger logger,
        string name = "Tunnel loop")
    {
        _listenFd = listenFd;
        _proxy = proxy;
        _flow = new ConnectFlow(proxy, () => canInspect);
        _gate = gate;
        _handOff = handOff;
        _logger = logger;
        _time = proxy.Time;
        _headTicks = Ticks(proxy.Options.HeadTimeout);
        _connectTicks = Ticks(proxy.Options.UpstreamConnectTimeout);
        _helloTicks = Ticks(proxy.Options.ClientHelloTimeout);
        _idleTicks = Ticks(proxy.Options.TunnelIdleTimeout);
        _sweepTicks = Ticks(TimeSpan.FromMilliseconds(SweepMs));
        _bufferPtr = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_buffer, 0);
        _events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * EventStride));
        _epoll = epoll_create1(SOCK_CLOEXEC);
        _wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (_epoll < 0 || _wake < 0 || !EpollAdd(_epoll, _wake, EPOLLIN, WakeData) || !ListenAgain())
        {
            int errno = Errno;
            Dispose();
            throw new IOException($"The tunnel loop could not set up epoll (errno {errno}).");
        }
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Tunnels this loop took on (head consumed), since start.</summary>
    public long Carried => Volatile.Read(ref _carried);

    /// <summary>Connections handed to Kestrel untouched, since start.</summary>
    public long HandedOver => Volatile.Read(ref _handedOver);

    /// <summary>Whether the loop thread has exited (after <see cref="StopAsync"/>, or a failure).</summary>
    public bool Stopped => _stopped.Task.IsCompleted;

    private sealed class Conn
    {
        public int Slot;
        public int ClientFd;
        public int UpstreamFd = -1;
        public ConnectStep Step;
        public required IPAddress Client;
        /// <summary>When the connection was accepted, a <see cref="TimeProvider"/> timestamp.</summary>
        public long Accepted;
        /// <summary>When the current step's deadline passes, a <see cref="TimeProvider"/> timestamp.</summary>
        public long Due;
        public Flow Up; // client to upstream
        public Flow Down; // upstream to client
        // Known once the head is taken:
        public ProxyRequest Request;
        public ConnectJudgement Judged;
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
            long nextSweep = _time.GetTimestamp() + _sweepTicks;
            while (!_stopRequested)
            {
                int n = epoll_wait(_epoll, _events, MaxEvents, _slots.Count - _free.Count > 0 || _acceptPaused ? SweepMs : -1);
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
                    else if (_slots[(int)(data >> 1)] is { Step: not ConnectStep.Closed } c)
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
                long now = _time.GetTimestamp();
                if (now >= nextSweep)
                {
                    Sweep(now);
                    nextSweep = now + _sweepTicks;
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
                if (_slots[i] is { Step: not ConnectStep.Closed } c)
                {
                    if (c.Step == ConnectStep.Splice)
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

    public void Dispose()
    {
        if (_thread is { IsAlive: true })
        {
#pragma warning disable RS0030 // bounds a disposal in real time: it must end even while a test's fake clock stands still
            StopAsync().Wait(TimeSpan.FromSeconds(10));
#pragma warning restore RS0030
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
