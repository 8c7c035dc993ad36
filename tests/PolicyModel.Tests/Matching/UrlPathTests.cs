using System.Text;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using PolicyModel.Matching;

namespace PolicyModel.Tests.Matching;

/// <summary>
/// The canonical URL path (issue 15 item 2): each bypass form as a table, then the canonicaliser and the URL-list
/// matcher against a naive reference written the slow and obvious way (regex tokens, Split, RFC 3986's
/// remove_dot_segments).
/// </summary>
public sealed class UrlPathTests
{
    private const int Terror = 5;

    [Theory]
    [InlineData("//terror/recruitment/x", "/terror/recruitment/x")]
    [InlineData("/terror//recruitment/x", "/terror/recruitment/x")]
    [InlineData("/terror%2frecruitment/x", "/terror/recruitment/x")]
    [InlineData("/terror%2Frecruitment/x", "/terror/recruitment/x")]
    [InlineData("/%2fterror/recruitment", "/terror/recruitment")]
    [InlineData("/terror;x/recruitment;jsessionid=1/x", "/terror/recruitment/x")]
    [InlineData("/terror/;x/recruitment", "/terror/recruitment")]
    [InlineData("/terror%3bx/recruitment", "/terror/recruitment")]
    [InlineData("/terror\\recruitment", "/terror/recruitment")]
    [InlineData("/terror%5Crecruitment", "/terror/recruitment")]
    [InlineData("/a/../terror/./recruitment", "/terror/recruitment")]
    [InlineData("/a/%2e%2e/terror/%2E/recruitment", "/terror/recruitment")]
    [InlineData("/a/..;x/terror/recruitment", "/terror/recruitment")]
    [InlineData("/a%2f%2e%2e%2fterror/recruitment", "/terror/recruitment")]
    [InlineData("/%74error/recruitment", "/terror/recruitment")]
    [InlineData("/%u0074error%u002frecruitment", "/terror/recruitment")]
    [InlineData("/terror/recruitment#x", "/terror/recruitment")]
    [InlineData("/../../terror/recruitment", "/terror/recruitment")]
    [InlineData("/terror/recruitment/..", "/terror/")]
    [InlineData("/terror/recruitment/.", "/terror/recruitment/")]
    [InlineData("/", "/")]
    [InlineData("", "")]
    [InlineData("/%252f", "/")]
    [InlineData("/terror%252frecruitment/page.html", "/terror/recruitment/page.html")]
    [InlineData("/%252fterror/recruitment;x=1/page.html", "/terror/recruitment/page.html")]
    [InlineData("/x;x=1%252f../terror/recruitment/page.html", "/terror/recruitment/page.html")]
    [InlineData("/./w%252findex.php", "/w/index.php")]
    [InlineData("/terror%25252525252Frecruitment", "/terror/recruitment")]
    [InlineData("/%2574error/recruitment", "/terror/recruitment")]
    [InlineData("/terror%25%32%46recruitment", "/terror/recruitment")]
    [InlineData("/terror%%32%46recruitment", "/terror/recruitment")]
    [InlineData("/%4%31", "/A")]
    [InlineData("/%4%4%31", "/J")]
    [InlineData("/%25u0074error%25u002frecruitment", "/terror/recruitment")]
    [InlineData("/%u0025%32%46", "/")]
    [InlineData("/a%252e%252e/terror", "/a../terror")]
    [InlineData("/a/%252e%252e/terror", "/terror")]
    [InlineData("/terror%253brecruitment", "/terror")]
    [InlineData("/terror%255crecruitment", "/terror/recruitment")]
    [InlineData("/%25", "/%25")]
    [InlineData("/%2525", "/%25")]
    [InlineData("/%254", "/%254")]
    [InlineData("/%25zz", "/%25zz")]
    [InlineData("/%253f", "/%3F")]
    [InlineData("/%25e9", "/%E9")]
    [InlineData("/%25u00e9", "/%C3%A9")]
    [InlineData("/%25uD800", "/%25uD800")]
    [InlineData("/%25%u0041", "/%25A")]
    [InlineData("/q?a=%2541%252f", "/q?a=%2541%252f")]
    [InlineData("/100%", "/100%25")]
    [InlineData("/%3f/%23/%20", "/%3F/%23/%20")]
    [InlineData("/caf\u00e9", "/caf%C3%A9")]
    [InlineData("/caf%c3%a9", "/caf%C3%A9")]
    [InlineData("/q?a=%41%2f%2F&b=//x;y#f", "/q?a=A%2F%2F&b=//x;y")]
    [InlineData("/q?a b", "/q?a%20b")]
    [InlineData("/w//index.php?action=submit", "/w/index.php?action=submit")]
    [InlineData("*/index.php", "*/index.php")]
    public void Item02_Canonicalize_EachBypassForm_GivesTheOneCanonicalPath(string received, string canonical)
    {
        Assert.Equal(canonical, UrlPath.Canonicalize(received));
        Assert.Equal(canonical, Reference(received));
    }

    [Theory]
    [InlineData("/terror/recruitment/x")]
    [InlineData("//terror/recruitment/x")]
    [InlineData("/terror//recruitment/x")]
    [InlineData("/terror%2frecruitment/x")]
    [InlineData("/%2fterror/recruitment/x")]
    [InlineData("/terror;x/recruitment/x")]
    [InlineData("/terror/recruitment;x")]
    [InlineData("/TERROR/Recruitment")]
    [InlineData("/x/../terror/recruitment")]
    [InlineData("/terror/%2e/recruitment")]
    [InlineData("/terror\\recruitment")]
    [InlineData("/terror%252frecruitment/page.html")]
    [InlineData("/%252fterror/recruitment;x=1/page.html")]
    [InlineData("/x;x=1%252f../terror/recruitment/page.html")]
    [InlineData("/terror%25%32%46recruitment")]
    [InlineData("/%2574error%25252Frecruitment")]
    public void Item02_StatutoryUrlEntry_PlainAndHashed_MatchesEveryFormOfItsPath(string path)
    {
        var plain = Build((Terror, EntryKind.UrlPrefix, "stand-in.test/terror/recruitment"));
        var hashed = Build((Terror, EntryKind.Hash, EntryText.HashOf(EntryText.HashInput("stand-in.test/terror/recruitment")!)));

        Assert.Equal(1UL << Terror, plain.Match("stand-in.test", path));
        Assert.Equal(1UL << Terror, hashed.Match("www.stand-in.test", path));
        Assert.Equal("stand-in.test/terror/recruitment", plain.Explain("stand-in.test", path, Terror)?.Entry);
        Assert.NotNull(hashed.Explain("stand-in.test", path, Terror));
    }

    [Theory]
    [InlineData("/terror/recruitmen")]
    [InlineData("/terror/x/recruitment")]
    [InlineData("/terror/recruitment/../")]
    [InlineData("/terror%2525recruitment")]
    [InlineData("/terror%25252xrecruitment")]
    public void Match_OtherPaths_AreNotTheStatutoryEntry(string path)
    {
        var plain = Build((Terror, EntryKind.UrlPrefix, "stand-in.test/terror/recruitment"));
        Assert.Equal(0UL, plain.Match("stand-in.test", path));
    }

    [Theory]
    [InlineData("stand-in.test//terror;v=1/%2Frecruitment", "stand-in.test/terror/recruitment")]
    [InlineData("Stand-In.test/A/./B/../C%41", "stand-in.test/a/ca")]
    [InlineData("http://stand-in.test", "stand-in.test/")]
    public void NormalizeUrlPrefix_ListEntry_IsCanonicalisedAtLoad(string written, string stored)
    {
        Assert.Equal(stored, EntryText.NormalizeUrlPrefix(written));
    }

    [Fact]
    public void HashInput_ListEntry_IsCanonicalisedBeforeHashing()
    {
        Assert.Equal("stand-in.test/terror/recruitment", EntryText.HashInput("stand-in.test//terror/%2frecruitment;x/?q=1#f"));
        Assert.Equal("example.com/bad/path", EntryText.HashInput("Example.com/Bad/Path/?q=1"));
        Assert.Equal("example.com", EntryText.HashInput("example.com/"));
        Assert.Equal("example.com", EntryText.HashInput("example.com?x"));
    }

    [Fact]
    public void Canonicalize_CanonicalInput_ReturnsTheSameStringWithoutAllocating()
    {
        string path = "/w/index.php?title=Caf%C3%A9&action=submit";
        Assert.Same(path, UrlPath.Canonicalize(path));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
            _ = UrlPath.Canonicalize(path);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Item02_Canonicalize_32KbOfNestedPercentEscapes_DecodesInOnePass()
    {
        // %2525...25 decodes one level per round in a decoder that repeats whole passes: 32 KB would cost about 10,000
        // passes over the path. The one-pass decoder writes each input character once and at most one more per decode.
        string path = "/a%" + string.Concat(Enumerable.Repeat("25", 16 * 1024)) + "2Fb";

        string canonical = UrlPath.Build(path, out int writes);

        Assert.Equal("/a/b", canonical);
        Assert.Equal(canonical, UrlPath.Canonicalize(path));
        Assert.InRange(writes, path.Length, 2 * path.Length);
    }

    [Fact]
    public void Item02_Canonicalize_32KbOfNestedPercentEscapesEndingInAPercent_KeepsTheLiteralPercent()
    {
        string path = "/a%" + string.Concat(Enumerable.Repeat("25", 16 * 1024));

        string canonical = UrlPath.Build(path, out int writes);

        Assert.Equal("/a%25", canonical);
        Assert.True(UrlPath.IsCanonical(canonical));
        Assert.InRange(writes, path.Length, 2 * path.Length);
    }

    // ---- property tests against the naive reference ----

    private static readonly string[] Tokens =
    [
        "/", "//", "a", "B", "terror", "recruitment", ".", "..", "%2e", "%2E", "%2f", "%2F", "%5c", "\\", ";", ";x=1", "%3b",
        "%", "%25", "%252f", "%41", "%7e", "%7E", "%u002f", "%u0041", "%uD800", "%U00e9", "?", "#", "=", "&", "\u00e9",
        "%2525", "%252F", "%252e", "%253b", "%255c", "%25%32%46", "%32", "%46", "2", "5", "e9", "E", "u", "u00", "%u0025", "%75", "%2541",
        "\U0001F600", "\uD800", " ", "%20", "%c3%a9", "%3f", "%23", "~", "*", "%0a", "\u007f", "%zz", "%4",
    ];

    private static readonly Gen<string> Paths =
        Gen.Elements(Tokens).ListOf().Select(ts => "/" + string.Concat(ts.Take(14)));

    [Fact]
    public void Canonicalize_RandomPaths_AgreesWithNaiveReferenceAndIsIdempotent()
    {
        var property = Prop.ForAll(Paths.ToArbitrary(), path =>
        {
            string canonical = UrlPath.Canonicalize(path);
            string expected = Reference(path);
            if (canonical != expected)
                throw new Xunit.Sdk.XunitException($"'{path}': expected '{expected}', got '{canonical}'");
            if (UrlPath.Canonicalize(canonical) != canonical || !UrlPath.IsCanonical(canonical))
                throw new Xunit.Sdk.XunitException($"'{path}': '{canonical}' is not a fixed point");
            if (UrlPath.IsCanonical(path) != (canonical == path))
                throw new Xunit.Sdk.XunitException($"'{path}': IsCanonical says {UrlPath.IsCanonical(path)}");
            if (UrlPath.IsCanonical(path) && !ReferenceEquals(path, UrlPath.Canonicalize(path)))
                throw new Xunit.Sdk.XunitException($"'{path}': canonical input was copied");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(3000), property);
    }

    [Fact]
    public void Canonicalize_ArbitraryText_NeverThrowsAndGivesPrintableAsciiAgreeingWithReference()
    {
        var property = Prop.ForAll(ArbMap.Default.ArbFor<string>(), text =>
        {
            string path = "/" + text;
            string canonical = UrlPath.Canonicalize(path);
            if (canonical.Any(c => c <= ' ' || c >= '\u007f') || canonical != Reference(path) || !UrlPath.IsCanonical(canonical))
                throw new Xunit.Sdk.XunitException($"'{path}' gave '{canonical}', reference '{Reference(path)}'");
            _ = UrlPath.Canonicalize(text ?? ""); // unrooted (pattern) input must not throw either
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(5000), property);
    }

    private static readonly string[] EntryPaths = ["/", "/a", "/a/", "/terror/recruitment", "/A//b", "/a;x/b", "/a/%2e%2e/b", "/%41", "/b?q=1", "/caf%C3%A9"];

    private static readonly Gen<(EntryKind Kind, string Path)> Entries =
        Gen.Zip(Gen.Elements(EntryKind.UrlPrefix, EntryKind.Hash), Gen.Elements(EntryPaths));

    [Fact]
    public void Match_RandomEntriesAndPaths_AgreesWithNaiveReference()
    {
        var cases = Gen.Zip(Entries.ListOf(), Paths.ListOf());
        var property = Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var entries = c.Item1.Take(6).ToArray();
            var builder = new DomainMatcherBuilder();
            for (int i = 0; i < entries.Length; i++)
            {
                int list = builder.AddList("list" + i, i);
                var (kind, path) = entries[i];
                builder.Add(list, kind == EntryKind.UrlPrefix
                    ? new ListEntry(kind, "stand-in.test" + path, 1)
                    : new ListEntry(kind, EntryText.HashOf(EntryText.HashInput("stand-in.test" + path)!), 1));
            }
            var matcher = builder.Build();
            foreach (string path in c.Item2.Take(20))
            {
                ulong expected = 0;
                for (int i = 0; i < entries.Length; i++)
                {
                    if (ReferenceMatch(entries[i].Kind, entries[i].Path, path))
                        expected |= 1UL << i;
                }
                ulong actual = matcher.Match("www.stand-in.test", path);
                if (expected != actual)
                    throw new Xunit.Sdk.XunitException($"'{path}': expected {expected:x}, matcher {actual:x}");
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(400), property);
    }

    /// <summary>Ways of writing a separator and a segment that nginx, Apache, IIS or Tomcat map onto the same path.</summary>
    private static readonly string[] Separators = ["/", "//", "\\", "%2f", "%2F", "%5c", "/./", "/%2e/", "/zz/../", "/zz/%2E%2e/", "/;x/", "/%3b/"];

    private static readonly Gen<string> Obfuscated =
        from separators in Gen.Elements(Separators).ArrayOf(3)
        from encodings in Gen.Choose(0, 4).ArrayOf(17)
        from parameter in Gen.Elements("", ";x", ";jsessionid=1", "%3bx")
        select Obfuscate(separators, encodings, parameter);

    private static string Obfuscate(string[] separators, int[] encodings, string parameter)
    {
        var text = new StringBuilder();
        string[] segments = ["terror", "recruitment", "x"];
        for (int s = 0; s < segments.Length; s++)
        {
            text.Append(separators[s]);
            for (int i = 0; i < segments[s].Length; i++)
            {
                char ch = segments[s][i];
                text.Append(encodings[(s * 6 + i) % encodings.Length] switch
                {
                    1 => $"%{(int)ch:x2}",
                    2 => $"%{(int)ch:X2}",
                    3 => char.ToUpperInvariant(ch).ToString(),
                    4 => $"%u{(int)ch:X4}",
                    _ => ch.ToString(),
                });
            }
            if (s == 0)
                text.Append(parameter);
        }
        return text.ToString();
    }

    [Fact]
    public void Item02_StatutoryUrlEntry_AnyCombinationOfEquivalentForms_IsBlocked()
    {
        var plain = Build((Terror, EntryKind.UrlPrefix, "stand-in.test/terror/recruitment"));
        var hashed = Build((Terror, EntryKind.Hash, EntryText.HashOf("stand-in.test/terror/recruitment")));
        var property = Prop.ForAll(Obfuscated.ToArbitrary(), path =>
        {
            if (plain.Match("stand-in.test", path) != 1UL << Terror || hashed.Match("stand-in.test", path) != 1UL << Terror)
                throw new Xunit.Sdk.XunitException($"'{path}' ({UrlPath.Canonicalize(path)}) escaped the entry");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000), property);
    }

    // ---- the naive reference ----

    private static bool ReferenceMatch(EntryKind kind, string entryPath, string requestPath)
    {
        string request = Reference(requestPath);
        if (kind == EntryKind.UrlPrefix)
            return request.StartsWith(Reference(entryPath), StringComparison.OrdinalIgnoreCase);

        // Hashed: the entry's path without query or trailing slashes, at a segment boundary of the request's path.
        string entry = Reference(entryPath).Split('?')[0].TrimEnd('/').ToLowerInvariant();
        string path = request.Split('?')[0].ToLowerInvariant();
        return entry.Length == 0 || path == entry || path.StartsWith(entry + "/", StringComparison.Ordinal);
    }

    /// <summary>Matching/README.md's canonical form, step by step: fragment, split, decode until stable, parameters, slashes, dots.</summary>
    private static string Reference(string s)
    {
        s = s.Split('#')[0];
        int q = s.IndexOf('?');
        string path = q < 0 ? s : s[..q];

        // Non-ASCII characters as the escapes of their UTF-8 bytes (a lone surrogate is U+FFFD).
        string text = Regex.Replace(path, @"[\uD800-\uDBFF][\uDC00-\uDFFF]|[^\u0000-\u007f]",
            m => string.Concat(Encoding.UTF8.GetBytes(m.Value).Select(b => $"%{b:X2}")));

        // Decode every ASCII %XX and every %uXXXX (not a surrogate), again and again until nothing changes.
        while (true)
        {
            string next = Regex.Replace(text, @"%[0-9A-Fa-f]{2}|%[uU][0-9A-Fa-f]{4}", m =>
            {
                int code = Convert.ToInt32(m.Value[(m.Value[1] is 'u' or 'U' ? 2 : 1)..], 16);
                if (code is >= 0xD800 and <= 0xDFFF || (m.Value.Length == 3 && code >= 0x80))
                    return m.Value;
                return code < 0x80 ? ((char)code).ToString() : string.Concat(Encoding.UTF8.GetBytes(char.ConvertFromUtf32(code)).Select(b => $"%{b:X2}"));
            });
            if (next == text)
                break;
            text = next;
        }

        // What is left: escapes of non-ASCII bytes (upper-case hex), literal percent signs, and characters, some of which stay escaped.
        var decoded = new StringBuilder();
        foreach (Match m in Regex.Matches(text, "%[0-9A-Fa-f]{2}|.", RegexOptions.Singleline))
        {
            string t = m.Value;
            char b = t[0];
            decoded.Append(t.Length == 3 ? t.ToUpperInvariant() : b == '\\' ? "/" : b > 0x20 && b < 0x7f && b != '%' && b != '?' && b != '#' ? t : $"%{(int)b:X2}");
        }

        string p = Regex.Replace(decoded.ToString(), ";[^/]*", "");
        p = Regex.Replace(p, "/+", "/");
        p = RemoveDotSegments(p);

        if (q < 0)
            return p;
        var query = new StringBuilder();
        foreach (Match m in Regex.Matches(s[(q + 1)..], @"%[0-9A-Fa-f]{2}|[\uD800-\uDBFF][\uDC00-\uDFFF]|.", RegexOptions.Singleline))
        {
            string t = m.Value;
            if (t.Length == 3 && t[0] == '%')
            {
                char c = (char)Convert.ToByte(t[1..], 16);
                query.Append(char.IsAsciiLetterOrDigit(c) || "-._~".Contains(c) ? c.ToString() : $"%{(int)c:X2}");
            }
            else if (t == "%" || t[0] >= 0x80 || t[0] <= 0x20 || t[0] == 0x7f)
            {
                foreach (byte b in Encoding.UTF8.GetBytes(t))
                    query.Append($"%{b:X2}");
            }
            else
            {
                query.Append(t);
            }
        }
        return p + "?" + query;
    }

    /// <summary>RFC 3986 section 5.2.4, as written there.</summary>
    private static string RemoveDotSegments(string input)
    {
        var output = new StringBuilder();
        while (input.Length > 0)
        {
            if (input.StartsWith("../"))
                input = input[3..];
            else if (input.StartsWith("./"))
                input = input[2..];
            else if (input.StartsWith("/./"))
                input = input[2..];
            else if (input == "/.")
                input = "/";
            else if (input.StartsWith("/../") || input == "/..")
            {
                input = input == "/.." ? "/" : input[3..];
                int last = output.ToString().LastIndexOf('/');
                output.Length = Math.Max(last, 0);
            }
            else if (input is "." or "..")
                input = "";
            else
            {
                int next = input.IndexOf('/', input[0] == '/' ? 1 : 0);
                string segment = next < 0 ? input : input[..next];
                output.Append(segment);
                input = next < 0 ? "" : input[next..];
            }
        }
        return output.ToString();
    }

    private static DomainMatcher Build(params (int Category, EntryKind Kind, string Value)[] entries)
    {
        var builder = new DomainMatcherBuilder();
        foreach (var (category, kind, value) in entries)
            builder.Add(builder.AddList("list" + category, category), new ListEntry(kind, value, 1));
        return builder.Build();
    }
}
