using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
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
/// <see cref="ForwardingStage.TryResolveTarget"/> resolves its target; everything else goes to Kestrel. So every head the
/// lean stage serves must be one Kestrel, configured as the service configures it (Hosting/ProxyHost.cs), also accepts,
/// reading the same method, the same raw target and the same headers: otherwise the two paths see different requests.
/// Heads from <see cref="RequestHeadGenerator"/>, seeded, sent over raw sockets; bounded by a case count and a time budget.
/// </summary>
public sealed class PlainRequestParserDifferentialTests(ITestOutputHelper output)
{
    private const int MaxHead = 32 * 1024; // Proxy:MaxHeadBytes default
    private const int MaxLine = 16 * 1024; // Proxy:MaxRequestLineBytes default
    private const int Cases = 3000;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CaseDeadline = TimeSpan.FromSeconds(10);

    private sealed record Echo(string Method, string Target, List<string[]> Headers);

    private sealed record KestrelAnswer(int Status, Echo? Echo);

    [Fact]
    public async Task EveryHeadTheLeanStageServes_KestrelAcceptsWithTheSameMethodTargetAndHeaders()
    {
        await using var kestrel = await EchoServer.StartAsync();
        var generator = new RequestHeadGenerator(seed: 16);
        var heads = Enumerable.Range(0, Cases).Select(_ => generator.Next()).ToList();

        int ran = 0, parserSimple = 0, leanServes = 0, kestrelAccepts = 0, both = 0;
        var disagreements = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(heads, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (item, ct) =>
        {
            if (clock.Elapsed > Budget)
            {
                return;
            }
            var bytes = Encoding.Latin1.GetBytes(item.Head);
            using var head = new PlainRequestHead();
            var check = PlainRequestParser.TryParse(new ReadOnlySequence<byte>(bytes), MaxHead, MaxLine, head);
            bool serves = check == HeadCheck.Simple && ForwardingStage.TryResolveTarget(head.Target, https: false, out _, out _);
            var answer = await kestrel.SendAsync(bytes, CaseDeadline);
            Interlocked.Increment(ref ran);
            if (check == HeadCheck.Simple)
            {
                Interlocked.Increment(ref parserSimple);
            }
            if (answer.Status == 200)
            {
                Interlocked.Increment(ref kestrelAccepts);
            }
            if (!serves)
            {
                return;
            }
            Interlocked.Increment(ref leanServes);
            string? why = answer.Echo is null ? $"Kestrel answered {answer.Status}" : Differences(head, answer.Echo);
            if (why is null)
            {
                Interlocked.Increment(ref both);
                return;
            }
            disagreements.Enqueue($"{why} [{item.Story}]\n    {Escape(item.Head)}");
        });

        output.WriteLine($"{ran} heads in {clock.Elapsed.TotalSeconds:F1} s: parser Simple {parserSimple}, lean stage serves {leanServes}, " +
            $"Kestrel accepts {kestrelAccepts}, served by the lean stage and read alike by Kestrel {both}, disagreements {disagreements.Count}");
        foreach (var d in disagreements.Take(20))
        {
            output.WriteLine(d);
        }
        // Not vacuous: enough heads ran, and both parsers accepted a good share and refused some.
        Assert.True(ran >= 500, $"only {ran} heads ran within {Budget}");
        Assert.True(leanServes >= ran / 5 && leanServes < ran, $"the lean stage served {leanServes} of {ran}");
        Assert.True(kestrelAccepts < ran, "Kestrel refused none");
        Assert.True(disagreements.IsEmpty, $"{disagreements.Count} heads the lean stage serves are read otherwise by Kestrel:\n" +
            string.Join("\n", disagreements.Take(10)));
    }

    /// <summary>Null when Kestrel read the head as the lean parser did; otherwise what differs.</summary>
    private static string? Differences(PlainRequestHead head, Echo echo)
    {
        if (echo.Method != head.Method)
        {
            return $"method: lean {head.Method}, Kestrel {echo.Method}";
        }
        if (echo.Target != head.Target)
        {
            return $"target: lean {head.Target}, Kestrel {echo.Target}";
        }
        // Every header line as the lean parser delimited it (the request line and blank line excluded), OWS trimmed.
        var text = Encoding.Latin1.GetString(head.Bytes, 0, head.Length - 4);
        var lean = text.Split("\r\n").Skip(1)
            .Select(l => (Name: l[..l.IndexOf(':')], Value: l[(l.IndexOf(':') + 1)..].Trim(' ', '\t')))
            .Where(h => !h.Name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            .GroupBy(h => h.Name, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Select(h => Utf8(h.Value)).ToList(), StringComparer.OrdinalIgnoreCase);
        // Host: the service sets AllowHostHeaderOverride, so Kestrel reports the target's authority; the lean stage
        // sends that authority too (Host is never forwarded as received).
        var kestrel = echo.Headers
            .Where(h => !h[0].Equals("Host", StringComparison.OrdinalIgnoreCase))
            .GroupBy(h => h[0], StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Select(h => UnfoldConnection(h[0], h[1])).ToList(), StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in lean)
        {
            if (!kestrel.TryGetValue(name, out var theirs))
            {
                return $"header {name}: lean [{string.Join(" | ", values)}], Kestrel none";
            }
            if (!values.SequenceEqual(theirs))
            {
                return $"header {name}: lean [{string.Join(" | ", values)}], Kestrel [{string.Join(" | ", theirs)}]";
            }
        }
        foreach (var name in kestrel.Keys.Where(n => !lean.ContainsKey(n)))
        {
            return $"header {name}: Kestrel [{string.Join(" | ", kestrel[name])}], lean none";
        }
        return null;
    }

    /// <summary>The Connection value as received: the service's encoding appends a suffix so Kestrel does not fold it.</summary>
    private static string UnfoldConnection(string name, string value) =>
        name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && value.EndsWith(ConnectionHeaderEncoding.Unfoldable, StringComparison.Ordinal)
            ? value[..^ConnectionHeaderEncoding.Unfoldable.Length]
            : value;

    /// <summary>The value's bytes as Kestrel decodes them by default (UTF-8); a lone obs-text byte shows as U+FFFD.</summary>
    private static string Utf8(string latin1) => Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(latin1));

    private static string Escape(string head) =>
        string.Concat(head.Select(c => c is >= ' ' and < '\u007f' ? c.ToString() : c switch
        {
            '\r' => "\\r",
            '\n' => "\\n",
            '\t' => "\\t",
            _ => $"\\x{(int)c:x2}",
        }));

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
            // As ProxyHost: bare-LF line endings refused (process-wide, as in the service).
            AppContext.SetSwitch("Microsoft.AspNetCore.Server.Kestrel.DisableHttp1LineFeedTerminators", true);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            ListenOptions? listen = null;
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.AddServerHeader = false;
                k.AllowHostHeaderOverride = true;
                k.RequestHeaderEncodingSelector = ConnectionHeaderEncoding.Select;
                k.Limits.MaxRequestHeadersTotalSize = MaxHead;
                k.Limits.MaxRequestLineSize = MaxLine;
                k.Limits.MaxRequestBodySize = null;
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
                var echo = new Echo(request.Method, context.Features.Get<IHttpRequestFeature>()!.RawTarget,
                    request.Headers.SelectMany(h => h.Value.Select(v => new[] { h.Key, v ?? "" })).ToList());
                // In a header, not the body, so that HEAD requests are echoed too.
                context.Response.Headers["X-Echo"] = Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(echo));
                context.Response.ContentLength = 0;
                return Task.CompletedTask;
            });
            await app.StartAsync();
            return new EchoServer(app, listen!.IPEndPoint!);
        }

        /// <summary>Sends the head, half-closes (so a head Kestrel waits on ends), reads to the close.</summary>
        public async Task<KestrelAnswer> SendAsync(byte[] head, TimeSpan deadline)
        {
            using var cts = new CancellationTokenSource(deadline);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(_endPoint, cts.Token);
            var received = new MemoryStream();
            var buffer = new byte[16 * 1024];
            try
            {
                // Kestrel may answer 400 and reset before a long head is all sent.
                await socket.SendAsync(head, SocketFlags.None, cts.Token);
                socket.Shutdown(SocketShutdown.Send);
                int n;
                while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
                {
                    received.Write(buffer, 0, n);
                }
            }
            catch (SocketException)
            {
                // Kestrel may reset after its 400; what arrived before the reset is its answer.
            }
            var bytes = received.ToArray();
            if (bytes.Length < 12)
            {
                return new KestrelAnswer(0, null);
            }
            int status = int.Parse(Encoding.ASCII.GetString(bytes, 9, 3), System.Globalization.CultureInfo.InvariantCulture);
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
