using System.Net;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace FilterService.Tests.Proxy;

public sealed class RefusalLogTests
{
    private static readonly IPAddress Client = IPAddress.Parse("10.40.0.7");

    private static (RefusalLog Log, CapturingLogger<RefusalLog> Logger) Create()
    {
        var logger = new CapturingLogger<RefusalLog>();
        // An hour: the timer never fires during the test; Flush is what it calls.
        return (new RefusalLog(new FakeTime(DateTimeOffset.UnixEpoch), TimeSpan.FromHours(1), logger), logger);
    }

    private static List<(LogLevel Level, string Message)> AboveDebug(CapturingLogger<RefusalLog> logger) =>
        logger.Snapshot().Where(e => e.Level > LogLevel.Debug).ToList();

    [Fact]
    public void SmallerItem_AThousandRefusals_AreOneInformationLineWithCountsByReason()
    {
        var (log, logger) = Create();
        using var _ = log;
        for (int i = 0; i < 1000; i++)
        {
            log.Note(i % 4 == 0 ? "malformed-request" : "tunnel-not-tls", Client);
        }
        Assert.Empty(AboveDebug(logger));
        log.Flush();
        var line = Assert.Single(AboveDebug(logger));
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Equal("Refused 1000 connections or tunnels in the last 3600 s: malformed-request=250, tunnel-not-tls=750", line.Message);

        log.Flush(); // nothing new: nothing written
        Assert.Single(AboveDebug(logger));
        Assert.DoesNotContain(logger.Snapshot(), e => e.Level > LogLevel.Debug && e.Message.Contains("10.40.0.7", StringComparison.Ordinal));
    }

    [Fact]
    public void SmallerItem_ARefusalAnOperatorMustSee_MakesTheLineAWarning()
    {
        var (log, logger) = Create();
        log.Note("tunnel-not-tls", Client);
        log.Note(RefusalLog.NotAClient, Client);
        log.Dispose(); // flushes what is left
        var line = Assert.Single(AboveDebug(logger));
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.EndsWith(": not-a-client=1, tunnel-not-tls=1", line.Message);
    }
}
