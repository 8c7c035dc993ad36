using System.Buffers;
using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Text;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;
using NodaTime;
using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace FilterService.Tests.Proxy;

/// <summary>
/// The block page's UTF-8 renderer against the naive rendering it replaced (a StringBuilder of HTML-encoded strings,
/// encoded as UTF-8 at the end): the same bytes for every value, hostile and non-ASCII ones included.
/// </summary>
public sealed class BlockPageRenderTests
{
    private static readonly PolicySnapshot Sample = PolicyLoader.Load(RepoPaths.Sample("default")).Snapshot!;

    private static readonly string[] Values =
    [
        "", "plain", "<script>alert('x')</script>", "a & b \"quoted\"", "caf\u00e9 \u00a0nbsp \u00ff", "\u00a1\u009f\u0080",
        "emoji \U0001F600 end", "lone \ud800 surrogate", "\u4e2d\u6587", "tab\tnewline\ncontrol\u0001", "&amp;already",
    ];

    public static TheoryData<int> Cases() => [.. Enumerable.Range(0, Values.Length)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Write_AnyValue_SameBytesAsTheNaiveRendering(int i)
    {
        string value = Values[i];
        var at = new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
        var decision = Decision(value, value, value, at.AddHours(7), value);
        AssertSame(Sample, decision, "http://example.org/" + value, IPAddress.Parse("10.40.1.2"), at, value);
    }

    [Fact]
    public void Write_PolicyNameToEncode_SameBytesAsTheNaiveRendering()
    {
        var policy = PolicyIn("America/New_York", "\"St Mary & St John's <Primary> \\\"Caf\\u00e9\\\"\"");
        var at = new DateTimeOffset(2026, 11, 23, 23, 30, 0, TimeSpan.Zero);
        AssertSame(policy, Decision("Blocked.", "r", null, at.AddDays(3), null), "http://x.test/", IPAddress.Parse("127.0.0.1"), at, "0A1B2C3D");
        Assert.Contains("St Mary &amp; St John&#39;s &lt;Primary&gt; &quot;Caf&#233;&quot;",
            BlockPage.Render(policy, Decision("Blocked.", "r", null, null, null), "http://x.test/", IPAddress.Loopback, at, "0A1B2C3D"));
    }

    [Theory]
    [InlineData("10.40.1.2", null, false)]
    [InlineData("2001:db8::1", "pupil1", false)]
    [InlineData("fe80::1%3", "staff1", true)]
    public void Write_AddressesAndUntils_SameBytesAsTheNaiveRendering(string address, string? user, bool sameDay)
    {
        var at = new DateTimeOffset(2026, 7, 3, 8, 5, 9, TimeSpan.Zero); // BST: 09:05:09 in London
        var until = sameDay ? at.AddHours(8) : at.AddDays(2).AddMinutes(17);
        AssertSame(Sample, Decision("Social media is blocked in lessons.", "pupils-social", "social", until, user), "http://www.facebook.com/feed?x=1&y=<2>",
            IPAddress.Parse(address), at, "FFFFFFFF");
    }

    /// <summary>
    /// The page's time is made once a second per zone (<c>BlockPage.LocalTime</c>): renders just either side of a second,
    /// of a local midnight (with an until 0.6 s later, so "Available again" changes form) and of London's clock going
    /// back, alternating between two zones, are each the naive rendering.
    /// </summary>
    [Fact]
    public void Write_AcrossSecondsMidnightsAndAClockChange_AlternatingZones_SameBytesAsTheNaiveRendering()
    {
        var newYork = PolicyIn("America/New_York");
        string[] instants =
        [
            "2026-11-23T23:59:59.999Z", "2026-11-24T00:00:00.000Z", "2026-11-24T00:00:00.999Z", // London's midnight
            "2026-10-25T00:59:59.500Z", "2026-10-25T01:00:00.250Z", "2026-10-25T01:59:59.750Z", // 01:59 BST, then 01:00 GMT
            "2026-11-24T04:59:59.900Z", "2026-11-24T05:00:00.100Z", // New York's midnight
        ];
        foreach (var text in instants)
        {
            var at = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
            foreach (var policy in new[] { Sample, newYork, Sample })
            {
                AssertSame(policy, Decision("Blocked.", "r", "c", at.AddMilliseconds(600), null), "http://a.test/", IPAddress.Loopback, at, "0000000A");
            }
        }
    }

    /// <summary>A policy of one category in <paramref name="timezone"/>, named <paramref name="name"/> (YAML).</summary>
    private static PolicySnapshot PolicyIn(string timezone, string name = "A school")
    {
        var dir = TempDir.Create("blockpage");
        Directory.CreateDirectory(Path.Combine(dir, "lists", "x"));
        File.WriteAllText(Path.Combine(dir, "lists", "x", "domains"), "x.test\n");
        File.WriteAllText(Path.Combine(dir, "policy.yaml"), $$"""
            name: {{name}}
            timezone: {{timezone}}
            clients: [10.0.0.0/8]
            roles: [staff]
            categories:
              x:
                description: x
                lists: [ { path: lists/x, format: ut1 } ]
            default: allow
            """);
        var loaded = PolicyLoader.Load(dir);
        Assert.True(loaded.Succeeded, string.Join("\n", loaded.Diagnostics));
        return loaded.Snapshot!;
    }

    [Fact]
    public void RenderUtf8_ReusedBuffer_ReturnsEachPageWhole()
    {
        var at = new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
        var first = BlockPage.RenderUtf8(Sample, Decision("a long reason " + new string('x', 5000), "r", "c", null, "u"), "http://a.test/", IPAddress.Loopback, at, "00000001").ToArray();
        var second = BlockPage.RenderUtf8(Sample, Decision("short", "r", "c", null, null), "http://b.test/", IPAddress.Loopback, at, "00000002");
        Assert.Equal(Naive(Sample, Decision("short", "r", "c", null, null), "http://b.test/", IPAddress.Loopback, at, "00000002"), second.ToArray());
        Assert.Equal(Naive(Sample, Decision("a long reason " + new string('x', 5000), "r", "c", null, "u"), "http://a.test/", IPAddress.Loopback, at, "00000001"), first);
    }

    private static void AssertSame(PolicySnapshot policy, Decision decision, string url, IPAddress client, DateTimeOffset at, string reference)
    {
        var expected = Naive(policy, decision, url, client, at, reference);
        var output = new ArrayBufferWriter<byte>(16); // small, so that every write asks for room
        int length = BlockPage.Write(output, policy, decision, url, client, at, reference);
        Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(output.WrittenSpan));
        Assert.Equal(expected, output.WrittenSpan.ToArray());
        Assert.Equal(expected.Length, length);
        Assert.Equal(expected, BlockPage.RenderUtf8(policy, decision, url, client, at, reference).ToArray());
        Assert.Equal(Encoding.UTF8.GetString(expected), BlockPage.Render(policy, decision, url, client, at, reference));
    }

    private static Decision Decision(string reason, string rule, string? category, DateTimeOffset? until, string? user) =>
        new(DecisionAction.Block, rule, category, null, null, reason, until, false, AlertSeverity.Low,
            new ClientIdentity(user, null, ImmutableArray<string>.Empty, null, true), []);

    /// <summary>The renderer as it was before the UTF-8 one (commit f509cd9), kept as the reference.</summary>
    private static byte[] Naive(PolicySnapshot policy, Decision decision, string url, IPAddress client, DateTimeOffset at, string reference)
    {
        var zone = policy.TimeZone;
        var local = Instant.FromDateTimeOffset(at).InZone(zone).ToDateTimeUnspecified();
        var school = policy.Name ?? "the school";
        var sb = new StringBuilder(2048);
        sb.Append("<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>Blocked by the school web filter</title>")
          .Append("<meta name=\"viewport\" content=\"width=device-width\">")
          .Append("<style>body{font-family:system-ui,sans-serif;max-width:44em;margin:3em auto;padding:0 1em;color:#222}")
          .Append("h1{color:#a00}dt{font-weight:bold;margin-top:.6em}dd{margin-left:0}code{background:#eee;padding:0 .3em}</style></head><body>\n")
          .Append("<h1>This page is blocked</h1>\n<p>The web filter of ").Append(E(school)).Append(" blocked <code>").Append(E(url)).Append("</code>.</p>\n<dl>\n");
        Item(sb, "Reason", decision.Reason);
        Item(sb, "Rule", decision.Rule);
        Item(sb, "Category", decision.Category ?? "none");
        if (decision.Until is { } until)
        {
            var back = Instant.FromDateTimeOffset(until).InZone(zone).ToDateTimeUnspecified();
            Item(sb, "Available again", "Available again at " + back.ToString(back.Date == local.Date ? "HH:mm" : "HH:mm 'on' dddd d MMMM yyyy", CultureInfo.InvariantCulture));
        }
        Item(sb, "Time", local.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " (" + zone.Id + ")");
        Item(sb, "Your address", client.ToString());
        if (decision.Identity.User is { } user)
        {
            Item(sb, "Signed in as", user);
        }
        Item(sb, "Reference", reference);
        sb.Append("</dl>\n<p>If you think this is wrong, ask your ICT manager to review it and quote the reference <strong>")
          .Append(E(reference)).Append("</strong>.</p>\n</body></html>\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static void Item(StringBuilder sb, string label, string value) =>
        sb.Append("<dt>").Append(E(label)).Append("</dt><dd>").Append(E(value)).Append("</dd>\n");

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
