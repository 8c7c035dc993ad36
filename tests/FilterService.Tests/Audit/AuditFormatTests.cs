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

    private static Decision Decided(DecisionAction action, string rule, string? category, string? list, string reason, bool alert = false) =>
        new(action, rule, category, list, null, reason, null, alert, alert ? AlertSeverity.Low : AlertSeverity.None,
            new ClientIdentity(null, null, [], null, true), []);

    [Fact]
    public void JsonLine_DecidedBlock_CarriesListAndAlertButNotTheReasonSentence()
    {
        var record = Record(DecisionAction.Block, 403, "GET", "http://www.facebook.com/") with
        {
            Decision = Decided(DecisionAction.Block, "pupils-social", "social", "lists/sinfonietta-social.hosts", "Blocked by rule 'pupils-social': No social media.", alert: true),
        };
        Assert.Equal("{\"time\":\"2026-11-23T10:15:30.250Z\",\"client\":\"10.40.1.2\",\"user\":\"pupil1\",\"roles\":[\"pupil\"],\"network\":\"pupil-lan\","
            + "\"method\":\"GET\",\"url\":\"http://www.facebook.com/\",\"action\":\"block\",\"rule\":\"pupils-social\",\"category\":\"social\","
            + "\"list\":\"lists/sinfonietta-social.hosts\",\"alert\":true,\"severity\":\"low\","
            + "\"status\":403,\"bytes_in\":12,\"bytes_out\":3456,\"duration_ms\":42.3,\"ref\":\"0A1B2C3D\",\"policy\":\"abc123\"}",
            AuditLog.JsonLineFormatter.ToJson(record));
    }

    [Fact]
    public void JsonLine_AnonymousAllowedRequest_OmitsNullAndEmptyFields()
    {
        var record = new DecisionRecord(new DateTimeOffset(2026, 11, 23, 10, 15, 30, 250, TimeSpan.Zero), IPAddress.Parse("10.40.1.2"), null, [], null,
            "GET", "http://example.org/", DecisionAction.Allow, "default", null, 200, 0, 512, TimeSpan.FromMilliseconds(3), "0A1B2C3E", "abc123",
            Decided(DecisionAction.Allow, "default", null, null, "No rule applies to this request, so the policy's default allows it."), "93.184.216.34");
        Assert.Equal("{\"time\":\"2026-11-23T10:15:30.250Z\",\"client\":\"10.40.1.2\",\"method\":\"GET\",\"url\":\"http://example.org/\","
            + "\"action\":\"allow\",\"rule\":\"default\",\"status\":200,\"bytes_in\":0,\"bytes_out\":512,\"duration_ms\":3,\"ref\":\"0A1B2C3E\","
            + "\"policy\":\"abc123\",\"upstream\":\"93.184.216.34\"}", AuditLog.JsonLineFormatter.ToJson(record));
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
