using System.Text;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// Seeded plain-HTTP request heads for differential tests of request parsers: real browser heads (Chrome, Firefox,
/// Safari, curl) in absolute form, mutated with header names and values from the RFC 9110 grammar (tokens, field
/// values with OWS, obs-text) and their near misses (separators in names, whitespace before the colon, control bytes,
/// invalid UTF-8, folding, bare CR or LF, framing headers, odd hosts and targets, a flipped byte). Every head ends
/// with CRLF CRLF unless a mutation broke it. Each char of a returned string is one byte (Latin-1).
/// </summary>
public sealed class RequestHeadGenerator(int seed)
{
    private const string TChars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string PChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/";
    private const string NearMissTargetChars = "\"<>\\^`{|}[]#%";

    private static readonly string[][] Browsers =
    [
        [
            "Host: {h}", "Proxy-Connection: keep-alive", "Upgrade-Insecure-Requests: 1",
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
            "Accept-Encoding: gzip, deflate", "Accept-Language: en-GB,en-US;q=0.9,en;q=0.8",
        ],
        [
            "Host: {h}", "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "Accept-Language: en-GB,en;q=0.5",
            "Accept-Encoding: gzip, deflate", "Connection: keep-alive", "Upgrade-Insecure-Requests: 1", "Priority: u=0, i",
        ],
        [
            "Host: {h}", "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "User-Agent: Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
            "Accept-Language: en-GB,en;q=0.9", "Accept-Encoding: gzip, deflate", "Connection: keep-alive",
            "Cookie: session=abc123; theme=dark",
        ],
        ["Host: {h}", "User-Agent: curl/8.5.0", "Accept: */*", "Proxy-Connection: Keep-Alive"],
    ];

    private static readonly string[] Hosts =
    [
        "example.org", "EXAMPLE.org", "a.test", "www.bbc.co.uk", "127.0.0.1", "10.0.0.1", "[::1]", "[::ffff:127.0.0.5]",
        "[0:0:0:0:0:0:0:1]", "0x7f.1", "2130706433", "0177.0.0.1", "127.1", "ex%61mple.org", "xn--bcher-kva.example",
        "a_b.test", "a..b.test", "-a.test", "a.test.", "localhost", "user@a.test", "user:pw@a.test", "", "[fe80::1%25eth0]",
        "b\u00c3\u00bccher.example", "a.test:", "256.1.1.1", "example.com.", "EXAMPLE.com.", "a.test..", "[::1].",
    ];

    private static readonly string[] Ports = ["", "", "", ":80", ":8080", ":0", ":65535", ":65536", ":99999", ":-1", ":8o"];

    private static readonly string[] Paths =
    [
        "/", "/", "/wiki/Main_Page", "/a/../b", "/%2e%2e/etc", "/a%2Fb", "/a%zz", "/~user/", "/a;b=c", "/a:b@c!$&'()*+,;=",
        "", "/search", "//double", "/a/./b", "/caf%C3%A9", "/%00",
    ];

    private static readonly string[] Queries = ["", "", "", "?q=1", "?a=b&c=%20", "??", "?x=[1]", "?q=a+b", "?", "?%"];

    private static readonly string[] RealNames =
    [
        "Accept", "Cookie", "Referer", "Cache-Control", "Pragma", "If-None-Match", "If-Modified-Since", "Range", "DNT",
        "X-Forwarded-For", "Via", "Forwarded", "Origin", "Authorization", "Sec-Fetch-Mode", "X-Requested-With", "TE",
        "Keep-Alive", "Trailer", "Proxy-Authorization", "Connection", "Accept-Charset", "From", "Max-Forwards",
    ];

    private static readonly string[] ConnectionValues =
        ["close", "keep-alive", "Keep-Alive", "CLOSE", "X-Secret", "keep-alive, X-Secret", "close, TE", "upgrade", "", "keep-alive,,close"];

    private readonly Random _random = new(seed);

    /// <summary>The next head, and what was done to it (for a failure message).</summary>
    public (string Head, string Story) Next()
    {
        var story = new List<string>();
        var headers = Pick(Browsers).ToList();
        string host = Pick(Hosts) + Pick(Ports);
        string target = "http://" + host + (Chance(0.1) ? RandomPath() : Pick(Paths)) + Pick(Queries);
        if (Chance(0.03))
        {
            target = Pick(["/", "https://a.test/", "HTTP://a.test/", "http:/a.test/", "http://a.test/a b", "*", "a.test:80", "http://a.test",
                "http://a.test?q", "http://a.test/#frag", "http://a.test/\u0000", "http://a.test/\u00c3\u00a9", "http://a.test\\b/",
                "http://a.test/" + new string('p', 16 * 1024 - 40 + _random.Next(40))]);
            story.Add("odd target form");
        }
        string method = Chance(0.8) ? "GET" : Chance(0.7) ? "HEAD" : Pick(["get", "Head", "POST", "OPTIONS", "GET ", "GET\t", "PROPFIND", "HEAD ", "G\u00c9T", "GETX"]);
        string version = Chance(0.95) ? "HTTP/1.1" : Pick(["HTTP/1.0", "HTTP/1.2", "http/1.1", "HTTP/2", "HTTP/1.1 "]);
        string headerHost = Chance(0.9) ? host : Pick(Hosts);
        for (int i = 0; i < headers.Count; i++)
        {
            headers[i] = headers[i].Replace("{h}", headerHost, StringComparison.Ordinal);
        }

        int mutations = _random.Next(0, 5);
        for (int m = 0; m < mutations; m++)
        {
            int at = _random.Next(headers.Count + 1);
            switch (_random.Next(18))
            {
                case 0 or 1 or 2:
                    headers.Insert(at, RandomName() + ":" + Ows() + RandomValue() + Ows());
                    story.Add("token header");
                    break;
                case 3:
                    headers.Insert(at, Pick(RealNames) + ": " + RandomValue());
                    story.Add("known header");
                    break;
                case 4:
                    headers.Insert(at, "Connection: " + Pick(ConnectionValues));
                    if (Chance(0.5))
                    {
                        headers.Insert(at, "X-Secret: s");
                    }
                    story.Add("connection");
                    break;
                case 5:
                    headers.Insert(at, NearMissName() + ": v");
                    story.Add("near-miss name");
                    break;
                case 6:
                    headers.Insert(at, "X-V: " + NearMissValue());
                    story.Add("near-miss value");
                    break;
                case 7:
                    if (Chance(0.5))
                    {
                        headers.RemoveAll(h => h.StartsWith("Host:", StringComparison.Ordinal));
                        story.Add("no host");
                    }
                    else
                    {
                        headers.Insert(at, Pick(["Host", "host", "HOST"]) + ": " + Pick(Hosts));
                        story.Add("second host");
                    }
                    break;
                case 8:
                    headers.Insert(at, Pick(["Content-Length: 0", "Content-Length: 5", "Transfer-Encoding: chunked", "transfer-encoding: identity",
                        "Expect: 100-continue", "Upgrade: websocket", "Content-Length: 0, 0"]));
                    story.Add("framing header");
                    break;
                case 9 when headers.Exists(h => h.Contains(':', StringComparison.Ordinal)):
                    int which = Pick(Enumerable.Range(0, headers.Count).Where(i => headers[i].Contains(':', StringComparison.Ordinal)).ToList());
                    int colon = headers[which].IndexOf(':', StringComparison.Ordinal);
                    headers[which] = headers[which][..colon] + Pick([" :", "\t:", ":", ":\t", ":  ", " : "]) + headers[which][(colon + 1)..].TrimStart();
                    story.Add("colon spacing");
                    break;
                case 10:
                    headers.Insert(at, Pick([" folded", "\tfolded", " "]));
                    story.Add("folding");
                    break;
                case 11:
                    headers.Insert(at, "Proxy-Authorization: Basic " + Convert.ToBase64String(Encoding.ASCII.GetBytes("pupil:pw" + _random.Next(100))));
                    story.Add("proxy-authorization");
                    break;
                case 12:
                    headers.Insert(at, "X-Utf8: " + Pick(["caf\u00c3\u00a9", "\u00e2\u0082\u00ac5", "\u00f0\u009f\u0098\u0080"]));
                    story.Add("utf-8 value");
                    break;
                case 14:
                    // A Connection token naming an end-to-end header: both paths must drop it alike.
                    headers.Insert(at, Pick(["Connection", "connection", "CONNECTION"]) + ": " + Pick(["X-Secret-Hop", "x-secret-hop, keep-alive",
                        "close, X-Secret-Hop", " X-Secret-Hop ,", "keep-alive", "Keep-Alive, Upgrade"]));
                    headers.Insert(_random.Next(headers.Count + 1), Pick(["X-Secret-Hop", "x-SECRET-hop"]) + ": s");
                    story.Add("connection token");
                    break;
                case 15:
                    headers.Insert(at, Pick(["Content-Length: 0\r\nTransfer-Encoding: chunked", "Transfer-Encoding: chunked\r\nContent-Length: 3",
                        "Content-Length: 1\r\nContent-Length: 1", "Transfer-Encoding: gzip, chunked", "Content-Length: +0", "Content-Length:"]));
                    story.Add("framing combination");
                    break;
                case 16:
                    // obs-text: invalid UTF-8 (a lone continuation, an overlong form, a surrogate, past U+10FFFF) or valid multi-byte.
                    headers.Insert(at, "X-Obs: " + Pick(["caf\u00e9", "\u00c3\u0028", "\u00c0\u00af", "\u00ed\u00a0\u0080", "\u00f4\u0090\u0080\u0080",
                        "\u00e2\u0082", "\u00ef\u00bb\u00bfbom", "\u00e6\u0097\u00a5\u00e6\u009c\u00ac", "a\u0000"]));
                    story.Add("obs-text");
                    break;
                case 17:
                    headers.Insert(at, Pick(["X-A:b", "X-A:\tb\t", "X-A: b  ", "X-A:", "X-A: \t ", "X-A: b c", "x-a: B"]));
                    story.Add("whitespace");
                    break;
                default:
                    headers.Insert(at, "X-Long: " + new string('a', _random.Next(1, Chance(0.1) ? 32 * 1024 : 3000)));
                    story.Add("long value");
                    break;
            }
        }

        string head = method + " " + target + " " + version + "\r\n" + string.Concat(headers.Select(h => h + "\r\n")) + "\r\n";
        if (Chance(0.04))
        {
            var crlfs = AllIndexes(head, "\r\n");
            int pick = crlfs[_random.Next(crlfs.Count - 1)];
            head = head[..pick] + Pick(["\n", "\r", "\r\r\n", "\n\r"]) + head[(pick + 2)..];
            story.Add("line ending");
        }
        if (Chance(0.04))
        {
            var chars = head.ToCharArray();
            chars[_random.Next(chars.Length - 4)] = (char)_random.Next(256);
            head = new string(chars);
            story.Add("flipped byte");
        }
        return (head, string.Join(", ", story));
    }

    private bool Chance(double p) => _random.NextDouble() < p;

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    private string Ows() => Pick(["", "", " ", "\t", "  ", " \t"]);

    private string RandomName()
    {
        var sb = new StringBuilder("X-");
        int n = _random.Next(1, 12);
        for (int i = 0; i < n; i++)
        {
            sb.Append(TChars[_random.Next(TChars.Length)]);
        }
        return sb.ToString();
    }

    /// <summary>field-value: VCHAR, SP and HTAB inside, obs-text sometimes (as valid UTF-8 or a lone Latin-1 byte).</summary>
    private string RandomValue()
    {
        var sb = new StringBuilder();
        int n = _random.Next(0, 40);
        for (int i = 0; i < n; i++)
        {
            double r = _random.NextDouble();
            sb.Append(r switch
            {
                < 0.85 => (char)_random.Next(0x21, 0x7f),
                < 0.93 => ' ',
                < 0.96 => '\t',
                < 0.98 => "\u00c3\u00a9",
                _ => (char)_random.Next(0x80, 0x100),
            });
        }
        return sb.ToString().Trim(' ', '\t');
    }

    private string NearMissName() => Pick(["X Y", "X(Y)", "X/Y", "X@Y", "X\"Y", "X[Y]", "X{Y}", "X=Y", "X\u00e9", "X\u0001", "", "X,Y", "X;Y", "X?Y", "X\\Y"]);

    private string NearMissValue() => Pick(["a\u0000b", "a\u0001b", "a\u007fb", "a\u000bb", "a\u000cb", "a\u001bb", "\u00ff", "\u00c3", "a\u0080b", "\u00ed\u00a0\u0080"]);

    private string RandomPath()
    {
        var sb = new StringBuilder("/");
        int n = _random.Next(1, 30);
        for (int i = 0; i < n; i++)
        {
            sb.Append(Chance(0.9) ? PChars[_random.Next(PChars.Length)] : NearMissTargetChars[_random.Next(NearMissTargetChars.Length)]);
        }
        return sb.ToString();
    }

    private static List<int> AllIndexes(string text, string value)
    {
        var found = new List<int>();
        for (int i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            found.Add(i);
        }
        return found;
    }
}
