using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;
using Xunit.Abstractions;

namespace FilterService.Tests.Proxy;

/// <summary>
/// The lean HTTP stage frames an origin's response with <see cref="UpstreamResponseHead"/> and <see cref="ChunkScanner"/>;
/// the general path with HttpClient (SocketsHttpHandler). A raw origin sends generated responses
/// (<see cref="ResponseGenerator"/>) and closes; for each, the lean framing (as PlainHttpStage applies it: 1xx skipped,
/// 101 refused, no body for HEAD, 204 and 304, then chunked, Content-Length or to the close) must read the same status
/// and the same body length as HttpClient, or both refuse. On near misses the lean side may refuse where HttpClient
/// is lenient (a 502 rather than a guess at the framing), never the reverse.
/// </summary>
public sealed class UpstreamResponseFramingTests(ITestOutputHelper output)
{
    private const int Cases = 1500;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CaseDeadline = TimeSpan.FromSeconds(10);

    /// <summary>A status and body length, or null for a refusal.</summary>
    private sealed record Read(int Status, long BodyBytes)
    {
        public override string ToString() => $"{Status} with {BodyBytes} body bytes";
    }

    /// <summary>
    /// The lean stage's framing of everything the origin sent before closing: PlainHttpStage.ExchangeAsync (head, 1xx,
    /// 101) and RelayBodyAsync (chunked, Content-Length, to the close), with its rule that HEAD, 204 and 304 have no body.
    /// </summary>
    private static Read? LeanFraming(byte[] stream, bool isHead)
    {
        var response = new UpstreamResponseHead();
        int at = 0;
        while (true)
        {
            int end = stream.AsSpan(at).IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                return null; // the origin closed before the head ended: upstream-failed
            }
            if (!response.TryParse(stream.AsSpan(at, end + 2)) || response.Status == 101)
            {
                return null;
            }
            at += end + 4;
            if (response.Status >= 200)
            {
                break;
            }
        }
        if (isHead || response.Status is 204 or 304)
        {
            return new Read(response.Status, 0);
        }
        var rest = stream.AsSpan(at);
        if (response.Chunked)
        {
            var scanner = new ChunkScanner();
            return scanner.Feed(rest) < 0 || !scanner.Done ? null : new Read(response.Status, scanner.DataBytes);
        }
        if (response.ContentLength >= 0)
        {
            return rest.Length < response.ContentLength ? null : new Read(response.Status, response.ContentLength);
        }
        return new Read(response.Status, rest.Length);
    }

    /// <summary>The bytes after the last response head: the body of a response read to the close.</summary>
    private static int ToTheClose(byte[] stream)
    {
        int at = 0;
        while (true)
        {
            int end = at + stream.AsSpan(at).IndexOf("\r\n\r\n"u8) + 4;
            if (stream[at + 9] != (byte)'1')
            {
                return stream.Length - end; // not an interim response
            }
            at = end;
        }
    }

    [Fact]
    public async Task EveryGeneratedResponse_LeanFramingReadsAsHttpClientReads()
    {
        var generator = new ResponseGenerator(seed: 16);
        var cases = Enumerable.Range(0, Cases).Select(generator.Next).ToArray();
        await using var origin = new OneShotOrigin(i => cases[i].Bytes);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false });

        int ran = 0, retried = 0, agreeAccepted = 0, agreeRefused = 0, leanStricter = 0, nonFinalChunked = 0;
        var stricter = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (c, ct) =>
        {
            if (clock.Elapsed > Budget)
            {
                return;
            }
            var lean = LeanFraming(c.Bytes, c.Method == "HEAD");
            var (reference, why) = await ReadWithHttpClientAsync(client, origin.Port, c);
            for (int attempt = 1; reference is null && !origin.Served(c.Index) && attempt < 3; attempt++)
            {
                // The origin never sent this case's bytes (the connection HttpClient used got no request to answer):
                // a harness miss, not a reading of the response.
                Interlocked.Increment(ref retried);
                (reference, why) = await ReadWithHttpClientAsync(client, origin.Port, c);
            }
            Interlocked.Increment(ref ran);
            if (lean == reference)
            {
                Interlocked.Increment(ref lean is null ? ref agreeRefused : ref agreeAccepted);
            }
            else if (lean is not null && c.Story.Contains(ResponseGenerator.NonFinalChunked, StringComparison.Ordinal)
                && lean.BodyBytes == ToTheClose(c.Bytes))
            {
                // RFC 9112 6.3: a response whose codings do not end in chunked is read to the close. The lean stage
                // does so; SocketsHttpHandler takes "chunked" anywhere in the list as chunked framing.
                Interlocked.Increment(ref nonFinalChunked);
            }
            else if (lean is null && !c.WellFramed)
            {
                Interlocked.Increment(ref leanStricter);
                stricter.AddOrUpdate(c.Story, 1, (_, n) => n + 1);
            }
            else
            {
                failures.Enqueue($"#{c.Index} {c.Method} [{c.Story}] lean {lean?.ToString() ?? "refuses"}, HttpClient {reference?.ToString() ?? "refuses: " + why}\n" +
                    $"    origin served it {(origin.Served(c.Index) ? "yes" : "no")}; {Escape(c.Bytes)}");
            }
        });

        output.WriteLine($"{ran} responses in {clock.Elapsed.TotalSeconds:F1} s ({retried} sent again): both read alike {agreeAccepted}, both refuse {agreeRefused}, " +
            $"lean refuses a near miss HttpClient reads {leanStricter}, " +
            $"lean reads a non-final chunked to the close (RFC 9112 6.3) where HttpClient does not {nonFinalChunked}, disagreements {failures.Count}");
        foreach (var (story, n) in stricter.OrderByDescending(s => s.Value))
        {
            output.WriteLine($"  lean stricter: {n} x [{story}]");
        }
        foreach (var f in failures.Take(20))
        {
            output.WriteLine(f);
        }
        Assert.Empty(origin.Errors);
        Assert.True(ran >= 300, $"only {ran} responses ran within {Budget}");
        Assert.True(agreeAccepted >= ran / 2, $"only {agreeAccepted} of {ran} read alike");
        Assert.True(agreeRefused > 0, "no response was refused by both: the near misses are not near enough");
        Assert.True(failures.IsEmpty, $"{failures.Count} responses framed otherwise than HttpClient frames them:\n" + string.Join("\n", failures.Take(10)));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA", 200, 5)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=\"a;b\"\r\nhello\r\n000\r\nX-Trailer: 1\r\n\r\n", 200, 5)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, 3)]
    [InlineData("HTTP/1.1 200 OK\r\n\r\nto the close", 200, 12)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, 2)]
    [InlineData("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx", 404, 1)]
    [InlineData("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 204, 0)]
    [InlineData("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 304, 0)]
    [InlineData("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", 200, 0)]
    public void LeanFraming_WellFramedResponse_ReadsItsStatusAndBody(string response, int status, long body) =>
        Assert.Equal(new Read(status, body), LeanFraming(Encoding.Latin1.GetBytes(response), isHead: false));

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 13)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\nrawbytes", 8)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 3)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\nabcd", 4)]
    public void LeanFraming_CodingsNotEndingInChunked_AreReadToTheClose(string response, long body) =>
        Assert.Equal(new Read(200, body), LeanFraming(Encoding.Latin1.GetBytes(response), isHead: false));

    [Fact]
    public void LeanFraming_Head_HasNoBodyWhateverTheLength() =>
        Assert.Equal(new Read(200, 0), LeanFraming("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"u8.ToArray(), isHead: true));

    [Theory]
    [InlineData("conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")]
    [InlineData("length list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello")]
    [InlineData("signed length", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello")]
    [InlineData("length overflow", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nhello")]
    [InlineData("body cut short", "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello")]
    [InlineData("chunked without its last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")]
    [InlineData("chunk data longer than its size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n")]
    [InlineData("chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\ng\r\nabc\r\n0\r\n\r\n")]
    [InlineData("chunk size of 16 hex digits", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000003\r\nabc\r\n0\r\n\r\n")]
    [InlineData("bare LF after chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n")]
    [InlineData("status below 100", "HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("four-digit status", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("HTTP/2 status line", "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("unasked 101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")]
    [InlineData("folded header", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n")]
    [InlineData("bare LF in the head", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n")]
    [InlineData("bare LF in the reason phrase", "HTTP/1.1 200 O\nK\r\nContent-Length: 2\r\n\r\nokEXTRA")]
    [InlineData("bare CR in the reason phrase", "HTTP/1.1 200 O\rK\r\nContent-Length: 2\r\n\r\nokEXTRA")]
    [InlineData("NUL in the reason phrase", "HTTP/1.1 200 O\u0000K\r\nContent-Length: 2\r\n\r\nok")]
    [InlineData("head never ends", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n")]
    public void LeanFraming_NearMiss_IsRefused(string shows, string response) =>
        Assert.True(LeanFraming(Encoding.Latin1.GetBytes(response), isHead: false) is null, shows);

    private static async Task<(Read?, string?)> ReadWithHttpClientAsync(HttpClient client, int port, GeneratedResponse c)
    {
        using var cts = new CancellationTokenSource(CaseDeadline);
        using var request = new HttpRequestMessage(new HttpMethod(c.Method), $"http://127.0.0.1:{port}/c/{c.Index}");
        request.Headers.ConnectionClose = true; // one response per connection: the origin closes after each
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
            var buffer = new byte[16 * 1024];
            long total = 0;
            int n;
            while ((n = await body.ReadAsync(buffer, cts.Token)) > 0)
            {
                total += n;
            }
            return (new Read((int)response.StatusCode, total), null);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return (null, ex.GetBaseException().Message);
        }
    }

    private static string Escape(byte[] bytes)
    {
        var text = Encoding.Latin1.GetString(bytes, 0, Math.Min(bytes.Length, 400));
        return string.Concat(text.Select(c => c is >= ' ' and < '\u007f' ? c.ToString() : c switch
        {
            '\r' => "\\r",
            '\n' => "\\n",
            _ => $"\\x{(int)c:x2}",
        })) + (bytes.Length > 400 ? $"... ({bytes.Length} bytes)" : "");
    }

    /// <summary>A raw origin: reads one request head, answers <c>/c/N</c> with the bytes for case N, and closes.</summary>
    private sealed class OneShotOrigin : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Func<int, byte[]> _answer;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;

        public OneShotOrigin(Func<int, byte[]> answer)
        {
            _answer = answer;
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        private readonly ConcurrentDictionary<int, bool> _served = new();

        /// <summary>Whether case <paramref name="index"/>'s bytes were all sent.</summary>
        public bool Served(int index) => _served.ContainsKey(index);

        /// <summary>Faults of the origin itself (a harness bug, not a finding).</summary>
        public ConcurrentQueue<string> Errors { get; } = new();

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
                _ = ServeAsync(socket);
            }
        }

        private async Task ServeAsync(Socket socket)
        {
            using var _ = socket;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            cts.CancelAfter(CaseDeadline);
            var head = new byte[8192];
            int filled = 0;
            try
            {
                while (head.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) < 0 && filled < head.Length)
                {
                    int n = await socket.ReceiveAsync(head.AsMemory(filled), SocketFlags.None, cts.Token);
                    if (n == 0)
                    {
                        return;
                    }
                    filled += n;
                }
                var line = Encoding.ASCII.GetString(head, 0, filled);
                int from = line.IndexOf("/c/", StringComparison.Ordinal) + 3;
                int index = int.Parse(line.AsSpan(from, line.IndexOf(' ', from) - from), System.Globalization.CultureInfo.InvariantCulture);
                await socket.SendAsync(_answer(index), SocketFlags.None, cts.Token);
                _served[index] = true;
                // A graceful close: FIN, then wait for the client's, so that no reset can discard what it has not read.
                socket.Shutdown(SocketShutdown.Send);
                while (await socket.ReceiveAsync(head, SocketFlags.None, cts.Token) > 0)
                {
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                // The client gave up first; its side of the case records that.
            }
            catch (Exception ex)
            {
                Errors.Enqueue(ex.ToString());
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            await _accepting;
            _stop.Dispose();
        }
    }
}
