using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using FilterService.Identity;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace FilterService.Proxy;

/// <summary>A proxy listen address served through the <see cref="TunnelLoop"/> rather than Kestrel's socket transport.</summary>
internal sealed class TunnelLoopEndPoint(IPEndPoint address) : EndPoint
{
    public IPEndPoint Address => address;

    public override string ToString() => address.ToString();
}

/// <summary>
/// Kestrel's transport for <see cref="TunnelLoopEndPoint"/>s: binds the socket, runs <paramref name="loops"/>
/// <see cref="TunnelLoop"/>s on it (each its own thread, epoll and listening socket; several sockets share the address
/// through SO_REUSEPORT), and gives Kestrel (and so ConnectMiddleware and the HTTP stages) the connections the loop hands over, as
/// connections of Kestrel's own socket transport, made with that transport's settings (ProxyHost's <c>UseSockets</c>).
/// Other endpoints (the admin port) stay with the socket transport.
/// </summary>
internal sealed class TunnelLoopTransportFactory(ProxyServices proxy, ClientGate gate, bool canInspect, IOptions<SocketTransportOptions> transport,
    ILoggerFactory loggers, int loops = 1) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly List<TunnelLoopListener> _listeners = [];

    /// <summary>What the connections handed to Kestrel are made with: the socket transport's own settings.</summary>
    internal SocketConnectionFactoryOptions HandOverOptions { get; } = new()
    {
        IOQueueCount = transport.Value.IOQueueCount,
        WaitForDataBeforeAllocatingBuffer = transport.Value.WaitForDataBeforeAllocatingBuffer,
        MaxReadBufferSize = transport.Value.MaxReadBufferSize,
        MaxWriteBufferSize = transport.Value.MaxWriteBufferSize,
        UnsafePreferInlineScheduling = transport.Value.UnsafePreferInlineScheduling,
    };

    private const int SolSocket = 1, SoReusePort = 15; // Linux

    public bool CanBind(EndPoint endpoint) => endpoint is TunnelLoopEndPoint;

    /// <summary>The loops bound so far (tests read their counters).</summary>
    public IReadOnlyList<TunnelLoop> Loops
    {
        get
        {
            lock (_listeners)
            {
                return _listeners.SelectMany(l => l.Loops).ToList();
            }
        }
    }

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var address = ((TunnelLoopEndPoint)endpoint).Address;
        var sockets = new List<Socket>();
        try
        {
            // One listening socket per loop. With several, SO_REUSEPORT: the kernel spreads new connections over them by
            // a hash of the addresses, so every loop (and core) takes its share whether or not the others are busy.
            // EPOLLEXCLUSIVE on one shared socket was the alternative: it wakes the most recent waiter first, so one
            // loop takes every connection until it saturates (nginx's and Cloudflare's finding), and a test cannot
            // show a spread it does not make. The first socket binds the address (port 0 picks one); the rest join
            // it on the port it got.
            var bound = address;
            for (int i = 0; i < loops; i++)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                if (address.Address.Equals(IPAddress.IPv6Any))
                {
                    socket.DualMode = true;
                }
                if (loops > 1)
                {
                    socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
                }
                socket.Bind(bound);
                bound = (IPEndPoint)socket.LocalEndPoint!;
                socket.Listen(512);
                socket.Blocking = false;
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            sockets.ForEach(s => s.Dispose());
            throw new AddressInUseException(ex.Message, ex);
        }
        catch
        {
            sockets.ForEach(s => s.Dispose());
            throw;
        }
        var listener = new TunnelLoopListener(sockets, proxy, gate, canInspect, HandOverOptions, loggers);
        lock (_listeners)
        {
            _listeners.Add(listener);
        }
        return new(listener);
    }
}

internal sealed class TunnelLoopListener : IConnectionListener
{
    private readonly List<Socket> _sockets;
    private readonly SocketConnectionContextFactory _contexts;
    private readonly Channel<ConnectionContext> _handedOver = Channel.CreateUnbounded<ConnectionContext>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly TunnelLoop[] _loops;

    /// <param name="sockets">Bound, listening, non-blocking sockets on one address: one loop each.</param>
    public TunnelLoopListener(List<Socket> sockets, ProxyServices proxy, ClientGate gate, bool canInspect, SocketConnectionFactoryOptions handOver,
        ILoggerFactory loggers)
    {
        _sockets = sockets;
        EndPoint = sockets[0].LocalEndPoint!;
        _contexts = new SocketConnectionContextFactory(handOver, loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        var logger = loggers.CreateLogger<TunnelLoop>();
        _loops = new TunnelLoop[sockets.Count];
        try
        {
            for (int i = 0; i < _loops.Length; i++)
            {
                _loops[i] = new TunnelLoop((int)sockets[i].Handle, proxy, gate, canInspect, HandOver, logger,
                    _loops.Length == 1 ? "Tunnel loop" : $"Tunnel loop {i + 1}");
            }
        }
        catch
        {
            foreach (var loop in _loops)
            {
                loop?.Dispose();
            }
            throw;
        }
    }

    public EndPoint EndPoint { get; }

    public IReadOnlyList<TunnelLoop> Loops => _loops;

    /// <summary>On a loop thread: wraps the client socket as a Kestrel connection and queues it for Kestrel's accept loop.</summary>
    private void HandOver(int fd, long accepted)
    {
        var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        var connection = _contexts.Create(socket);
        connection.Features.Set(new AcceptedAtFeature(accepted));
        if (!_handedOver.Writer.TryWrite(connection))
        {
            _ = connection.DisposeAsync(); // shutting down
        }
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            while (await _handedOver.Reader.WaitToReadAsync(cancellationToken))
            {
                if (_handedOver.Reader.TryRead(out var connection))
                {
                    return connection;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        return null; // unbound: Kestrel's accept loop ends
    }

    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        await StopLoopsAsync().WaitAsync(cancellationToken);
        _handedOver.Writer.TryComplete();
        _sockets.ForEach(s => s.Dispose());
    }

    public async ValueTask DisposeAsync()
    {
        await StopLoopsAsync();
        _handedOver.Writer.TryComplete();
        while (_handedOver.Reader.TryRead(out var connection))
        {
            await connection.DisposeAsync();
        }
        foreach (var loop in _loops)
        {
            loop.Dispose();
        }
        _sockets.ForEach(s => s.Dispose());
        _contexts.Dispose();
    }

    private Task StopLoopsAsync() => Task.WhenAll(_loops.Select(loop => loop.StopAsync()));
}
