using System.Collections.Immutable;
using System.Net;
using FilterService.Audit;
using PolicyModel.Decisions;

namespace FilterService.Tests.Audit;

public sealed class AuditFormatTests
{
    private static DecisionRecord Record(DecisionAction action, int status, string method, string url) =>
        new(new DateTimeOffset(2026, 11, 23, 10, 15, 30, 250, TimeSpan.Zero), IPAddress.Parse("10.40.1.2"), "pupil1", ["pupil"], "pupil-lan",
            method, url, action, action == DecisionAction.Block ? "pupils-social" : "default", action == DecisionAction.Block ? "social" : null,
            status, 12, 3456, TimeSpan.FromMilliseconds(42.25), "0A1B2C3D", "abc123", null, action == DecisionAction.Allow ? "93.184.216.34" : null, "text/html");

    [Fact]
    public void JsonLine_HasEveryFieldInOrder()
    {
        var json = AuditLog.JsonLineFormatter.ToJson(Record(DecisionAction.Block, 403, "GET", "http://www.facebook.com/"));
        Assert.Equal("{\"time\":\"2026-11-23T10:15:30.250Z\",\"client\":\"10.40.1.2\",\"user\":\"pupil1\",\"roles\":[\"pupil\"],\"network\":\"pupil-lan\","
            + "\"method\":\"GET\",\"url\":\"http://www.facebook.com/\",\"action\":\"block\",\"rule\":\"pupils-social\",\"category\":\"social\","
            + "\"status\":403,\"bytes_in\":12,\"bytes_out\":3456,\"duration_ms\":42.3,\"ref\":\"0A1B2C3D\",\"policy\":\"abc123\"}", json);
    }

    [Fact]
    public void SquidLine_MatchesSquidsNativeFormat()
    {
        Assert.Equal("1795428930.250     42 10.40.1.2 TCP_DENIED/403 3456 GET http://www.facebook.com/ pupil1 HIER_NONE/- text/html",
            AuditLog.SquidFormatter.ToLine(Record(DecisionAction.Block, 403, "GET", "http://www.facebook.com/")));
        Assert.Equal("1795428930.250     42 10.40.1.2 TCP_TUNNEL/200 3456 CONNECT example.org:443 pupil1 HIER_DIRECT/93.184.216.34 text/html",
            AuditLog.SquidFormatter.ToLine(Record(DecisionAction.Allow, 200, "CONNECT", "example.org:443")));
    }
}
