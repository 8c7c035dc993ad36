using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FilterService.Tests.TestSupport;
using Xunit.Abstractions;
using Tags = FilterService.Tests.Fuzz.HeadGrammar.Tags;

namespace FilterService.Tests.Fuzz;

/// <summary>
/// Request heads from <see cref="HeadGrammar"/>, sent over raw sockets to the service running as its own process, with
/// the fast paths (tunnel loop, lean HTTP stage) on and off. Blocked hosts and the listed IP are served by an origin
/// that records every byte it gets; the allowed host by another, whose requests are checked against the policy by a
/// naive reference. Seeded and bounded in time; README.md has the longer run.
/// </summary>
public sealed class RequestHeadFuzzTests(ITestOutputHelper output)
{
    /// <summary>
    /// Generators that still find bypasses on this branch, each with the issue-15 item another branch fixes. A finding is
    /// "known" only if its case carries one of these tags and the tag can explain that kind of finding. Empty this as the
    /// fixes are merged: the test then fails on any of them.
    /// </summary>
    internal static readonly Dictionary<string, string> KnownIssues = new()
    {
        // Empty: issue 15 items 1 (method case), 2 (URL paths) and 3 (IP literals over CONNECT), which these generators
        // found, are fixed. A newly found defect may be listed here only with its issue, while it is being fixed.
    };

    /// <summary>Which generators can explain each kind of finding.</summary>
    private static readonly Dictionary<string, string[]> Explains = new()
    {
        ["blocked-origin-reached"] = [Tags.IpLiteralConnect, Tags.IpLiteralHttp, Tags.MissingHost, Tags.MethodCase],
        ["blocked-tunnel-established"] = [Tags.IpLiteralConnect],
        ["blocked-prefix-forwarded"] = [Tags.PathForm, Tags.MethodCase],
        ["post-edit-forwarded"] = [Tags.MethodCase, Tags.PathForm],
    };

    public static TheoryData<bool> FastPaths() => new(true, false);

    [Theory]
    [MemberData(nameof(FastPaths))]
    public async Task MustShow_FuzzedRequestHeads_NoCrashNoUnhandledExceptionNoBlockedRequestForwarded(bool fastPaths)
    {
        var policy = WritePolicy();
        try
        {
            await FuzzAsync(fastPaths, policy);
        }
        finally
        {
            try
            {
                Directory.Delete(policy, recursive: true);
            }
            catch (IOException)
            {
                // Left in the temporary directory; the verdict stands.
            }
        }
    }

    private async Task FuzzAsync(bool fastPaths, string policy)
    {
        int seed = EnvInt("FUZZ_SEED") ?? 15;
        long? heads = EnvInt("FUZZ_HEADS");
        var budget = TimeSpan.FromSeconds(EnvInt("FUZZ_SECONDS") ?? (heads is null ? 20 : 4 * 3600));
        int workers = EnvInt("FUZZ_WORKERS") ?? 32;

        await using var blocked = RecordingOrigin.Start();
        await using var mixed = RecordingOrigin.Start();
        var hellos = new Dictionary<string, byte[]>();
        foreach (var name in HeadGrammar.HelloNames)
        {
            hellos[name] = await TlsHello.CaptureAsync(name.Length == 0 ? "127.0.0.1" : name);
        }
        await using var service = await ServiceProcess.StartAsync([
            $"--Policy:Path={policy}", $"--Audit:Path={Path.Combine(policy, "logs")}", "--Audit:Log=Blocked",
            "--Proxy:AllowLoopbackUpstream=true", "--Proxy:ConnectPorts=*",
            $"--Proxy:HostOverrides:{HeadGrammar.BlockedHost}=127.0.0.1:{blocked.Port}",
            $"--Proxy:HostOverrides:{HeadGrammar.BlockedSubdomain}=127.0.0.1:{blocked.Port}",
            $"--Proxy:HostOverrides:{HeadGrammar.MixedHost}=127.0.0.1:{mixed.Port}",
            $"--Proxy:TunnelLoop={fastPaths}", $"--Proxy:LeanHttp={fastPaths}",
            "--Proxy:HeadTimeout=00:00:02", "--Proxy:ClientHelloTimeout=00:00:02", "--Proxy:UpstreamConnectTimeout=00:00:02",
            "--Proxy:UpstreamReadTimeout=00:00:05", "--Proxy:MaxConnectionsPerClient=4096", "--Proxy:MaxAuthFailures=1000000", "--Proxy:MaxAuthFailuresPerAddress=1000000",
        ]);
        var proxy = new IPEndPoint(IPAddress.Loopback, service.ProxyPort);

        // Controls: the set-up forwards what it should and blocks what it should, so a finding of none means something.
        Assert.Contains("200 OK", await SendAsync(proxy, $"GET http://{HeadGrammar.MixedHost}/ok HTTP/1.1\r\nHost: {HeadGrammar.MixedHost}\r\nuser-agent: fuzz-control\r\n\r\n"));
        // And it takes the paths asked for: the lean stage relays the client's header lines as sent; Kestrel's parser
        // (the general path) gives a known header its canonical name.
        await mixed.SettleAsync(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10));
        var control = Assert.Single(mixed.Arrivals, a => a.Text.Contains("fuzz-control", StringComparison.Ordinal));
        Assert.Contains(fastPaths ? "\r\nuser-agent: fuzz-control\r\n" : "\r\nUser-Agent: fuzz-control\r\n", control.Text);
        Assert.StartsWith("HTTP/1.1 403", await SendAsync(proxy, $"GET http://{HeadGrammar.BlockedHost}/ HTTP/1.1\r\nHost: {HeadGrammar.BlockedHost}\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 403", await SendAsync(proxy, $"GET http://{HeadGrammar.MixedHost}{HeadGrammar.BlockedPrefix}/x HTTP/1.1\r\nHost: {HeadGrammar.MixedHost}\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 403", await SendAsync(proxy, $"POST http://{HeadGrammar.MixedHost}{HeadGrammar.EditPath}?action=submit HTTP/1.1\r\nHost: {HeadGrammar.MixedHost}\r\nContent-Length: 0\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 403", await SendAsync(proxy, $"CONNECT 127.0.0.1:{blocked.Port} HTTP/1.1\r\n\r\n"));
        Assert.Equal(0, blocked.Connections);

        var grammar = new HeadGrammar(seed, blocked.Port, hellos);
        var stats = new ConcurrentDictionary<string, int>();
        var examples = new ConcurrentDictionary<string, FuzzCase>();
        var tunnelled = new ConcurrentBag<long>(); // cases whose CONNECT to a blocked target was answered 200
        var unanswered = new ConcurrentBag<long>(); // cases with a CONNECT to a blocked target and no status seen
        var failed = new ConcurrentBag<long>(); // cases answered 500
        long next = -1;
        var clock = Stopwatch.StartNew();
        var runs = Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < budget && !service.HasExited)
            {
                long index = Interlocked.Increment(ref next);
                if (heads is { } n && index >= n)
                {
                    return;
                }
                var fuzzCase = grammar.Generate(index);
                var (answer, established) = await RunCaseAsync(proxy, fuzzCase);
                if (established && fuzzCase.Tags.Contains(Tags.ConnectToBlocked) && !fuzzCase.Tags.Contains(Tags.ConnectToOther))
                {
                    tunnelled.Add(fuzzCase.Index);
                }
                else if (fuzzCase.Tags.Contains(Tags.ConnectToBlocked) && !char.IsAsciiDigit(answer[0]))
                {
                    unanswered.Add(fuzzCase.Index); // reset or closed: a 200 may have been lost to the reset
                }
                stats.AddOrUpdate(answer, 1, (_, c) => c + 1);
                if (answer == "500")
                {
                    failed.Add(fuzzCase.Index);
                }
                examples.TryAdd(answer, fuzzCase);
            }
        })).ToArray();
        await Task.WhenAll(runs);
        long sent = Math.Min(Interlocked.Read(ref next), heads ?? long.MaxValue);
        var elapsed = clock.Elapsed;
        // Each origin quiet for a second of its own; the two waits overlap rather than run one after the other.
        await Task.WhenAll(blocked.SettleAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15)),
            mixed.SettleAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15)));

        // The oracle: nothing may reach the blocked origin; nothing under the blocked prefix, and no POST to the edit path, may reach the mixed one.
        var findings = new List<(string Kind, OriginArrival Arrival)>();
        var tunnelledIds = tunnelled.Select(i => HeadGrammar.IdOf(i, 0)).ToHashSet();
        var arrivedIds = blocked.Arrivals.SelectMany(a => a.CaseIds).ToHashSet();
        findings.AddRange(blocked.Arrivals.Where(a => a.CaseIds.Count > 0 && !a.CaseIds.All(tunnelledIds.Contains)).Select(a => ("blocked-origin-reached", a)));
        // A tunnel carries no case id until its ClientHello; the client saw which CONNECTs were established.
        findings.AddRange(tunnelled.Select(i => ("blocked-tunnel-established", new OriginArrival([], [HeadGrammar.IdOf(i, 0)]))));
        // Connections without an id are explained by established tunnels whose id never arrived; beyond those, only by a
        // case that may have been established unseen (its 200 lost to a reset), each then counted as a finding of its own.
        int unattributed = blocked.Arrivals.Count(a => a.CaseIds.Count == 0);
        int silentTunnels = tunnelledIds.Count(id => !arrivedIds.Contains(id));
        if (unattributed > silentTunnels)
        {
            bool Explicable(long i) => grammar.Generate(i).Tags.Any(t => KnownIssues.ContainsKey(t) && Explains["blocked-tunnel-established"].Contains(t));
            var suspects = unanswered.OrderBy(i => Explicable(i) ? 0 : 1).ThenBy(i => i).Take(unattributed - silentTunnels).ToList();
            findings.AddRange(suspects.Select(i => ("blocked-tunnel-established", new OriginArrival(
                Encoding.ASCII.GetBytes("(a connection without a case id; this case's answer was lost)"), [HeadGrammar.IdOf(i, 0)]))));
            if (suspects.Count < unattributed - silentTunnels)
            {
                findings.Add(("blocked-origin-reached", new OriginArrival(Encoding.ASCII.GetBytes(
                    $"{unattributed} connection(s) without a case id; the clients saw {silentTunnels} tunnel(s) to blocked targets established without one and {unanswered.Count} unanswered"), [])));
            }
        }

        foreach (var a in mixed.Arrivals)
        {
            foreach (var (method, target) in a.RequestLines())
            {
                var path = CanonicalPath(target);
                if (path == HeadGrammar.BlockedPrefix || path.StartsWith(HeadGrammar.BlockedPrefix + "/", StringComparison.Ordinal))
                {
                    findings.Add(("blocked-prefix-forwarded", a));
                }
                else if (method == "POST" && path.StartsWith(HeadGrammar.EditPath, StringComparison.Ordinal))
                {
                    findings.Add(("post-edit-forwarded", a));
                }
            }
        }
        var known = new Dictionary<string, (int Count, FuzzCase Example)>();
        var fresh = new List<string>();
        foreach (var (kind, arrival) in findings)
        {
            var cases = arrival.CaseIds.Select(id => grammar.Generate(HeadGrammar.IndexOf(id))).ToList();
            var explaining = cases.SelectMany(c => c.Tags.Where(t => KnownIssues.ContainsKey(t) && Explains[kind].Contains(t)).Select(t => (Tag: t, Case: c))).FirstOrDefault();
            if (explaining.Tag is not null)
            {
                known[explaining.Tag] = known.TryGetValue(explaining.Tag, out var k) ? (k.Count + 1, k.Example) : (1, explaining.Case);
                continue;
            }
            fresh.Add($"{kind}: the origin got {Quote(arrival.Text)}\n" + (cases.Count == 0
                ? "  (no case id arrived with it)"
                : string.Join("\n", cases.Select(c => $"  FUZZ_SEED={seed} case {c.Index} [{string.Join(",", c.Tags.Order())}]{(c.HalfClose ? " then half-close" : "")}: {c.Literal()}"))));
        }

        output.WriteLine($"fast paths {(fastPaths ? "on" : "off")}: seed {seed}, {sent:N0} heads in {elapsed.TotalSeconds:F1} s ({sent / Math.Max(0.001, elapsed.TotalSeconds):N0}/s), {workers} connections at a time");
        output.WriteLine("answers: " + string.Join(", ", stats.OrderByDescending(s => s.Value).Select(s => $"{s.Key} {s.Value:N0}")));
        output.WriteLine($"origin arrivals: blocked {blocked.Arrivals.Count:N0}, mixed {mixed.Arrivals.Count:N0}; findings {findings.Count:N0}, known {known.Values.Sum(k => k.Count):N0}, new {fresh.Count:N0}");
        foreach (var (tag, (count, example)) in known)
        {
            output.WriteLine($"known ({KnownIssues[tag]}): {count:N0}, e.g. case {example.Index}: {example.Literal()}");
        }
        foreach (var (answer, example) in examples)
        {
            output.WriteLine($"example {answer}: {example.Literal()}");
        }
        foreach (var f in fresh.Take(20))
        {
            output.WriteLine("NEW " + f);
        }

        Assert.True(sent > 0, "no heads were sent");
        Assert.True(mixed.Arrivals.Count > 0, "nothing reached the allowed origin: the fuzzer tested nothing");
        Assert.False(service.HasExited, "the service exited:\n" + Tail(service.Output));
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            var health = await http.GetAsync($"http://127.0.0.1:{service.AdminPort}/health");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
        var log = service.Output;
        var levels = log.Split('\n').Where(l => l.Length > 5 && l[4] == ':' && !l.StartsWith(' ')).GroupBy(l => l[..5]).Select(g => $"{g.Key} {g.Count():N0}");
        output.WriteLine("service log lines: " + string.Join(", ", levels));
        var lines = log.Split('\n');
        foreach (var at in Enumerable.Range(0, lines.Length).Where(i => lines[i].StartsWith("fail:", StringComparison.Ordinal)).Take(3))
        {
            output.WriteLine(string.Join("\n", lines.Skip(at).Take(8)));
        }
        // An unhandled exception is a finding too. Known: item 1's 500 for a HEAD spelt in another case (Kestrel does not
        // take it as HEAD, the forwarder sends HEAD, and the origin's bodiless answer is short of its Content-Length).
        var exceptions = Enumerable.Range(0, lines.Length - 2)
            .Where(i => lines[i].Contains("unhandled exception", StringComparison.OrdinalIgnoreCase))
            .Select(i => lines[i + 1].Trim()).ToList();
        var failedCases = failed.Select(i => grammar.Generate(i)).ToList();
        bool exceptionsKnown = KnownIssues.ContainsKey(Tags.MethodCase)
            && exceptions.All(e => e.StartsWith("System.InvalidOperationException: Response Content-Length mismatch: too few bytes written", StringComparison.Ordinal))
            && failedCases.All(c => c.Tags.Contains(Tags.MethodCase));
        if (exceptions.Count > 0)
        {
            output.WriteLine($"{(exceptionsKnown ? "known (" + KnownIssues[Tags.MethodCase] + ")" : "NEW")}: {exceptions.Count} unhandled exception(s), {failedCases.Count} answer(s) 500, e.g. "
                + string.Join("; ", exceptions.Distinct().Take(3)) + (failedCases.Count > 0 ? $"; case {failedCases[0].Index}: {failedCases[0].Literal()}" : ""));
        }
        Assert.True(exceptions.Count == 0 || exceptionsKnown, $"{exceptions.Count} unhandled exception(s) in the service's output:\n{string.Join("\n", exceptions.Distinct().Take(5))}\n"
            + string.Join("\n", failedCases.Take(5).Select(c => $"  FUZZ_SEED={seed} case {c.Index} [{string.Join(",", c.Tags.Order())}]: {c.Literal()}")));
        Assert.DoesNotContain("crit:", log);
        Assert.True(fresh.Count == 0, $"{fresh.Count} request(s) to a blocked host, prefix or method reached an origin:\n{string.Join("\n", fresh.Take(10))}");
    }

    /// <summary>
    /// The naive reference for where a forwarded target lands: the path without query, percent-decoded until it stops
    /// changing, segment parameters (<c>;x</c>) dropped, empty and <c>.</c> segments dropped, <c>..</c> applied.
    /// </summary>
    internal static string CanonicalPath(string target)
    {
        var path = target;
        int scheme = path.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0 && scheme < 8)
        {
            int slash = path.IndexOf('/', scheme + 3);
            path = slash < 0 ? "/" : path[slash..];
        }
        int q = path.IndexOfAny(['?', '#']);
        if (q >= 0)
        {
            path = path[..q];
        }
        for (int i = 0; i < 8; i++)
        {
            var decoded = Uri.UnescapeDataString(path);
            if (decoded == path)
            {
                break;
            }
            path = decoded;
        }
        var segments = new List<string>();
        foreach (var raw in path.Split('/'))
        {
            var segment = raw.Split(';')[0];
            if (segment is "" or ".")
            {
                continue;
            }
            if (segment == "..")
            {
                if (segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }
                continue;
            }
            segments.Add(segment);
        }
        return "/" + string.Join('/', segments);
    }

    [Theory]
    [InlineData("/terror/recruitment/a", "/terror/recruitment/a")]
    [InlineData("//terror//recruitment/a?x=1", "/terror/recruitment/a")]
    [InlineData("/terror%2frecruitment/a", "/terror/recruitment/a")]
    [InlineData("/%2fterror/recruitment;x=1/a", "/terror/recruitment/a")]
    [InlineData("/terror%252frecruitment", "/terror/recruitment")]
    [InlineData("/x/../terror/./recruitment", "/terror/recruitment")]
    [InlineData("http://mixed.test:80/%74error/recruitment", "/terror/recruitment")]
    public void CanonicalPath_NaiveReference_MapsEveryGeneratedFormBack(string target, string expected) =>
        Assert.Equal(expected, CanonicalPath(target));

    [Fact]
    public void Grammar_SameSeedAndIndex_SameBytes()
    {
        var hellos = HeadGrammar.HelloNames.ToDictionary(n => n, _ => new byte[64]);
        var a = new HeadGrammar(7, 1234, hellos);
        var b = new HeadGrammar(7, 1234, hellos);
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(a.Generate(i).Bytes, b.Generate(i).Bytes);
        }
        Assert.NotEqual(a.Generate(1).Bytes, new HeadGrammar(8, 1234, hellos).Generate(1).Bytes);
    }

    /// <summary>
    /// Sends one case and reads what comes back: until the proxy closes, 150 ms after the last bytes once an answer has
    /// begun, or 3 s (the proxy's head deadline is 2 s). Returns the first status code, or how the connection ended, and
    /// whether a tunnel was established.
    /// </summary>
    private static async Task<(string Answer, bool Established)> RunCaseAsync(IPEndPoint proxy, FuzzCase c)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, LingerState = new LingerOption(true, 0) };
        using var overall = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var received = new MemoryStream();
        string ended = "closed";
        try
        {
            await socket.ConnectAsync(proxy, overall.Token);
            await socket.SendAsync(c.Bytes, SocketFlags.None, overall.Token);
            if (c.HalfClose)
            {
                socket.Shutdown(SocketShutdown.Send);
            }
            var buffer = new byte[16 * 1024];
            while (received.Length < 256 * 1024)
            {
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(overall.Token);
                if (received.Length > 0)
                {
                    quiet.CancelAfter(TimeSpan.FromMilliseconds(150));
                }
                int n;
                try
                {
                    n = await socket.ReceiveAsync(buffer, SocketFlags.None, quiet.Token);
                }
                catch (OperationCanceledException) when (!overall.IsCancellationRequested)
                {
                    ended = "quiet";
                    break;
                }
                if (n == 0)
                {
                    break;
                }
                received.Write(buffer, 0, n);
                if (!c.Tags.Contains(Tags.Pipelined) && !c.Tags.Contains(Tags.ConnectThenRequest) && IsWholeResponse(received))
                {
                    ended = "answered";
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            ended = "no answer in 3 s";
        }
        catch (SocketException)
        {
            ended = "reset";
        }
        var text = Encoding.Latin1.GetString(received.GetBuffer(), 0, (int)received.Length);
        bool established = text.Contains("HTTP/1.1 200 Connection established", StringComparison.Ordinal);
        return (text.Length >= 12 && text.StartsWith("HTTP/", StringComparison.Ordinal) ? text[9..12] : text.Length > 0 ? "non-http" : ended, established);
    }

    /// <summary>One whole response with a Content-Length that is not a tunnel's: nothing more is due on a one-request case.</summary>
    private static bool IsWholeResponse(MemoryStream received)
    {
        var span = received.GetBuffer().AsSpan(0, (int)received.Length);
        int end = span.IndexOf("\r\n\r\n"u8);
        if (end < 0 || span.StartsWith("HTTP/1.1 200 Connection established"u8))
        {
            return false;
        }
        var head = Encoding.Latin1.GetString(span[..end]);
        var length = System.Text.RegularExpressions.Regex.Match(head, @"\r\nContent-Length: *(\d+)", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        return length.Success && span.Length - end - 4 >= long.Parse(length.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static async Task<string> SendAsync(IPEndPoint proxy, string request)
    {
        await using var client = await RawClient.ConnectAsync(proxy);
        await client.SendAsync(request);
        var (text, _) = await client.ReadAllAsync(TimeSpan.FromSeconds(10), t => t.Contains("\r\n\r\n") && (t.StartsWith("HTTP/1.1 403") || t.EndsWith("ok")));
        return text;
    }

    /// <summary>A policy with one statutory category: a host, the IP 127.0.0.1 and a URL prefix; and a POST rule on the mixed host.</summary>
    private static string WritePolicy()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fs-fuzz-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "lists", "blocked"));
        File.WriteAllText(Path.Combine(dir, "lists", "blocked", "domains"), $"{HeadGrammar.BlockedHost}\n127.0.0.1\n");
        File.WriteAllText(Path.Combine(dir, "lists", "blocked", "urls"), $"{HeadGrammar.MixedHost}{HeadGrammar.BlockedPrefix}\n");
        File.WriteAllText(Path.Combine(dir, "policy.yaml"), $$"""
            name: Fuzz
            timezone: Europe/London
            clients: [127.0.0.0/8]
            roles: [staff]
            categories:
              fuzz-blocked:
                description: What the fuzzer must never get through
                statutory: true
                lists: [ { path: lists/blocked, format: ut1 } ]
            rules:
              - name: no-edits
                hosts: ["{{HeadGrammar.MixedHost}}"]
                methods: [POST]
                paths: ["{{HeadGrammar.EditPath}}*"]
                action: block
            default: allow
            """);
        return dir;
    }

    private static int? EnvInt(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? int.Parse(v, CultureInfo.InvariantCulture) : null;

    private static string Quote(string text) => text.Length > 300 ? text[..300].ReplaceLineEndings("\\n") + "..." : text.ReplaceLineEndings("\\n");

    private static string Tail(string text) => text.Length > 4000 ? text[^4000..] : text;
}
