using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// Plain HTTP through the service as its own process, on every fast-path combination: the lean HTTP stage and
/// <see cref="FilterService.Proxy.ForwardingStage"/> send an origin the same request. The headers the verdict sets
/// (YouTube-Restrict for a locked role, tenant restrictions on sign-in hosts) replace the client's on both; a header named
/// by <c>Connection</c> is dropped on both; a UTF-8 header value arrives byte for byte on both; a trailing-dot host is
/// connected to and sent as its canonical name on both; a value that is not UTF-8 gets 400 on both.
/// </summary>
public sealed class HttpPathParityTests
{
    private const string Context = "11111111-2222-3333-4444-555555555555";

    /// <summary>The default sample with 127.0.1.0/24 as pupil-lan and Microsoft tenant restrictions for pupils.</summary>
    private static string Policy()
    {
        var dir = Samples.CopyDefault();
        var yaml = Path.Combine(dir, "policy.yaml");
        var before = File.ReadAllText(yaml);
        var after = before.Replace("pupil-lan:   { cidrs: [10.40.0.0/16], default_role: pupil }",
            "pupil-lan:   { cidrs: [10.40.0.0/16, 127.0.1.0/24], default_role: pupil }", StringComparison.Ordinal)
            + $"\ntenant_restrictions:\n  roles: [pupil]\n  microsoft: {{ tenants: [cherryoak.onmicrosoft.com], context: {Context} }}\n";
        Assert.Contains("127.0.1.0/24", after);
        File.WriteAllText(yaml, after);
        return dir;
    }

    /// <summary>Sends <paramref name="head"/> (one byte per char) from <paramref name="from"/>; the response, as one char per byte.</summary>
    private static async Task<string> ExchangeAsync(ServiceProcess service, string head, IPAddress from)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(from, 0));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, service.ProxyPort), cts.Token);
        await socket.SendAsync(Encoding.Latin1.GetBytes(head), SocketFlags.None, cts.Token);
        var received = new StringBuilder();
        var buffer = new byte[8192];
        while (true)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            }
            catch (SocketException)
            {
                break;
            }
            if (n == 0)
            {
                break;
            }
            received.Append(Encoding.Latin1.GetString(buffer, 0, n));
            var text = received.ToString();
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            var length = System.Text.RegularExpressions.Regex.Match(text, @"(?i)\r\nContent-Length: *(\d+)\r\n");
            if (end >= 0 && length.Success && text.Length >= end + 4 + int.Parse(length.Groups[1].Value, CultureInfo.InvariantCulture))
            {
                break; // the whole response: the connection may stay open
            }
        }
        return received.ToString();
    }

    private static string Only(RecordingOrigin origin, string response, string service)
    {
        Assert.True(response.StartsWith("HTTP/1.1 200 ", StringComparison.Ordinal), response + "\n" + service);
        Assert.True(origin.Heads.TryDequeue(out var head), "the origin saw no request\n" + service);
        Assert.Empty(origin.Heads);
        return head;
    }

    private static List<string> Lines(string head, string name) =>
        head.Split("\r\n").Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase)).ToList();

    [Theory]
    [MemberData(nameof(FastPath.Names), MemberType = typeof(FastPath))]
    public async Task PlainHttp_BothStagesSendTheOriginTheSameRequest(string paths)
    {
        await using var origin = new RecordingOrigin("ok", tls: false);
        await using var service = await ServiceProcess.StartAsync([
            $"--Policy:Path={Policy()}", $"--Audit:Path={TempDir.Create("audit")}", "--Proxy:AllowLoopbackUpstream=true",
            .. FastPath.Named(paths).Settings,
            .. new[] { "restrict.youtube.com", "www.youtube.com", "login.microsoftonline.com", "parity.test" }
                .Select(h => $"--Proxy:HostOverrides:{h}=127.0.0.1:{origin.Port}"),
        ]);
        var pupil = IPAddress.Parse("127.0.1.5");

        // YouTube's restricted mode for a pupil: the client's own value replaced, once.
        var response = await ExchangeAsync(service,
            "GET http://www.youtube.com/embed/x HTTP/1.1\r\nHost: www.youtube.com\r\nYouTube-Restrict: Off\r\nX-Kept: k\r\nConnection: close\r\n\r\n", pupil);
        var head = Only(origin, response, service.Output);
        Assert.Equal(["YouTube-Restrict: Strict"], Lines(head, "YouTube-Restrict"));
        Assert.Equal(["Host: www.youtube.com"], Lines(head, "Host"));
        Assert.Equal(["X-Kept: k"], Lines(head, "X-Kept"));

        // Tenant restrictions for a pupil: a forged tenant replaced, the context added.
        response = await ExchangeAsync(service, "GET http://login.microsoftonline.com/ HTTP/1.1\r\nHost: login.microsoftonline.com\r\n"
            + "restrict-access-to-tenants: evil.onmicrosoft.com\r\nConnection: close\r\n\r\n", pupil);
        head = Only(origin, response, service.Output);
        Assert.Equal(["Restrict-Access-To-Tenants: cherryoak.onmicrosoft.com"], Lines(head, "Restrict-Access-To-Tenants"));
        Assert.Equal([$"Restrict-Access-Context: {Context}"], Lines(head, "Restrict-Access-Context"));

        // A trailing-dot host, a Connection-named header, a UTF-8 value ("café", "€", "😀"; one char per byte here).
        const string utf8 = "caf\u00c3\u00a9 \u00e2\u0082\u00ac \u00f0\u009f\u0098\u0080";
        response = await ExchangeAsync(service, "GET http://parity.test./p?q=1 HTTP/1.1\r\nHost: parity.test.\r\nConnection: X-Secret-Hop\r\n"
            + $"X-Secret-Hop: s\r\nX-Utf8: {utf8}\r\nX-Kept: k\r\n\r\n", IPAddress.Loopback);
        head = Only(origin, response, service.Output);
        Assert.StartsWith("GET /p?q=1 HTTP/1.1\r\n", head);
        Assert.Equal(["Host: parity.test"], Lines(head, "Host"));
        Assert.Empty(Lines(head, "X-Secret-Hop"));
        Assert.Empty(Lines(head, "Connection"));
        Assert.Equal([$"X-Utf8: {utf8}"], Lines(head, "X-Utf8"));
        Assert.Equal(["X-Kept: k"], Lines(head, "X-Kept"));

        // obs-text that is not UTF-8: refused on both, never forwarded.
        response = await ExchangeAsync(service, "GET http://parity.test/p HTTP/1.1\r\nHost: parity.test\r\nX-Latin: caf\u00e9\r\n\r\n", IPAddress.Loopback);
        Assert.StartsWith("HTTP/1.1 400 ", response);
        Assert.Empty(origin.Heads);
    }
}
