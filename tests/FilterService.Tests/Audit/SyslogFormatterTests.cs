using System.Buffers;
using System.Net;
using System.Text;
using FilterService.Audit;
using PolicyModel.Decisions;

namespace FilterService.Tests.Audit;

public sealed class SyslogFormatterTests
{
    private static readonly SyslogFormatter Formatter = new(13, "school-proxy", "school-filter", 4242);

    private static DecisionRecord Blocked(string category = "social") =>
        new(new DateTimeOffset(2026, 11, 23, 10, 15, 30, 250, TimeSpan.Zero), IPAddress.Parse("10.40.1.2"), "pupil1", ["pupil", "sixth-form"], "pupil-lan",
            "GET", "http://www.facebook.com/feed", DecisionAction.Block, "pupils-social", category, 403, 12, 3456, TimeSpan.FromMilliseconds(42.25),
            "0A1B2C3D", "abc123",
            new Decision(DecisionAction.Block, "pupils-social", category, "lists/sinfonietta-social.hosts", null, "Blocked.", null, true, AlertSeverity.Low,
                new ClientIdentity("pupil1", null, ["pupil"], "pupil-lan", true), []));

    [Fact]
    public void Message_IsRfc5424WithTheDecisionInStructuredDataAndTheAuditLineAsMsg()
    {
        var record = Blocked();
        Assert.Equal("<108>1 2026-11-23T10:15:30.250Z school-proxy school-filter 4242 block [filter@32473 action=\"block\" rule=\"pupils-social\" "
            + "category=\"social\" list=\"lists/sinfonietta-social.hosts\" host=\"www.facebook.com\" policy=\"abc123\" client=\"10.40.1.2\" "
            + "role=\"pupil\" role=\"sixth-form\" network=\"pupil-lan\" user=\"pupil1\" status=\"403\" ref=\"0A1B2C3D\"] \uFEFF"
            + AuditLog.JsonLineFormatter.ToJson(record), Formatter.ToMessage(record));
    }

    [Fact]
    public void Message_AnonymousAllowedTunnel_IsInformationalAndOmitsAbsentParams()
    {
        var record = new DecisionRecord(new DateTimeOffset(2026, 11, 23, 10, 15, 30, 0, TimeSpan.Zero), IPAddress.Parse("10.40.1.3"), null, [], null,
            "CONNECT", "[2001:db8::1]:443", DecisionAction.Allow, "default", null, 200, 100, 200, TimeSpan.Zero, "0A1B2C3E", "abc123", null);
        Assert.StartsWith("<110>1 2026-11-23T10:15:30.000Z school-proxy school-filter 4242 allow [filter@32473 action=\"allow\" rule=\"default\" "
            + "host=\"2001:db8::1\" policy=\"abc123\" client=\"10.40.1.3\" status=\"200\" ref=\"0A1B2C3E\"] \uFEFF{", Formatter.ToMessage(record));
    }

    [Fact]
    public void ParamValues_EscapeQuoteBackslashAndBracket()
    {
        Assert.Contains(" category=\"a\\]b\\\"c\\\\d\" ", Formatter.ToMessage(Blocked("a]b\"c\\d")));
    }

    [Fact]
    public void Write_FramesByOctetCount()
    {
        var record = Blocked("émoji-😀");
        var output = new ArrayBufferWriter<byte>();
        Formatter.Write(record, output);
        Formatter.Write(record, output);
        var message = Encoding.UTF8.GetBytes(Formatter.ToMessage(record));
        var frame = Encoding.ASCII.GetBytes(message.Length + " ").Concat(message).ToArray();
        Assert.Equal(frame.Concat(frame), output.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData("CONNECT", "example.org:443", "example.org")]
    [InlineData("GET", "http://Example.ORG:8080/x?y", "example.org")]
    [InlineData("GET", "https://xn--bcher-kva.example/", "xn--bcher-kva.example")]
    [InlineData("CONNECT", "10.1.2.3:443", "10.1.2.3")]
    [InlineData("-", "-", null)]
    public void HostOf_TakesTheHostOfUrlOrAuthority(string method, string target, string? host)
    {
        var record = Blocked() with { Method = method, Target = target };
        Assert.Equal(host, SyslogFormatter.HostOf(record));
    }
}
