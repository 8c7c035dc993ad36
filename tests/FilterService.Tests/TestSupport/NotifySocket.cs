using System.Net.Sockets;
using System.Text;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// The service manager's end of sd_notify(3): a unix datagram socket in a fresh directory, whose path goes into the
/// service's NOTIFY_SOCKET. Each datagram is one message of newline-separated KEY=VALUE lines (READY=1, STOPPING=1,
/// WATCHDOG=1), exactly what systemd reads.
/// </summary>
public sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket;

    public NotifySocket()
    {
        Path = System.IO.Path.Combine(TempDir.Create("notify"), "notify.sock");
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
    }

    public string Path { get; }

    /// <summary>Every message received, in order.</summary>
    public List<string> Received { get; } = [];

    /// <summary>Reads messages until one contains <paramref name="line"/> as a whole line; throws with what did arrive after <paramref name="timeout"/>.</summary>
    public async Task WaitForAsync(string line, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                var message = Encoding.UTF8.GetString(buffer, 0, n);
                Received.Add(message);
                if (message.Split('\n').Contains(line))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"no {line} within {timeout}; received: [{string.Join(" | ", Received)}]");
        }
    }

    public void Dispose() => _socket.Dispose();
}
