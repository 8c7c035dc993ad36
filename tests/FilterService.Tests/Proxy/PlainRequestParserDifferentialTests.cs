using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FilterService.Hosting;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace FilterService.Tests.Proxy;

/// <summary>
/// The lean HTTP stage serves a head only when <see cref="PlainRequestParser"/> says Simple and
/// <see cref="HttpTarget.TryResolve"/> resolves its target; everything else goes to Kestrel. So every head the
/// lean stage serves must be one that Kestrel, configured as the service configures it (<see cref="ProxyHost.ConfigureHttp"/>),
/// also accepts, reading the same method, raw target, resolved URI and headers, and from which
/// <see cref="ForwardingStage"/> would forward the same header lines as the lean stage does (hop-by-hop and
/// <c>Connection</c>-named ones dropped, values byte for byte): otherwise the two paths decide on or send different requests.
/// Heads from <see cref="RequestHeadGenerator"/>, seeded (<c>DIFFTEST_SEED</c> overrides the seed; a failure prints it),
/// sent to a real Kestrel over loopback sockets; bounded by a case count and a time budget.
/// </summary>
public sealed class PlainRequestParserDifferentialTests(ITestOutputHelper output)
{
    private const int Cases = 5000;
    private const int DefaultSeed = 16;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan CaseDeadline = TimeSpan.FromSeconds(5);
    private static readonly ProxyOptions Options = new();

    private sealed record Echo(string Method, string Target, List<string[]> Headers, List<string[]> Forwarded, string? Uri, string? Host);

    private sealed record KestrelAnswer(int Status, Echo? Echo);

    [Fact]
    public async Task EveryHeadTheLeanStageServes_KestrelAcceptsWithTheSameMethodTargetAndHeaders()
    {
        int seed = DiffTestSeed.Get(DefaultSeed);
        await using var kestrel = await EchoServer.StartAsync();
        var generator = new RequestHeadGenerator(seed);
        var heads = Enumerable.Range(0, Cases).Select(_ => generator.Next()).ToList();

        int ran = 0, leanServes = 0, kestrelAccepts = 0;
        var disagreements = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(heads, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (item, _) =>
        {
            if (clock.Elapsed > Budget)
            {
                return;
            }
            Interlocked.Increment(ref ran);
            var bytes = Encoding.Latin1.GetBytes(item.Head);
            using var head = new PlainRequestHead();
            var check = PlainRequestParser.TryParse(new ReadOnlySequence<byte>(bytes), Options.MaxHeadBytes, Options.MaxRequestLineBytes, head);
            if (check != HeadCheck.Simple || !HttpTarget.TryResolve(head.Target, https: false, out var resolved))
            {
                return; // Kestrel's alone, as in the service
            }
            Interlocked.Increment(ref leanServes);
            var answer = await kestrel.SendAsync(bytes, CaseDeadline);
            if (answer.Status == 200)
            {
                Interlocked.Increment(ref kestrelAccepts);
            }
            string? why = answer.Echo is null ? $"Kestrel answered {answer.Status}" : Differences(head, resolved, answer.Echo);
            if (why is not null)
            {
                disagreements.Enqueue($"{why} [{item.Story}]\n    {Escape(item.Head)}");
            }
        });

        output.WriteLine($"seed {seed}: {ran} heads in {clock.Elapsed.TotalSeconds:F1} s; the lean stage serves {leanServes}, " +
            $"Kestrel accepts {kestrelAccepts} of them; disagreements {disagreements.Count}");
        foreach (var d in disagreements.Take(30))
        {
            output.WriteLine(d);
        }
        string rerun = $"seed {seed} (DIFFTEST_SEED={seed} reruns it)";
        // Not vacuous: enough heads ran, and the lean stage served a good share and refused some.
        Assert.True(ran >= 1000, $"{rerun}: only {ran} heads ran within {Budget}");
        Assert.True(leanServes >= ran / 10 && leanServes < ran, $"{rerun}: the lean stage served {leanServes} of {ran}");
        Assert.True(disagreements.IsEmpty, $"{rerun}: {disagreements.Count} heads the lean stage serves are read otherwise by Kestrel:\n" +
            string.Join("\n", disagreements.Take(10)));
    }

    [Fact]
    public async Task RequestLineLimit_TheLeanStageServesExactlyTheLinesKestrelAccepts()
    {
        await using var kestrel = await EchoServer.StartAsync();
        const string prefix = "GET http://a.test/";
        const string suffix = " HTTP/1.1";
        for (int length = Options.MaxRequestLineBytes - 4; length <= Options.MaxRequestLineBytes + 1; length++)
        {
            var bytes = Encoding.ASCII.GetBytes(prefix + new string('a', length - prefix.Length - suffix.Length) + suffix + "\r\nHost: a.test\r\n\r\n");
            using var head = new PlainRequestHead();
            var check = PlainRequestParser.TryParse(new ReadOnlySequence<byte>(bytes), Options.MaxHeadBytes, Options.MaxRequestLineBytes, head);
            var answer = await kestrel.SendAsync(bytes, CaseDeadline);
            Assert.True((check == HeadCheck.Simple) == (answer.Status == 200),
                $"a request line of {length} bytes (CRLF excluded): lean {check}, Kestrel {answer.Status}");
        }
    }

    /// <summary>Null when Kestrel read the head as the lean stage did; otherwise what differs.</summary>
    private static string? Differences(PlainRequestHead head, HttpTarget resolved, Echo echo)
    {
        if (echo.Method != head.Method)
        {
            return $"method: lean {head.Method}, Kestrel {echo.Method}";
        }
        if (echo.Target != head.Target)
        {
            return $"target: lean {head.Target}, Kestrel {echo.Target}";
        }
        if (echo.Uri != resolved.Url || echo.Host != resolved.Host)
        {
            return $"resolved: lean {resolved.Url} ({resolved.Host}), Kestrel {echo.Uri} ({echo.Host})";
        }
        // Every header line as the lean parser delimited it (request line and blank line excluded).
        var lines = new List<(string Name, byte[] Value)>();
        int at = head.Bytes.AsSpan(0, head.Length).IndexOf("\r\n"u8) + 2;
        while (at < head.Length - 2)
        {
            int length = head.Bytes.AsSpan(at).IndexOf("\r\n"u8);
            lines.Add(Split(head.Bytes.AsSpan(at, length)));
            at += length + 2;
        }
        var forwarded = new List<(string Name, byte[] Value)>();
        for (int i = 0; i < head.LineCount; i++)
        {
            forwarded.Add(Split(head.Bytes.AsSpan(head.Lines[2 * i], head.Lines[2 * i + 1])));
        }
        // Host: the service lets the absolute-form target win (AllowHostHeaderOverride) and both stages send the target's
        // authority. Connection: Kestrel may fold or extend it (ConnectionHeaderEncoding); what it names is compared below,
        // by the headers forwarded.
        static bool Compared(string name) =>
            !name.Equals("Host", StringComparison.OrdinalIgnoreCase) && !name.Equals("Connection", StringComparison.OrdinalIgnoreCase);
        return Compare("header", lines.Where(l => Compared(l.Name)).ToList(), echo.Headers.Where(h => Compared(h[0])).ToList())
            ?? Compare("forwarded header", forwarded, echo.Forwarded);
    }

    private static (string Name, byte[] Value) Split(ReadOnlySpan<byte> line)
    {
        Assert.True(HttpHeaderTokens.TrySplitField(line, out var name, out var value));
        return (Encoding.ASCII.GetString(name), value.ToArray());
    }

    /// <summary>Names compared without case, values (as UTF-8 bytes, which both sides must send alike) in order per name.</summary>
    private static string? Compare(string what, List<(string Name, byte[] Value)> lean, List<string[]> kestrel)
    {
        var ours = lean.GroupBy(h => h.Name, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Select(h => Convert.ToHexString(h.Value)).ToList(), StringComparer.OrdinalIgnoreCase);
        var theirs = kestrel.GroupBy(h => h[0], StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Select(h => Convert.ToHexString(Encoding.UTF8.GetBytes(h[1]))).ToList(), StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in ours)
        {
            if (!theirs.TryGetValue(name, out var other))
            {
                return $"{what} {name}: lean [{Show(values)}], Kestrel none";
            }
            if (!values.SequenceEqual(other))
            {
                return $"{what} {name}: lean [{Show(values)}], Kestrel [{Show(other)}]";
            }
        }
        foreach (var name in theirs.Keys.Where(n => !ours.ContainsKey(n)))
        {
            return $"{what} {name}: Kestrel [{Show(theirs[name])}], lean none";
        }
        return null;
    }

    private static string Show(List<string> hexValues) =>
        string.Join(" | ", hexValues.Select(h => Escape(Encoding.Latin1.GetString(Convert.FromHexString(h)))));

    private static string Escape(string head)
    {
        var text = string.Concat(head.Select(c => c is >= ' ' and < '\u007f' ? c.ToString() : c switch
        {
            '\r' => "\\r",
            '\n' => "\\n",
            '\t' => "\\t",
            _ => $"\\x{(int)c:x2}",
        }));
        return text.Length > 600 ? text[..600] + $"... ({text.Length} chars)" : text;
    }

    /// <summary>Kestrel with the service's HTTP/1.1 settings, answering every request with what it read, as JSON.</summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly IPEndPoint _endPoint;

        private EchoServer(WebApplication app, IPEndPoint endPoint)
        {
            _app = app;
            _endPoint = endPoint;
        }

        public static async Task<EchoServer> StartAsync()
        {
            // As ProxyHost.Build: bare-LF line endings refused (process-wide, as in the service).
            AppContext.SetSwitch("Microsoft.AspNetCore.Server.Kestrel.DisableHttp1LineFeedTerminators", true);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            ListenOptions? listen = null;
            builder.WebHost.ConfigureKestrel(k =>
            {
                ProxyHost.ConfigureHttp(k, Options);
                k.Listen(IPAddress.Loopback, 0, lo =>
                {
                    lo.Protocols = HttpProtocols.Http1;
                    listen = lo;
                });
            });
            var app = builder.Build();
            app.Run(context =>
            {
                var request = context.Request;
                string raw = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
                bool resolved = HttpTarget.TryResolveUri(raw, https: false, out var uri, out var host);
                var connection = request.Headers.Connection;
                var echo = new Echo(request.Method, raw,
                    request.Headers.SelectMany(h => h.Value.Select(v => new[] { h.Key, v ?? "" })).ToList(),
                    request.Headers.Where(h => ForwardingStage.IsForwarded(h.Key, connection))
                        .SelectMany(h => h.Value.Select(v => new[] { h.Key, v ?? "" })).ToList(),
                    resolved ? uri.AbsoluteUri : null, resolved ? host : null);
                // In a header, not the body, so that HEAD requests are echoed too.
                context.Response.Headers["X-Echo"] = Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(echo));
                context.Response.ContentLength = 0;
                return Task.CompletedTask;
            });
            await app.StartAsync();
            return new EchoServer(app, listen!.IPEndPoint!);
        }

        /// <summary>Sends the head and reads the response head (Kestrel's 400 closes the connection; a 200 has no body).</summary>
        public async Task<KestrelAnswer> SendAsync(byte[] head, TimeSpan deadline)
        {
            using var cts = new CancellationTokenSource(deadline);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(_endPoint, cts.Token);
            var received = new MemoryStream();
            var buffer = new byte[16 * 1024];
            try
            {
                await socket.SendAsync(head, SocketFlags.None, cts.Token);
                int n;
                while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
                {
                    received.Write(buffer, 0, n);
                    if (received.GetBuffer().AsSpan(0, (int)received.Length).IndexOf("\r\n\r\n"u8) >= 0)
                    {
                        break;
                    }
                }
            }
            catch (SocketException)
            {
                // Kestrel may reset after its 400; what arrived before the reset is its answer.
            }
            catch (OperationCanceledException)
            {
                return new KestrelAnswer(-1, null); // no answer within the deadline
            }
            var bytes = received.ToArray();
            if (bytes.Length < 12)
            {
                return new KestrelAnswer(0, null);
            }
            int status = int.Parse(Encoding.ASCII.GetString(bytes, 9, 3), CultureInfo.InvariantCulture);
            if (status != 200)
            {
                return new KestrelAnswer(status, null);
            }
            var text = Encoding.ASCII.GetString(bytes);
            int start = text.IndexOf("\r\nX-Echo: ", StringComparison.Ordinal) + "\r\nX-Echo: ".Length;
            var echo = JsonSerializer.Deserialize<Echo>(Convert.FromBase64String(text[start..text.IndexOf('\r', start)]));
            return new KestrelAnswer(status, echo);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
