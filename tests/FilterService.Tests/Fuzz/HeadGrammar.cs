using System.Globalization;
using System.Text;

namespace FilterService.Tests.Fuzz;

/// <summary>
/// One generated connection: the exact bytes sent, whether the client then half-closes, and the generators
/// (<see cref="HeadGrammar.Tags"/>) that shaped it. Every request in it carries a case id (<c>X-Fuzz-Id</c>, or a
/// marker in a ClientHello) so whatever reaches an origin is traced back to its case.
/// </summary>
internal sealed record FuzzCase(long Index, byte[] Bytes, bool HalfClose, IReadOnlySet<string> Tags)
{
    /// <summary>The bytes as a C# string literal, for a reproducer.</summary>
    public string Literal()
    {
        var sb = new StringBuilder("\"");
        foreach (var b in Bytes.Take(2048))
        {
            sb.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }
        return sb.Append(Bytes.Length > 2048 ? $"\" /* {Bytes.Length - 2048} more bytes */" : "\"").ToString();
    }
}

/// <summary>
/// The request-head grammar and its mutations. Deterministic: case <c>i</c> of seed <c>s</c> is the same bytes on every
/// run, so a finding is reproduced with <c>FUZZ_SEED=s</c> and its index. Targets: <see cref="BlockedHost"/> (a listed
/// host, pointed at the blocked origin), the listed IP <c>127.0.0.1</c> on the blocked origin's port (in every literal
/// form), <see cref="MixedHost"/> (allowed, with a blocked URL prefix and a POST rule) and names that resolve nowhere.
/// </summary>
internal sealed class HeadGrammar
{
    public const string BlockedHost = "blocked.test";
    public const string BlockedSubdomain = "a.blocked.test";
    public const string MixedHost = "mixed.test";
    /// <summary>The URL-prefix entry on <see cref="MixedHost"/>.</summary>
    public const string BlockedPrefix = "/terror/recruitment";
    /// <summary>The path of the <c>methods: [POST]</c> rule on <see cref="MixedHost"/>.</summary>
    public const string EditPath = "/w/index.php";

    /// <summary>Generators (tags a case carries).</summary>
    public static class Tags
    {
        public const string MethodCase = "method-case";
        public const string PathForm = "path-form";
        public const string IpLiteralConnect = "ip-literal-connect";
        public const string IpLiteralHttp = "ip-literal-http";
        public const string MissingHost = "missing-host";
        public const string DuplicateHost = "duplicate-host";
        public const string HostMismatch = "host-mismatch";
        public const string OriginForm = "origin-form";
        public const string AbsoluteForm = "absolute-form";
        public const string Connect = "connect";
        public const string ConnectThenRequest = "connect-then-request";
        public const string Pipelined = "pipelined";
        public const string Truncated = "truncated";
        public const string Folding = "folding";
        public const string BareLf = "bare-lf";
        public const string ClTe = "cl-te";
        public const string Huge = "huge-header";
        public const string Nul = "nul";
        public const string NonAscii = "non-ascii";
        public const string OddVersion = "odd-version";
        public const string HostCase = "host-case";
        public const string Garbage = "garbage";
        /// <summary>A CONNECT to the blocked host or the listed IP: a <c>200 Connection established</c> for it is a bypass.</summary>
        public const string ConnectToBlocked = "connect-to-blocked";
        /// <summary>A CONNECT to anything else (so a 200 is not attributed to the blocked one).</summary>
        public const string ConnectToOther = "connect-to-other";
    }

    private readonly int _seed;
    private readonly int _blockedPort;
    private readonly IReadOnlyDictionary<string, byte[]> _hellos;

    /// <param name="hellos">A real ClientHello per SNI name ("" for none), to follow CONNECT heads.</param>
    public HeadGrammar(int seed, int blockedPort, IReadOnlyDictionary<string, byte[]> hellos)
    {
        _seed = seed;
        _blockedPort = blockedPort;
        _hellos = hellos;
    }

    /// <summary>The SNI names <see cref="HeadGrammar"/> wants ClientHellos for.</summary>
    public static readonly string[] HelloNames = ["", BlockedHost, BlockedSubdomain, MixedHost];

    /// <summary>Where a ClientHello's 32-byte random starts (record 5 + handshake 4 + version 2); the marker goes there.</summary>
    public const int HelloRandomOffset = 11;

    /// <summary>The marker written into a ClientHello's random: <c>FZ</c> and the 12-digit request id.</summary>
    public static byte[] HelloMarker(long id) => Encoding.ASCII.GetBytes("FZ" + id.ToString("D12", CultureInfo.InvariantCulture));

    /// <summary>The forms of 127.0.0.1 a resolver or URL parser may accept. The first is the canonical one.</summary>
    public static readonly string[] LiteralForms =
    [
        "127.0.0.1", "2130706433", "0x7f000001", "0x7F.0.0.1", "0177.0.0.1", "0177.0000.0000.0001", "127.1", "127.0.1",
        "127.000.000.001", "0x7f.1", "017700000001", "127.0.0.1.", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
        "[0:0:0:0:0:ffff:127.0.0.1]", "[::FFFF:127.0.0.1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]", "[::ffff:0:7f00:1]",
    ];

    /// <summary>Request ids: two per case (the second for a pipelined or tunnelled second request).</summary>
    public static long IdOf(long index, int request) => index * 2 + request;

    public static long IndexOf(long id) => id / 2;

    public FuzzCase Generate(long index)
    {
        var rng = new Random(unchecked((int)(((ulong)(uint)_seed * 0x9E3779B97F4A7C15UL) ^ ((ulong)index * 0xBF58476D1CE4E5B9UL)) ^ (int)(index >> 32)));
        var tags = new HashSet<string>();
        var bytes = new List<byte>();
        bool connect = rng.NextDouble() < 0.35;
        if (connect)
        {
            bytes.AddRange(ConnectRequest(rng, tags, IdOf(index, 0)));
            if (rng.NextDouble() < 0.2)
            {
                tags.Add(Tags.ConnectThenRequest);
                bytes.AddRange(HttpRequest(rng, tags, IdOf(index, 1)));
            }
            else
            {
                var sni = tags.Contains("sni:" + BlockedHost) ? BlockedHost : tags.Contains("sni:" + BlockedSubdomain) ? BlockedSubdomain
                    : tags.Contains("sni:" + MixedHost) ? MixedHost : "";
                var hello = (byte[])_hellos[sni].Clone();
                HelloMarker(IdOf(index, 0)).CopyTo(hello, HelloRandomOffset);
                bytes.AddRange(hello);
            }
        }
        else
        {
            bytes.AddRange(HttpRequest(rng, tags, IdOf(index, 0)));
            if (rng.NextDouble() < 0.1)
            {
                tags.Add(Tags.Pipelined);
                bytes.AddRange(rng.NextDouble() < 0.3 ? ConnectRequest(rng, tags, IdOf(index, 1)) : HttpRequest(rng, tags, IdOf(index, 1)));
            }
        }
        var all = bytes.ToArray();
        if (rng.NextDouble() < 0.08)
        {
            tags.Add(Tags.Truncated);
            all = all[..rng.Next(0, all.Length)];
        }
        tags.RemoveWhere(t => t.StartsWith("sni:", StringComparison.Ordinal));
        // Kestrel takes a client's FIN as the end of the connection and drops the request, so only the truncated heads
        // (and a few others) half-close; the rest wait for their answers.
        return new FuzzCase(index, all, HalfClose: tags.Contains(Tags.Truncated) || rng.NextDouble() < 0.05, tags);
    }

    private enum Target
    {
        Blocked,
        Literal,
        Mixed,
        Other,
    }

    /// <summary>A host (as written in the request) and its port, for a target kind.</summary>
    private (string Host, int? Port, Target Kind) PickHost(Random rng, HashSet<string> tags, bool isConnect)
    {
        double r = rng.NextDouble();
        if (r < 0.3)
        {
            var name = rng.NextDouble() < 0.8 ? BlockedHost : BlockedSubdomain;
            tags.Add("sni:" + name);
            if (rng.NextDouble() < 0.3)
            {
                tags.Add(Tags.HostCase);
                name = RandomCase(rng, name);
            }
            if (rng.NextDouble() < 0.1)
            {
                name += ".";
            }
            return (name, rng.NextDouble() < 0.5 ? _blockedPort : rng.Next(0, 3) switch { 0 => 80, 1 => 443, _ => 8080 }, Target.Blocked);
        }
        if (r < 0.55)
        {
            var literal = LiteralForms[rng.Next(LiteralForms.Length)];
            if (literal != "127.0.0.1")
            {
                tags.Add(isConnect ? Tags.IpLiteralConnect : Tags.IpLiteralHttp);
            }
            return (literal, _blockedPort, Target.Literal);
        }
        if (r < 0.9)
        {
            tags.Add("sni:" + MixedHost);
            var name = MixedHost;
            if (rng.NextDouble() < 0.2)
            {
                tags.Add(Tags.HostCase);
                name = RandomCase(rng, name);
            }
            return (name, rng.NextDouble() < 0.5 ? null : rng.Next(0, 3) switch { 0 => 80, 1 => 443, _ => 8080 }, Target.Mixed);
        }
        tags.Add(Tags.Garbage);
        string[] others = ["blocked.test.invalid", "blocked_test", "", "blocked.test%00.mixed.test", "mixed.test@blocked.test", "b\u00e9cked.test",
            "xn--bcked-bsa.test", "blocked.test:80:80", "[::1", "localhost.invalid", "blocked%2etest", "*", "mixed.test\tblocked.test"];
        return (others[rng.Next(others.Length)], rng.NextDouble() < 0.5 ? null : _blockedPort, Target.Other);
    }

    private static string Authority(string host, int? port) => port is { } p ? $"{host}:{p}" : host;

    private static string RandomCase(Random rng, string s)
    {
        var chars = s.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (rng.NextDouble() < 0.5)
            {
                chars[i] = char.ToUpperInvariant(chars[i]);
            }
        }
        return new string(chars);
    }

    private byte[] ConnectRequest(Random rng, HashSet<string> tags, long id)
    {
        tags.Add(Tags.Connect);
        var (host, port, kind) = PickHost(rng, tags, isConnect: true);
        tags.Add(kind is Target.Blocked or Target.Literal ? Tags.ConnectToBlocked : Tags.ConnectToOther);
        string method = "CONNECT";
        if (rng.NextDouble() < 0.08)
        {
            tags.Add(Tags.MethodCase);
            method = rng.NextDouble() < 0.5 ? "connect" : "Connect";
        }
        var authority = Authority(host, port ?? (rng.NextDouble() < 0.8 ? _blockedPort : null));
        var lines = new List<string> { $"{method} {authority} {Version(rng, tags)}" };
        if (rng.NextDouble() < 0.8)
        {
            lines.Add($"Host: {authority}");
        }
        lines.Add($"X-Fuzz-Id: {id}");
        CommonMutations(rng, tags, lines, allowBody: false);
        return Finish(rng, tags, lines, body: null);
    }

    private byte[] HttpRequest(Random rng, HashSet<string> tags, long id)
    {
        double m = rng.NextDouble();
        string method = m < 0.4 ? "GET" : m < 0.5 ? "HEAD" : m < 0.8 ? "POST" : new[] { "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE" }[rng.Next(5)];
        if (rng.NextDouble() < 0.15)
        {
            tags.Add(Tags.MethodCase);
            method = RandomCase(rng, method.ToLowerInvariant());
            if (method == method.ToUpperInvariant())
            {
                method = method.ToLowerInvariant();
            }
        }
        var (host, port, kind) = PickHost(rng, tags, isConnect: false);
        var path = Path(rng, tags, kind);
        bool originForm = rng.NextDouble() < 0.3;
        var authority = Authority(host, port);
        string target;
        if (originForm)
        {
            tags.Add(Tags.OriginForm);
            target = path;
        }
        else
        {
            tags.Add(Tags.AbsoluteForm);
            var scheme = rng.NextDouble() < 0.9 ? "http" : new[] { "HTTP", "Http", "https", "ftp", "http:/" }[rng.Next(5)];
            var userinfo = rng.NextDouble() < 0.04 ? "user:pass@" : "";
            target = $"{scheme}://{userinfo}{authority}{path}";
        }
        var version = Version(rng, tags);
        var lines = new List<string> { $"{method} {target} {version}" };
        double h = rng.NextDouble();
        string hostHeader = authority;
        if (h < 0.1)
        {
            if (version == "HTTP/1.1")
            {
                tags.Add(Tags.MissingHost);
            }
        }
        else
        {
            if (h < 0.2)
            {
                tags.Add(Tags.HostMismatch);
                hostHeader = rng.NextDouble() < 0.5 ? Authority(BlockedHost, _blockedPort) : MixedHost;
            }
            lines.Insert(1 + rng.Next(lines.Count), $"Host: {hostHeader}");
            if (rng.NextDouble() < 0.06)
            {
                tags.Add(Tags.DuplicateHost);
                lines.Insert(1 + rng.Next(lines.Count), $"Host: {(rng.NextDouble() < 0.5 ? Authority(BlockedHost, _blockedPort) : MixedHost)}");
            }
        }
        lines.Insert(1 + rng.Next(lines.Count), $"X-Fuzz-Id: {id}");
        if (rng.NextDouble() < 0.3)
        {
            lines.Add("User-Agent: fuzz/1.0");
        }
        if (rng.NextDouble() < 0.1)
        {
            lines.Add(rng.NextDouble() < 0.5 ? "Connection: keep-alive, X-Secret" : "Proxy-Connection: keep-alive");
            lines.Add("X-Secret: 1");
        }
        if (rng.NextDouble() < 0.04)
        {
            lines.Add(rng.NextDouble() < 0.5 ? "Expect: 100-continue" : "Upgrade: websocket");
        }
        string? body = null;
        if (method.ToUpperInvariant() is "POST" or "PUT" or "PATCH" || rng.NextDouble() < 0.05)
        {
            body = "action=submit&text=x";
            double b = rng.NextDouble();
            if (b < 0.6)
            {
                lines.Add($"Content-Length: {body.Length}");
            }
            else if (b < 0.85)
            {
                lines.Add("Transfer-Encoding: chunked");
                body = $"{body.Length:x}\r\n{body}\r\n0\r\n\r\n";
            }
            else if (b < 0.95)
            {
                tags.Add(Tags.ClTe);
                lines.Add($"Content-Length: {body.Length}");
                lines.Add(rng.NextDouble() < 0.5 ? "Transfer-Encoding: chunked" : "Transfer-Encoding:  chunked, identity");
            }
            else
            {
                lines.Add($"Content-Length: {body.Length}");
                lines.Add($"Content-Length: {body.Length + 3}");
            }
        }
        CommonMutations(rng, tags, lines, allowBody: true);
        return Finish(rng, tags, lines, body);
    }

    private static string Version(Random rng, HashSet<string> tags)
    {
        double v = rng.NextDouble();
        if (v < 0.88)
        {
            return "HTTP/1.1";
        }
        if (v < 0.94)
        {
            return "HTTP/1.0";
        }
        tags.Add(Tags.OddVersion);
        return new[] { "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1.1 extra", "HTTP/11", "" }[rng.Next(7)];
    }

    private static string Path(Random rng, HashSet<string> tags, Target kind)
    {
        double p = rng.NextDouble();
        string path = kind != Target.Mixed && p < 0.5 ? "/" : p < 0.4 ? BlockedPrefix + "/page.html" : p < 0.7 ? EditPath + "?title=X&action=submit" : "/ok/page?x=1";
        if (rng.NextDouble() < 0.35)
        {
            tags.Add(Tags.PathForm);
            path = MutatePath(rng, path);
        }
        if (rng.NextDouble() < 0.03)
        {
            tags.Add(Tags.NonAscii);
            path += "/\u00e9\u6f22";
        }
        return path;
    }

    /// <summary>Forms a naive canonicaliser (<see cref="RequestHeadFuzzTests.CanonicalPath"/>) maps back to the same path.</summary>
    private static string MutatePath(Random rng, string path)
    {
        int q = path.IndexOf('?');
        var (p, query) = q < 0 ? (path, "") : (path[..q], path[q..]);
        int n = rng.Next(1, 4);
        for (int i = 0; i < n; i++)
        {
            var slashes = Enumerable.Range(0, p.Length).Where(j => p[j] == '/').ToList();
            int at = slashes[rng.Next(slashes.Count)];
            switch (rng.Next(9))
            {
                case 0: p = p[..at] + "/" + p[at..]; break;                                   // doubled slash
                case 1: p = at == 0 ? p : p[..at] + (rng.NextDouble() < 0.5 ? "%2f" : "%2F") + p[(at + 1)..]; break; // encoded slash
                case 2: p = p[..at] + "/." + p[at..]; break;                                  // dot segment
                case 3: p = p[..at] + "/x/.." + p[at..]; break;                               // dot-dot segment
                case 4: p = at == 0 ? p : p[..at] + ";x=1" + p[at..]; break;                   // segment parameters
                case 5:                                                                        // an encoded letter
                    var letters = Enumerable.Range(0, p.Length).Where(j => char.IsAsciiLetterLower(p[j])).ToList();
                    if (letters.Count > 0)
                    {
                        int l = letters[rng.Next(letters.Count)];
                        p = p[..l] + "%" + ((int)p[l]).ToString("x2", CultureInfo.InvariantCulture) + p[(l + 1)..];
                    }
                    break;
                case 6: p = at == 0 ? p : p[..at] + "%252f" + p[(at + 1)..]; break;             // double encoding
                case 7: p = "//" + p.TrimStart('/'); break;                                    // leading double slash
                default: p = at == 0 ? p : p[..at] + "%2e/" + p[at..]; break;                  // encoded dot segment
            }
        }
        return p + query;
    }

    private static void CommonMutations(Random rng, HashSet<string> tags, List<string> lines, bool allowBody)
    {
        if (rng.NextDouble() < 0.04)
        {
            tags.Add(Tags.Folding);
            int at = 1 + rng.Next(lines.Count - 1 + 1);
            lines.Insert(Math.Min(at, lines.Count), "X-Folded: a");
            lines.Insert(Math.Min(at + 1, lines.Count), rng.NextDouble() < 0.5 ? " continued" : "\tHost: blocked.test");
        }
        if (rng.NextDouble() < 0.02)
        {
            tags.Add(Tags.Huge);
            lines.Add("X-Huge: " + new string('a', rng.Next(8 * 1024, 70 * 1024)));
        }
        if (rng.NextDouble() < 0.03)
        {
            tags.Add(Tags.Nul);
            int line = rng.Next(lines.Count);
            int at = rng.Next(lines[line].Length + 1);
            lines[line] = lines[line][..at] + "\0" + lines[line][at..];
        }
        if (rng.NextDouble() < 0.03)
        {
            tags.Add(Tags.NonAscii);
            lines.Add("X-Name: caf\u00e9 \u6f22\u5b57");
        }
        if (rng.NextDouble() < 0.03)
        {
            lines.Add(rng.Next(4) switch { 0 => "Bad Header: x", 1 => ": empty", 2 => "X-Colonless", _ => "X-Space : y" });
        }
    }

    private static byte[] Finish(Random rng, HashSet<string> tags, List<string> lines, string? body)
    {
        string eol = "\r\n";
        var sb = new StringBuilder();
        bool bare = rng.NextDouble() < 0.04;
        if (bare)
        {
            tags.Add(Tags.BareLf);
        }
        foreach (var line in lines)
        {
            sb.Append(line).Append(bare && rng.NextDouble() < 0.6 ? "\n" : eol);
        }
        sb.Append(bare && rng.NextDouble() < 0.5 ? "\n" : eol);
        if (body is not null)
        {
            sb.Append(body);
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
