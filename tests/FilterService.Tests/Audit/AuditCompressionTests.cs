using System.Diagnostics;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Audit;

/// <summary>Issue 20, log volume, through the service: at local midnight yesterday's files are gzipped and still read.</summary>
public sealed class AuditCompressionTests
{
    [Fact]
    public async Task Issue20_AuditCompression_AfterMidnight_YesterdaysFilesAreGzipped_AndEveryRecordIsStillRead()
    {
        var zone = TimeZoneInfo.Local; // the audit files' day is the machine's local date
        var midnight = new DateTime(2026, 11, 24, 0, 0, 0, DateTimeKind.Unspecified);
        var time = new FakeTime(new DateTimeOffset(midnight, zone.GetUtcOffset(midnight)).AddSeconds(-2));
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await RunningService.StartAsync(Samples.DefaultDir, origin, time);
        Assert.Equal(403, (await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "http://blocked-terror.test/before-midnight")).HttpCode);
        await service.WaitForAuditAsync(r => r.Str("url") == "http://blocked-terror.test/before-midnight", "the record before midnight");

        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(200, (await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "http://allowed.test/hello?after-midnight")).HttpCode);
        var clock = Stopwatch.StartNew();
        string[] expected = ["access-20261123.log.gz", "access-20261124.log", "audit-20261123.json.gz", "audit-20261124.json"];
        string[] Logs() => Directory.GetFiles(service.AuditDir).Select(f => Path.GetFileName(f)!)
            .Where(f => f.StartsWith("audit-", StringComparison.Ordinal) || f.StartsWith("access-", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        while (!Logs().SequenceEqual(expected))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the files after midnight: " + string.Join(", ", Logs()));
            await Task.Delay(100);
        }

        Assert.Equal(["http://blocked-terror.test/before-midnight", "http://allowed.test/hello?after-midnight"], service.AuditRecords().Select(r => r.Str("url")));
        Assert.Equal(2, service.SquidLines().Count);
        Assert.Contains(" http://blocked-terror.test/before-midnight ", service.SquidLines()[0]);
    }
}
