using System.Globalization;
using System.Net;
using System.Text;
using FilterService.Audit;
using PolicyModel.Decisions;

namespace FilterService.Tests.Audit;

/// <summary><see cref="AuditTimeFormat"/>: byte for byte the straightforward formatting, across second boundaries, from many threads.</summary>
public sealed class AuditTimeFormatTests
{
    private static string Straightforward(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string Cached(DateTimeOffset at)
    {
        Span<byte> text = stackalloc byte[AuditTimeFormat.Length];
        AuditTimeFormat.Write(at, text);
        return Encoding.UTF8.GetString(text);
    }

    public static TheoryData<DateTimeOffset> Boundaries() =>
    [
        new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero),
        new(2026, 12, 31, 23, 59, 59, 999, TimeSpan.Zero),
        new(2027, 1, 1, 0, 0, 0, TimeSpan.Zero),
        new(2028, 2, 28, 23, 59, 59, 999, TimeSpan.Zero),
        new(2028, 2, 29, 0, 0, 0, TimeSpan.Zero),
        new(2026, 3, 29, 1, 0, 0, TimeSpan.FromHours(1)), // an offset: written in UTC
        new(2026, 10, 25, 1, 59, 59, 999, TimeSpan.FromHours(1)),
        DateTimeOffset.UnixEpoch,
    ];

    [Theory]
    [MemberData(nameof(Boundaries))]
    public void AuditTime_AcrossASecondBoundary_IsByteIdenticalToTheStraightforwardFormat(DateTimeOffset around)
    {
        // Forwards, backwards and back again over the boundary, each tick near it: the cached second must follow.
        long[] steps = [-10_001, -10_000, -9_999, -1, 0, 1, 9_999, 10_000, 10_001, -1, -20_000, 5_000_000, 9_999_999, 10_000_000, -10_000_001];
        foreach (var step in steps)
        {
            var at = around.AddTicks(step);
            Assert.Equal(Straightforward(at), Cached(at));
        }
    }

    [Fact]
    public void AuditTime_EveryMillisecondOfThreeSeconds_IsByteIdenticalToTheStraightforwardFormat()
    {
        var start = new DateTimeOffset(2026, 12, 5, 23, 59, 58, TimeSpan.Zero);
        for (int ms = 0; ms < 3_000; ms++)
        {
            var at = start.AddMilliseconds(ms).AddTicks(ms % 7 * 1_234);
            Assert.Equal(Straightforward(at), Cached(at));
        }
    }

    [Fact]
    public void AuditTime_ManyThreadsInterleavingSeconds_EachGetsItsOwnRecordsTime()
    {
        var start = new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, thread =>
        {
            var random = new Random(thread);
            for (int i = 0; i < 50_000; i++)
            {
                var at = start.AddTicks(random.NextInt64(0, 5 * TimeSpan.TicksPerSecond)); // five seconds, so threads keep swapping the entry
                if (Straightforward(at) is var expected && Cached(at) is var actual && expected != actual)
                {
                    failures.Add($"{expected} != {actual}");
                }
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void AuditTime_InTheJsonLine_IsTheRecordsTime()
    {
        var at = new DateTimeOffset(2026, 12, 5, 9, 59, 59, 999, TimeSpan.Zero).AddTicks(9_999);
        var record = new DecisionRecord(at, IPAddress.Parse("10.40.1.2"), null, [], null, "GET", "http://example.com/", DecisionAction.Allow,
            "default", null, 200, 0, 0, TimeSpan.Zero, "R1", null, null);
        Assert.StartsWith("{\"time\":\"2026-12-05T09:59:59.999Z\",", AuditLog.JsonLineFormatter.ToJson(record));
        Assert.StartsWith("{\"time\":\"2026-12-05T10:00:00.000Z\",", AuditLog.JsonLineFormatter.ToJson(record with { At = at.AddTicks(1) }));
    }
}
