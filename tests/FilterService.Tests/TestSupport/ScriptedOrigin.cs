using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// A raw HTTP/1.1 origin on loopback whose answers are scripted byte for byte per request path: for the response
/// framings, interim responses, malformed heads, early closes and stalls that a well-behaved server never sends.
/// Records every request head it receives and how many connections it accepted. Every wait is bounded.
/// </summary>
public sealed class ScriptedOrigin : IAsyncDisposable
{
    /// <summary>What to do with one request: bytes to send (in pieces, with a pause between), then close or keep the connection.</summary>
    public sealed record Answer(IReadOnlyList<byte[]> Pieces, bool Close = false, TimeSpan Pause = default, bool Stall = false)
    {
        public static Answer Of(string text, bool close = false) => new([Encoding.Latin1.GetBytes(text)], close);
    }

    private readonly TcpListener _listener;
    private readonly Func<string, Answer> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = new();
    private readonly Task _accepting;
    private int _accepted;

    public ScriptedOrigin(Func<string, Answer> script)
    {
        _script = script;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public int Accepted => Volatile.Read(ref _accepted);
    public ConcurrentQueue<string> Requests { get; } = new();

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            Interlocked.Increment(ref _accepted);
            lock (_connections)
            {
                _connections.Add(ServeAsync(socket));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        var buffer = new byte[64 * 1024];
        int filled = 0;
        try
        {
            while (true)
            {
                int end;
                while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
                {
                    using var read = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    read.CancelAfter(TimeSpan.FromSeconds(30));
                    int n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, read.Token);
                    if (n == 0)
                    {
                        return;
                    }
                    filled += n;
                }
                var head = Encoding.Latin1.GetString(buffer, 0, end + 4);
                buffer.AsSpan(end + 4, filled - end - 4).CopyTo(buffer);
                filled -= end + 4;
                Requests.Enqueue(head);
                var answer = _script(head.Split(' ')[1]);
                foreach (var piece in answer.Pieces)
                {
                    await socket.SendAsync(piece, SocketFlags.None, _stop.Token);
                    if (answer.Pause > TimeSpan.Zero)
                    {
                        await Task.Delay(answer.Pause, _stop.Token);
                    }
                }
                if (answer.Stall)
                {
                    await Task.Delay(TimeSpan.FromSeconds(30), _stop.Token);
                }
                if (answer.Close)
                {
                    socket.Shutdown(SocketShutdown.Both);
                    return;
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        Task[] running;
        lock (_connections)
        {
            running = _connections.ToArray();
        }
        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(10));
    }
}
