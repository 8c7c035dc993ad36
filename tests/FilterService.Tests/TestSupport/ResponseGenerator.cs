using System.Text;

namespace FilterService.Tests.TestSupport;

/// <summary>One generated origin answer: the bytes sent before the origin closes, the request method, and whether it
/// is well framed by RFC 9112 (so an HTTP/1.1 client must read it) or a near miss (a parser may refuse it).</summary>
public sealed record GeneratedResponse(int Index, string Method, byte[] Bytes, bool WellFramed, string Story);

/// <summary>
/// Seeded HTTP/1.1 responses for differential tests of response framing: Content-Length, chunked (sizes in either
/// case with leading zeros, extensions, trailers), close-delimited, interim 1xx, bodiless 204/304 and HEAD, and near
/// misses (conflicting or invalid lengths, codings that do not end in chunked, broken chunk framing, a body cut
/// short, odd status lines, folded or bare-LF headers).
/// </summary>
public sealed class ResponseGenerator(int seed)
{
    /// <summary>The story of a response whose transfer codings do not end in chunked (RFC 9112 6.3: read to the close).</summary>
    public const string NonFinalChunked = "coding not ending in chunked";

    private readonly Random _random = new(seed);

    public GeneratedResponse Next(int index)
    {
        var story = new List<string>();
        bool well = true;
        string method = Chance(0.2) ? "HEAD" : "GET";
        var head = new StringBuilder();
        if (Chance(0.15))
        {
            head.Append(Pick(["HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
                "HTTP/1.1 102 Processing\r\n\r\n"]));
            story.Add("interim");
        }
        bool http10 = Chance(0.1);
        int status = Pick([200, 200, 200, 201, 203, 206, 301, 302, 404, 500, 204, 304, 299, 599]);
        head.Append(http10 ? "HTTP/1.0 " : "HTTP/1.1 ").Append(status).Append(Pick([" OK", " ", " Some Reason", " caf\u00e9"])).Append("\r\n");
        var headers = new List<string> { "Date: Sat, 05 Dec 2026 13:00:00 GMT", "Content-Type: text/html; charset=utf-8" };
        if (Chance(0.2))
        {
            headers.Add(Pick(["Connection: close", "Connection: keep-alive", "Connection: X-Hop", "Keep-Alive: timeout=5"]));
        }
        if (Chance(0.2))
        {
            headers.Add("Set-Cookie: a=" + _random.Next());
        }

        var body = new byte[_random.Next(0, 3000)];
        _random.NextBytes(body);
        byte[] payload;
        int framing = _random.Next(10);
        if (framing < 4)
        {
            headers.Add("Content-Length: " + (Chance(0.1) ? "00" : "") + body.Length);
            payload = body;
            story.Add("content-length");
        }
        else if (framing < 8)
        {
            if (Chance(0.2))
            {
                headers.Add(Pick(["Transfer-Encoding: gzip, chunked", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked", "Transfer-Encoding: Chunked"]));
            }
            else
            {
                headers.Add("Transfer-Encoding: chunked");
            }
            if (Chance(0.1))
            {
                headers.Add("Content-Length: " + (body.Length + 7)); // TE overrides CL (a server must not send both; a client must ignore CL)
                story.Add("cl-and-te");
            }
            payload = Chunk(body, story);
            story.Add("chunked");
        }
        else
        {
            payload = body;
            story.Add("close-delimited");
        }
        bool bodiless = method == "HEAD" || status is 204 or 304;
        if (bodiless)
        {
            payload = [];
            story.Add(method == "HEAD" ? "head" : "bodiless status");
        }

        // Near misses.
        if (Chance(0.35))
        {
            well = false;
            switch (_random.Next(16))
            {
                case 0:
                    headers.Add("Content-Length: " + (body.Length + 1));
                    headers.Add("Content-Length: " + body.Length);
                    story.Add("conflicting lengths");
                    break;
                case 1:
                    headers.Add("Content-Length: " + Pick(["+5", "-1", "0x5", "5 5", "5, 5", "", "99999999999999999999", "1e3", " 5a"]));
                    story.Add("invalid length");
                    break;
                case 2:
                    headers.Add("Content-Length: " + body.Length);
                    headers.Add("Content-Length: " + body.Length);
                    story.Add("repeated equal length");
                    break;
                case 3:
                    headers.RemoveAll(h => h.StartsWith("Content-Length", StringComparison.Ordinal) || h.StartsWith("Transfer-Encoding", StringComparison.Ordinal));
                    headers.Add(Pick(["Transfer-Encoding: chunked, gzip", "Transfer-Encoding: identity", "Transfer-Encoding: xchunked", "Transfer-Encoding: gzip"]));
                    if (!bodiless)
                    {
                        payload = Chance(0.5) ? Chunk(body, story) : body;
                    }
                    story.Add(NonFinalChunked);
                    break;
                case 4:
                    if (payload.Length > 0)
                    {
                        payload = payload[..^_random.Next(1, Math.Min(payload.Length, 20) + 1)];
                        story.Add("cut short");
                    }
                    break;
                case 5:
                    headers.RemoveAll(h => h.StartsWith("Content-Length", StringComparison.Ordinal) || h.StartsWith("Transfer-Encoding", StringComparison.Ordinal));
                    headers.Add("Transfer-Encoding: chunked");
                    if (!bodiless)
                    {
                        payload = Encoding.Latin1.GetBytes(Pick(["g\r\nabc\r\n0\r\n\r\n", "\r\n0\r\n\r\n", "3\r\nabcX\r\n0\r\n\r\n", "3\nabc\r\n0\r\n\r\n",
                            "3\r\nabc\r\n0\r\n", "3\r\nabc\r\n", "fffffffffffffffff\r\nabc\r\n0\r\n\r\n", "3\r\nabc\r\n0\r\nX: 1\n\r\n", "-3\r\nabc\r\n0\r\n\r\n",
                            "3 \r\nabc\r\n0\r\n\r\n", "3;\r\nabc\r\n0\r\n\r\n", "0x3\r\nabc\r\n0\r\n\r\n"]));
                    }
                    story.Add("broken chunk framing");
                    break;
                case 6:
                    headers.Insert(1, Pick(["X-Fold: a\r\n b", "X-Space : a", "X-Bare: a\nX-B: b", "X-Nul: a\u0000b", "X-Cr: a\rb", "Bad Name: x", " X-Lead: a"]));
                    story.Add("bad header");
                    break;
                case 7:
                    int end = head.ToString().LastIndexOf("\r\n", StringComparison.Ordinal);
                    var line = head.ToString()[..end];
                    int at = line.LastIndexOf("HTTP/", StringComparison.Ordinal);
                    head.Length = at;
                    head.Append(Pick(["HTTP/1.1 099 Low\r\n", "HTTP/1.1 2000 OK\r\n", "HTTP/1.1 20 OK\r\n", "HTTP/2 200 OK\r\n", "HTTP/1.1  200 OK\r\n",
                        "http/1.1 200 OK\r\n", "HTTP/1.1 200\r\n", "HTTP/1.1 2x0 OK\r\n", "HTTP/1.2 200 OK\r\n", "HTTP/1.1 200\tOK\r\n", "HTTP/1.1 -200 OK\r\n",
                        "HTTP/1.1 200 O\nK\r\n", "HTTP/1.1 200 OK\nX-After: bare LF\r\n", "HTTP/1.1 200 O\rK\r\n"]));
                    story.Add("odd status line");
                    break;
                case 8:
                    head.Insert(0, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
                    story.Add("unasked 101");
                    break;
                case 9 when !headers.Exists(h => h.StartsWith("Content-Length", StringComparison.Ordinal)):
                    headers.Add("Content-Length: " + body.Length + "  ");
                    story.Add("length with trailing OWS");
                    well = true;
                    break;
                default:
                    well = true; // a well-framed case with more variety rather than a near miss
                    headers.Add("X-Extra-" + _random.Next(100) + ": " + new string('v', _random.Next(0, 200)));
                    break;
            }
        }
        foreach (var h in headers)
        {
            head.Append(h).Append("\r\n");
        }
        head.Append("\r\n");
        var headBytes = Encoding.Latin1.GetBytes(head.ToString());
        return new GeneratedResponse(index, method, [.. headBytes, .. payload], well, string.Join(", ", story));
    }

    private byte[] Chunk(byte[] body, List<string> story)
    {
        var sb = new List<byte>();
        int at = 0;
        bool fancy = Chance(0.3);
        while (at < body.Length)
        {
            int size = Math.Min(body.Length - at, _random.Next(1, 1200));
            string hex = size.ToString(Chance(0.5) ? "x" : "X", System.Globalization.CultureInfo.InvariantCulture);
            if (fancy && Chance(0.3))
            {
                hex = "00" + hex;
            }
            sb.AddRange(Encoding.Latin1.GetBytes(hex + (fancy ? Pick(["", ";a=b", ";a=\"q;r\"", ";x", " ;y=1", "\t;z"]) : "") + "\r\n"));
            sb.AddRange(body.AsSpan(at, size).ToArray());
            sb.AddRange("\r\n"u8.ToArray());
            at += size;
        }
        sb.AddRange(Encoding.Latin1.GetBytes(Pick(["0", "0", "000"]) + (fancy ? Pick(["", ";end"]) : "") + "\r\n"));
        if (fancy && Chance(0.5))
        {
            sb.AddRange("X-Trailer: t\r\nX-Sum: 1\r\n"u8.ToArray());
            story.Add("trailers");
        }
        sb.AddRange("\r\n"u8.ToArray());
        if (fancy)
        {
            story.Add("extensions");
        }
        return [.. sb];
    }

    private bool Chance(double p) => _random.NextDouble() < p;

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];
}
