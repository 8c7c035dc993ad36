using System.Diagnostics;
using FilterService.Admin.Decisions;

namespace FilterService.Tests.Decisions;

/// <summary><see cref="AuditLineParser.SiteOf"/>: the search's "site" of a host, against a naive reference and fuzzed.</summary>
public sealed class AuditLineParserTests
{
    /// <summary>The parser's list of second-level domains, copied.</summary>
    private static readonly HashSet<string> SecondLevel =
    [
        "co.uk", "org.uk", "ac.uk", "gov.uk", "sch.uk", "net.uk", "ltd.uk", "plc.uk", "me.uk", "nhs.uk", "police.uk",
        "com.au", "net.au", "org.au", "edu.au", "co.nz", "co.jp", "co.in", "com.br", "com.cn", "co.za", "com.tr", "com.mx",
    ];

    [Theory]
    [InlineData("www.bbc.co.uk", "bbc.co.uk")]
    [InlineData("school.sch.uk", "school.sch.uk")]
    [InlineData("a.b.example.com", "example.com")]
    [InlineData("example.com", "example.com")]
    [InlineData("localhost", "localhost")]
    [InlineData("10.1.2.3", "10.1.2.3")]
    [InlineData("[::1]", "[::1]")]
    [InlineData("", "")]
    [InlineData("co.uk", "co.uk")]
    [InlineData(".co.uk", "co.uk")]
    [InlineData("..co.uk", "co.uk")]
    [InlineData(".uk", "uk")]
    [InlineData(".", "")]
    [InlineData("...", "")]
    [InlineData(".com.au", "com.au")]
    [InlineData("x.", "x")]
    [InlineData(".example.com.", "example.com")]
    [InlineData("a..b", "a..b")]
    [InlineData("a..co.uk", "a..co.uk")]
    public void SiteOf_EdgeHosts_GivesASaneSite(string host, string site) => Assert.Equal(site, AuditLineParser.SiteOf(host));

    /// <summary>The obvious way, for well-formed names: split into labels, keep the last two (three under a second-level domain).</summary>
    private static string Naive(string host)
    {
        var labels = host.Split('.');
        int keep = labels.Length >= 2 && SecondLevel.Contains(labels[^2] + "." + labels[^1]) ? 3 : 2;
        return string.Join('.', labels.Skip(Math.Max(0, labels.Length - keep)));
    }

    [Fact]
    public void SiteOf_Fuzzed_NeverThrows_IsASuffix_AndMatchesTheNaiveReferenceOnWellFormedNames()
    {
        var random = new Random(20261205);
        string[] pieces = ["a", "bc", "co", "uk", "sch", "com", "au", "org", ".", ".", ".", "1", "[", "]", ":", "-", "x9"];
        var clock = Stopwatch.StartNew();
        int checkedNames = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(2) && checkedNames < 200_000)
        {
            var host = string.Concat(Enumerable.Range(0, random.Next(0, 9)).Select(_ => pieces[random.Next(pieces.Length)]));
            var site = AuditLineParser.SiteOf(host);
            Assert.True(host.Trim('.').EndsWith(site, StringComparison.Ordinal), $"'{site}' is not a suffix of '{host}'");
            bool wellFormed = host.Length > 0 && host.Split('.').All(l => l.Length > 0) && host.All(c => char.IsAsciiLetterOrDigit(c) || c == '.')
                && !System.Net.IPAddress.TryParse(host, out _);
            if (wellFormed)
            {
                Assert.Equal(Naive(host), site);
            }
            checkedNames++;
        }
        Assert.True(checkedNames > 1_000);
    }
}
