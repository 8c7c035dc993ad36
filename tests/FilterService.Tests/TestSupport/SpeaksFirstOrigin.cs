using System.Net;
using System.Net.Sockets;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// A server-speaks-first origin on loopback (as SMTP, FTP or SSH are): it sends <see cref="Greeting"/> the moment it
/// accepts a connection, before reading anything, then discards what it is sent until the peer closes. Accepting and
/// greeting run on a thread of their own, not the thread pool the in-process service shares, so the greeting follows
/// the connect as closely as it can. Every wait is bounded.
/// </summary>
public sealed class SpeaksFirstOrigin : IAsyncDisposable
{
    public static ReadOnlyMemory<byte> Greeting { get; } = "220 origin speaks first\r\n"u8.ToArray();

    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _accepting;

    public SpeaksFirstOrigin()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(512);
        _accepting = new Thread(Accept) { IsBackground = true, Name = "speaks-first origin" };
        _accepting.Start();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    private void Accept()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = _listener.Accept();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return; // disposed
            }
            try
            {
                socket.NoDelay = true;
                socket.Send(Greeting.Span); // a fresh socket's send buffer always takes it at once
            }
            catch (SocketException)
            {
                socket.Dispose();
                continue;
            }
            _ = DrainAsync(socket);
        }
    }

    private async Task DrainAsync(Socket socket)
    {
        using var _ = socket;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        var buffer = new byte[16 * 1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, bounded.Token) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            // The proxy hung up or the test ended.
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose(); // ends the blocking Accept
        _accepting.Join(TimeSpan.FromSeconds(10));
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }
}
