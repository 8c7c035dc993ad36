using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FilterService.Tests.TestSupport;

/// <summary>A raw TCP client for hostile input: sends exact bytes, reads what comes back, every wait bounded.</summary>
public sealed class RawClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawClient> ConnectAsync(IPEndPoint endPoint)
    {
        var tcp = new TcpClient(endPoint.AddressFamily) { NoDelay = true };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await tcp.ConnectAsync(endPoint, cts.Token);
        return new RawClient(tcp);
    }

    public Task SendAsync(string text) => SendAsync(Encoding.ASCII.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _stream.WriteAsync(bytes, cts.Token);
    }

    /// <summary>Reads until the peer closes or <paramref name="timeout"/> passes; returns what arrived.</summary>
    public Task<(string Text, bool Closed)> ReadAllAsync(TimeSpan timeout) => ReadAllAsync(timeout, null);

    /// <summary>As <see cref="ReadAllAsync(TimeSpan)"/>, but also stops once <paramref name="enough"/> holds for what arrived.</summary>
    public async Task<(string Text, bool Closed)> ReadAllAsync(TimeSpan timeout, Func<string, bool>? enough)
    {
        var buffer = new byte[64 * 1024];
        var ms = new MemoryStream();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                int n = await _stream.ReadAsync(buffer, cts.Token);
                if (n == 0)
                {
                    return (Encoding.Latin1.GetString(ms.ToArray()), true);
                }
                ms.Write(buffer, 0, n);
                if (enough is not null && enough(Encoding.Latin1.GetString(ms.ToArray())))
                {
                    return (Encoding.Latin1.GetString(ms.ToArray()), false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            return (Encoding.Latin1.GetString(ms.ToArray()), false);
        }
        catch (IOException)
        {
            return (Encoding.Latin1.GetString(ms.ToArray()), true);
        }
    }

    /// <summary>Reads one response head (up to the blank line), at most <paramref name="timeout"/>.</summary>
    public async Task<string> ReadHeadAsync(TimeSpan timeout)
    {
        var ms = new MemoryStream();
        var one = new byte[1];
        using var cts = new CancellationTokenSource(timeout);
        while (!EndsWithBlankLine(ms))
        {
            int n = await _stream.ReadAsync(one, cts.Token);
            if (n == 0)
            {
                break;
            }
            ms.WriteByte(one[0]);
        }
        return Encoding.Latin1.GetString(ms.ToArray());
    }

    public NetworkStream Stream => _stream;

    private static bool EndsWithBlankLine(MemoryStream ms)
    {
        if (ms.Length < 4)
        {
            return false;
        }
        var b = ms.GetBuffer();
        long l = ms.Length;
        return b[l - 4] == '\r' && b[l - 3] == '\n' && b[l - 2] == '\r' && b[l - 1] == '\n';
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
