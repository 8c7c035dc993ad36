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
    [InlineData("/%252f", "/%252f")]
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
    [InlineData("/terror%252frecruitment")]
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

    // ---- property tests against the naive reference ----

    private static readonly string[] Tokens =
    [
        "/", "//", "a", "B", "terror", "recruitment", ".", "..", "%2e", "%2E", "%2f", "%2F", "%5c", "\\", ";", ";x=1", "%3b",
        "%", "%25", "%252f", "%41", "%7e", "%7E", "%u002f", "%u0041", "%uD800", "%U00e9", "?", "#", "=", "&", "\u00e9",
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

    /// <summary>Matching/README.md's canonical form, step by step: fragment, split, decode, parameters, slashes, dots.</summary>
    private static string Reference(string s)
    {
        s = s.Split('#')[0];
        int q = s.IndexOf('?');
        string path = q < 0 ? s : s[..q];

        var decoded = new StringBuilder();
        foreach (Match m in Regex.Matches(path, @"%[0-9A-Fa-f]{2}|%[uU][0-9A-Fa-f]{4}|[\uD800-\uDBFF][\uDC00-\uDFFF]|.", RegexOptions.Singleline))
        {
            string t = m.Value;
            byte[] bytes;
            string rest = "";
            if (t.Length == 3 && t[0] == '%')
            {
                bytes = [Convert.ToByte(t[1..], 16)];
            }
            else if (t.Length == 6 && t[0] == '%')
            {
                int code = Convert.ToInt32(t[2..], 16);
                if (code is >= 0xD800 and <= 0xDFFF)
                    (bytes, rest) = ([(byte)'%'], t[1..]);
                else
                    bytes = Encoding.UTF8.GetBytes(char.ConvertFromUtf32(code));
            }
            else
            {
                bytes = Encoding.UTF8.GetBytes(t);
            }
            foreach (byte b in bytes)
                decoded.Append(b == '\\' ? "/" : b > 0x20 && b < 0x7f && b != '%' && b != '?' && b != '#' ? ((char)b).ToString() : $"%{b:X2}");
            decoded.Append(rest);
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
