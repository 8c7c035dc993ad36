using System.Buffers;
using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Text;
using FilterService.Audit;
using FilterService.Tests.TestSupport;
using PolicyModel.Decisions;

namespace FilterService.Tests.Audit;

/// <summary>
/// The audit line's plain path (<c>AuditLog.JsonLineFormatter.Plain</c>) against the general one (Utf8JsonWriter): the
/// same bytes for every record, and nothing written when a text is not plain.
/// </summary>
public sealed class AuditJsonPlainTests
{
    private static string Write(DecisionRecord record, bool plain)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Write("prefix:"u8); // written after what is there, as into the per-thread scratch
        if (plain)
        {
            AuditLog.JsonLineFormatter.Write(record, buffer);
        }
        else
        {
            AuditLog.JsonLineFormatter.WriteEscaped(record, buffer);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Seeded records mixing plain texts with the characters JSON escapes (quote, backslash, controls), non-ASCII text,
    /// empty and absent fields, every optional field and extreme numbers: <c>Write</c> gives the general path's bytes
    /// for each; the plain path took a good share of them and left a good share (so this cannot pass by taking none, or all).
    /// </summary>
    [Fact]
    public void EveryRecord_IsWrittenAsTheGeneralPathWritesIt()
    {
        int seed = DiffTestSeed.Get(2026);
        var random = new Random(seed);
        int plain = 0;
        const int Cases = 20_000;
        for (int i = 0; i < Cases; i++)
        {
            var record = Generate(random);
            var probe = new ArrayBufferWriter<byte>(256);
            bool took = AuditLog.JsonLineFormatter.Plain.TryWrite(record, probe);
            if (took)
            {
                plain++;
            }
            else
            {
                Assert.Equal(0, probe.WrittenCount);
            }
            var expected = Write(record, plain: false);
            var actual = Write(record, plain: true);
            Assert.True(expected == actual, $"seed {seed}, case {i}:\n general {expected}\n plain   {actual}");
        }
        Assert.True(plain is > Cases / 5 and < Cases - Cases / 20, $"the plain path took {plain:N0} of {Cases:N0}");
    }

    [Theory]
    [InlineData("http://a.test/\"quoted\"")]
    [InlineData("http://a.test/back\\slash")]
    [InlineData("http://a.test/tab\there")]
    [InlineData("http://a.test/del\u007f")]
    [InlineData("http://a.test/caf\u00e9")]
    [InlineData("http://a.test/\ud83d\ude00")]
    [InlineData("http://a.test/lone\ud83d")]
    public void AUrlThatIsNotPlain_IsLeftToTheGeneralPath(string url)
    {
        var record = Generate(new Random(1)) with { Target = url };
        Assert.False(AuditLog.JsonLineFormatter.Plain.TryWrite(record, new ArrayBufferWriter<byte>()));
        Assert.Equal(Write(record, plain: false), Write(record, plain: true));
    }

    /// <summary>The duration's edges: minus zero (a clock stepped back by under 0.05 ms), midpoints, both extremes.</summary>
    [Theory]
    [InlineData(-300L)] // -0.03 ms: rounds to minus zero, which the general path writes as -0
    [InlineData(-500L)]
    [InlineData(500L)] // 0.05 ms: a midpoint, away from zero
    [InlineData(400L)]
    [InlineData(0L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void ADurationAtAnEdge_IsWrittenAsTheGeneralPathWritesIt(long ticks)
    {
        var record = Generate(new Random(3)) with { Target = "http://a.test/", Duration = TimeSpan.FromTicks(ticks) };
        Assert.Equal(Write(record, plain: false), Write(record, plain: true));
    }

    [Fact]
    public void AnAlertOfEverySeverity_IsNamedInLowerCase()
    {
        foreach (var severity in Enum.GetValues<AlertSeverity>())
        {
            var record = Generate(new Random(2));
            record = record with { Target = "http://a.test/", Decision = Decision(DecisionAction.Block, "r", null, true, severity, null) };
            var line = Write(record, plain: true);
            Assert.Contains($",\"alert\":true,\"severity\":\"{severity.ToString().ToLowerInvariant()}\",", line);
            Assert.Equal(Write(record, plain: false), line);
        }
    }

    private static readonly string[] Plain = ["pupil1", "staff", "pupil-lan", "GET", "CONNECT", "block", "social", "lists/social.txt", "3f2a9c1b",
        "93.184.216.34", "2001:db8::1", "google", "7F3A09C2", "statutory:terrorism", "exception:drama", "a b", "~!@#$%^&*()_+`-={}|[]:;'<>?,./"];

    private static readonly string[] Awkward = ["", "\"", "\\", "\n", "\t", "\u0001", "\u007f", "\u00e9", "\u2028", "\ud83d\ude00", "<script>", "&amp;", "'", "+"];

    private static string? Text(Random random, bool nullable = true)
    {
        // One text in forty awkward: a record has about fifteen, and some four records in five stay plain.
        return random.Next(40) switch
        {
            0 when nullable => null,
            1 => "",
            2 => Plain[random.Next(Plain.Length)] + Awkward[random.Next(Awkward.Length)] + Plain[random.Next(Plain.Length)],
            _ => Plain[random.Next(Plain.Length)],
        };
    }

    private static Decision Decision(DecisionAction action, string rule, string? list, bool alert, AlertSeverity severity, DateTimeOffset? until) =>
        new(action, rule, "social", list, null, "Blocked.", until, alert, severity, new ClientIdentity(null, null, [], null, true), []);

    private static DecisionRecord Generate(Random random)
    {
        var action = random.Next(2) == 0 ? DecisionAction.Block : DecisionAction.Allow;
        var at = new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero).AddTicks(random.NextInt64(TimeSpan.TicksPerDay * 400));
        IPAddress client = random.Next(4) switch
        {
            0 => IPAddress.Parse("2001:db8::" + random.Next(0xffff).ToString("x", CultureInfo.InvariantCulture)),
            1 => new IPAddress(IPAddress.Parse("fe80::1").GetAddressBytes(), random.Next(1, 1000)),
            _ => new IPAddress(random.NextInt64(1L << 32)),
        };
        var roles = Enumerable.Range(0, random.Next(4)).Select(_ => Text(random, nullable: false)!).ToImmutableArray();
        Decision? decision = random.Next(4) == 0 ? null : Decision(action, Text(random, false)!, Text(random), random.Next(3) == 0,
            (AlertSeverity)random.Next(4), random.Next(3) == 0 ? at.AddMinutes(random.Next(100_000)) : null);
        var duration = random.Next(8) switch
        {
            6 => TimeSpan.FromTicks(-random.NextInt64(100_000_000)), // a clock that stepped back
            7 => TimeSpan.FromTicks(TimeSpan.MaxValue.Ticks - random.NextInt64(TimeSpan.TicksPerDay * 365_000)), // exponents
            0 => TimeSpan.Zero,
            1 => TimeSpan.FromTicks(random.Next(2000)), // under a tenth of a millisecond: rounds to 0 or 0.1
            2 => TimeSpan.FromTicks(random.NextInt64(TimeSpan.TicksPerDay * 30)),
            3 => TimeSpan.FromMilliseconds(random.Next(1000) + 0.05), // a midpoint
            _ => TimeSpan.FromTicks(random.NextInt64(10_000_000)),
        };
        long Bytes() => random.Next(5) switch { 0 => 0, 1 => long.MaxValue - random.Next(1000), _ => random.NextInt64(1L << 40) };
        return new DecisionRecord(at, client, Text(random), roles, Text(random), Text(random, false)!, "http://" + Text(random, false) + "/",
            action, Text(random, false)!, Text(random), random.Next(100, 600), Bytes(), Bytes(), duration, Text(random, false)!, Text(random),
            decision, Text(random), Text(random), Text(random));
    }
}
