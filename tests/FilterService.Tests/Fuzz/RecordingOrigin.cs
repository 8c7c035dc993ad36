using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace FilterService.Tests.Fuzz;

/// <summary>One connection the origin accepted: every byte it read (up to 64 KB) and the fuzz case ids found in them.</summary>
internal sealed record OriginArrival(byte[] Bytes, IReadOnlyList<long> CaseIds)
{
    public string Text => Encoding.Latin1.GetString(Bytes);

    /// <summary>Request lines (method, target) found anywhere in the bytes: a smuggled second request counts too.</summary>
    public IEnumerable<(string Method, string Target)> RequestLines() =>
        RecordingOrigin.RequestLine().Matches(Text).Select(m => (m.Groups[1].Value, m.Groups[2].Value));
}

/// <summary>
/// A raw origin on 127.0.0.1:0 that records every connection and every byte it is sent, for the fuzzer's oracle. It
/// answers the first request head with a small <c>200</c> and closes (so nothing is left pooled), or closes after a
/// short wait when no head comes (a tunnel). Case ids are read from an <c>X-Fuzz-Id</c> header or from the marker
/// the fuzzer writes into a ClientHello's random (<see cref="HeadGrammar.HelloMarker"/>).
/// </summary>
internal sealed partial class RecordingOrigin : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly ConcurrentQueue<OriginArrival> _arrivals = new();
    private int _connections;

    private RecordingOrigin()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(1024);
        _accepting = AcceptAsync();
    }

    public static RecordingOrigin Start() => new();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far (each is recorded once it has been read).</summary>
    public int Connections => Volatile.Read(ref _connections);

    public IReadOnlyCollection<OriginArrival> Arrivals => _arrivals.ToArray();

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            Interlocked.Increment(ref _connections);
            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var received = new MemoryStream();
        using (socket)
        {
            var buffer = new byte[16 * 1024];
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            deadline.CancelAfter(TimeSpan.FromSeconds(3));
            try
            {
                while (received.Length < 64 * 1024)
                {
                    int n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                    if (n == 0)
                    {
                        break;
                    }
                    received.Write(buffer, 0, n);
                    if (HeadEnd(received) >= 0)
                    {
                        await socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"u8.ToArray(), SocketFlags.None, deadline.Token);
                        socket.Shutdown(SocketShutdown.Send);
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // A tunnel that sent only a ClientHello, or a proxy that gave up: what arrived is recorded either way.
            }
        }
        var bytes = received.ToArray();
        var text = Encoding.Latin1.GetString(bytes);
        var ids = Marker().Matches(text).Select(m => long.Parse(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value)).Distinct().ToList();
        _arrivals.Enqueue(new OriginArrival(bytes, ids));
    }

    private static int HeadEnd(MemoryStream ms)
    {
        var span = ms.GetBuffer().AsSpan(0, (int)ms.Length);
        return span.IndexOf("\r\n\r\n"u8);
    }

    /// <summary>Waits until every accepted connection has been recorded and none arrived for <paramref name="quiet"/>, at most <paramref name="limit"/>.</summary>
    public async Task SettleAsync(TimeSpan quiet, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        int seen = -1;
        var since = DateTime.UtcNow;
        while (DateTime.UtcNow < until)
        {
            int now = Connections;
            if (now != seen || _arrivals.Count < now)
            {
                seen = now;
                since = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - since >= quiet)
            {
                return;
            }
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    [GeneratedRegex(@"X-Fuzz-Id:[ \t]*(\d{1,12})|FZ(\d{12})", RegexOptions.IgnoreCase)]
    private static partial Regex Marker();

    [GeneratedRegex(@"(?m)^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP/")]
    internal static partial Regex RequestLine();
}
