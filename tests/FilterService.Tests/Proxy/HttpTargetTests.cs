using System.Globalization;
using System.Text;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// <see cref="HttpTarget.TryResolve"/> takes a target already in the form <see cref="Uri"/> would give it without a Uri
/// (<see cref="HttpTarget.TryCanonical"/>), and sends everything else through <see cref="HttpTarget.TryResolveUri"/>.
/// The shortcut is only sound if every target it takes resolves through the Uri to the same URL, host, port, path and
/// query: the decision, the record and the forwarder must not see a pupil's odd spelling differently on one path.
/// </summary>
public sealed class HttpTargetTests
{
    [Theory]
    [InlineData("http://example.org/", "example.org", 80, "/")]
    [InlineData("http://www.bbc.co.uk/news/uk-12345?x=1&y=2", "www.bbc.co.uk", 80, "/news/uk-12345?x=1&y=2")]
    [InlineData("http://a-b.test:8080/a;b=c/d:e@f!$&'()*+,=~", "a-b.test", 8080, "/a;b=c/d:e@f!$&'()*+,=~")]
    [InlineData("http://xn--bcher-kva.example/", "xn--bcher-kva.example", 80, "/")]
    [InlineData("http://localhost/x", "localhost", 80, "/x")]
    [InlineData("http://a.test/?q=a/./b", "a.test", 80, "/?q=a/./b")] // in the query it is kept, not a segment
    public void CanonicalTargets_AreTakenAsTheyAre(string target, string host, int port, string pathAndQuery)
    {
        Assert.True(HttpTarget.TryCanonical(target, https: false, out var resolved));
        Assert.Same(target, resolved.Url); // no string rebuilt
        Assert.Equal(new HttpTarget(target, host, port, pathAndQuery, host), resolved);
        AssertSameAsUri(target, https: false);
    }

    [Theory]
    // Forms of an address a pupil might try: all go through the Uri and the address canonicalisation, as before.
    [InlineData("http://127.0.0.1/")]
    [InlineData("http://2130706433/")]
    [InlineData("http://0x7f.1/")]
    [InlineData("http://0177.0.0.1/")]
    [InlineData("http://127.1/")]
    [InlineData("http://[::1]/")]
    [InlineData("http://[::ffff:127.0.0.5]/")]
    [InlineData("http://1.2.3.0x4/")]
    // Spellings the Uri changes.
    [InlineData("http://EXAMPLE.org/")]
    [InlineData("HTTP://example.org/")]
    [InlineData("http://ex%61mple.org/")]
    [InlineData("http://example.org./")]
    [InlineData("http://example.org:80/")]
    [InlineData("http://example.org:080/")]
    [InlineData("http://example.org:65536/")]
    [InlineData("http://example.org:/")]
    [InlineData("http://example.org")]
    [InlineData("http://example.org?q")]
    [InlineData("http://example.org/a/../b")]
    [InlineData("http://example.org/a/.")]
    [InlineData("http://7f.example/x/./y?a=/./")]
    [InlineData("http://example.org/.well-known/x")]
    [InlineData("http://example.org/%2e%2e/etc")]
    [InlineData("http://example.org/caf%C3%A9")]
    [InlineData("http://example.org/a b")]
    [InlineData("http://example.org/a\\b")]
    [InlineData("http://example.org/#frag")]
    [InlineData("http://example.org/\u00e9")]
    [InlineData("http://user@example.org/")]
    [InlineData("http://-a.test/")]
    [InlineData("http://a..b.test/")]
    [InlineData("http://a_b.test/")]
    [InlineData("http://b\u00fccher.example/")]
    [InlineData("https://example.org/")]
    public void OtherTargets_GoThroughTheUri(string target)
    {
        Assert.False(HttpTarget.TryCanonical(target, https: false, out _));
        AssertSameAsUri(target, https: false);
    }

    [Theory]
    [InlineData("http://xn--a.test/")]
    [InlineData("http://xn--.test/")]
    [InlineData("http://xn--zz-zzz.test/")]
    [InlineData("http://a--b.test/")]
    [InlineData("http://1.2.3.com/")]
    [InlineData("http://0x7f.com/")]
    [InlineData("http://a.test:1/")]
    [InlineData("http://a.test:65535/")]
    [InlineData("http://a.test//double//slash/")]
    [InlineData("http://a.test/?")]
    [InlineData("http://a.test/??a=b?c")]
    public void OddButPossibleNames_ResolveAsTheUriResolvesThem(string target) => AssertSameAsUri(target, https: false, shortcutToo: true);

    [Fact]
    public void Https_TakesItsOwnSchemeAndDefaultPort()
    {
        Assert.True(HttpTarget.TryCanonical("https://a.test/x", https: true, out var resolved));
        Assert.Equal(443, resolved.Port);
        Assert.False(HttpTarget.TryCanonical("https://a.test:443/x", https: true, out _));
        Assert.True(HttpTarget.TryCanonical("https://a.test:80/x", https: true, out resolved));
        Assert.Equal(80, resolved.Port);
        Assert.False(HttpTarget.TryCanonical("http://a.test/x", https: true, out _));
    }

    /// <summary>
    /// Seeded targets built from near-canonical parts and hostile characters: every one the shortcut takes resolves
    /// through the Uri to the same five values, and the shortcut takes a good share of them (so this cannot pass by
    /// taking none).
    /// </summary>
    [Fact]
    public void EveryTargetTheShortcutTakes_ResolvesTheSameThroughTheUri()
    {
        int seed = DiffTestSeed.Get(2026);
        var random = new Random(seed);
        int taken = 0;
        const int Cases = 100_000;
        for (int i = 0; i < Cases; i++)
        {
            bool https = random.Next(8) == 0;
            string target = Generate(random, https);
            if (HttpTarget.TryCanonical(target, https, out var shortcut))
            {
                taken++;
                Assert.True(HttpTarget.TryResolveUri(target, https, out var uri, out var host),
                    $"seed {seed}: the shortcut took {target} but the Uri refuses it");
                Assert.True(HttpTarget.From(uri, host) == shortcut,
                    $"seed {seed}: {target}: shortcut {shortcut}, Uri {HttpTarget.From(uri, host)}");
            }
        }
        Assert.True(taken is > Cases / 10 and < Cases - Cases / 10, $"the shortcut took {taken:N0} of {Cases:N0}");
    }

    private static void AssertSameAsUri(string target, bool https, bool shortcutToo = false)
    {
        bool viaUri = HttpTarget.TryResolveUri(target, https, out var uri, out var host);
        if (shortcutToo && HttpTarget.TryCanonical(target, https, out var shortcut))
        {
            Assert.True(viaUri);
            Assert.Equal(HttpTarget.From(uri, host), shortcut);
        }
        Assert.Equal(viaUri, HttpTarget.TryResolve(target, https, out var resolved));
        if (viaUri)
        {
            Assert.Equal(HttpTarget.From(uri, host), resolved);
        }
    }

    private const string LabelChars = "abcdefghijklmnopqrstuvwxyz0123456789-";
    private const string OddHostChars = "ABCXZ_%.:@[]\u00e9\u0130\u212a0x";
    private const string PathChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?";
    private const string OddPathChars = "%#\\ \"<>^`{|}[]\u00e9\u0000\t.";

    private static string Generate(Random random, bool https)
    {
        var sb = new StringBuilder(random.Next(40) == 0 ? "HTTP://" : https ? "https://" : "http://");
        int labels = random.Next(1, 5);
        for (int l = 0; l < labels; l++)
        {
            if (l > 0)
            {
                sb.Append('.');
            }
            int length = random.Next(20) == 0 ? random.Next(60, 66) : random.Next(20) == 0 ? 0 : random.Next(1, 8);
            // Most last labels are a top-level domain's letters; the rest may be anything a label may hold.
            var chars = l == labels - 1 && random.Next(5) != 0 ? LabelChars[..26] : LabelChars;
            for (int c = 0; c < length; c++)
            {
                sb.Append(random.Next(25) == 0 ? OddHostChars[random.Next(OddHostChars.Length)] : chars[random.Next(chars.Length)]);
            }
        }
        if (random.Next(4) == 0)
        {
            sb.Append(':').Append(random.Next(6) switch
            {
                0 => "80",
                1 => "443",
                2 => "0" + random.Next(100),
                3 => random.Next(65530, 65540).ToString(CultureInfo.InvariantCulture),
                4 => "",
                _ => random.Next(1, 65535).ToString(CultureInfo.InvariantCulture),
            });
        }
        if (random.Next(30) != 0)
        {
            sb.Append('/');
        }
        int path = random.Next(0, 30);
        for (int c = 0; c < path; c++)
        {
            sb.Append(random.Next(30) == 0 ? OddPathChars[random.Next(OddPathChars.Length)] : PathChars[random.Next(PathChars.Length)]);
        }
        return sb.ToString();
    }
}
