using System.Net;
using PolicyModel.Decisions;

namespace PolicyModel.Tests.Decisions;

public sealed class DecisionEngineTests : IDisposable
{
    private const string Policy = TestPolicy.Head + """
        schedules:
          school-hours: { weekly: { mon-fri: "09:00-17:00" } }
          lunch: { weekly: { mon-fri: "12:00-13:00" } }
          overnight: { weekly: { mon-fri: "22:00-06:00" } }
        denied_users:
          - { user: risk1, reason: Identified as a security risk, by: DSL }
        rules:
          - { name: marketing-official, roles: [marketing], category: social, action: allow }
          - { name: staff-lunch, roles: [staff], networks: [staffroom], category: social, during: lunch, action: allow }
          - { name: staff-hours, roles: [staff], category: social, during: school-hours, action: block }
          - { name: no-wikipedia-edits, roles: [staff], hosts: ["*.wikipedia.org"], methods: [POST], paths: ["/w/index.php*"], action: block }
          - { name: pupils-overnight, roles: [pupil], during: overnight, action: block }
          - { name: pupils-social, roles: [pupil], category: social, action: block, alert: low }
        exceptions:
          - { name: pupil1-drama, user: pupil1, allow: social, from: 2026-11-02, until: 2026-11-27, granted_by: Head teacher, reason: Runs the drama club page }
        default: allow
        """;

    private readonly TestPolicy _policy = new(Policy);
    private readonly PolicySnapshot _snapshot;

    public DecisionEngineTests() => _snapshot = _policy.Snapshot();

    public void Dispose() => _policy.Dispose();

    private Decision Decide(string? user, string ip, string utc, string url, string method = "GET")
    {
        var uri = new Uri(url);
        var request = new FilterRequest(IPAddress.Parse(ip), user, method, uri.Scheme, uri.Host, uri.Port, uri.PathAndQuery, DateTimeOffset.Parse(utc));
        return _snapshot.Decide(request, withTrace: true);
    }

    [Fact]
    public void Decide_StaffAtLunchInStaffroom_AllowsSocialUntilOne()
    {
        var d = Decide("staff1", "10.20.0.5", "2026-11-23T12:30:00Z", "https://www.facebook.com/");
        Assert.Equal((DecisionAction.Allow, "staff-lunch", "social"), (d.Action, d.Rule, d.Category));
        Assert.Equal(DateTimeOffset.Parse("2026-11-23T13:00:00Z"), d.Until);
        Assert.Equal("lists/social.txt", d.List);
        Assert.Equal("facebook.com", d.Entry);
    }

    [Fact]
    public void Decide_StaffAtLunchOnSchoolWifi_BlocksUntilEndOfSchoolHours()
    {
        // Lunch does not open school-wifi, so the next change is 17:00, not 12:00 or 13:00.
        var d = Decide("staff1", "10.30.1.5", "2026-11-23T12:30:00Z", "https://www.facebook.com/");
        Assert.Equal((DecisionAction.Block, "staff-hours"), (d.Action, d.Rule));
        Assert.Equal(DateTimeOffset.Parse("2026-11-23T17:00:00Z"), d.Until);
    }

    [Fact]
    public void Decide_StaffOnFridayEvening_AllowedUntilMondayMorning()
    {
        var d = Decide("staff1", "10.30.1.5", "2026-11-27T18:00:00Z", "https://www.instagram.com/");
        Assert.Equal((DecisionAction.Allow, "default"), (d.Action, d.Rule));
        Assert.Equal(DateTimeOffset.Parse("2026-11-30T09:00:00Z"), d.Until);
    }

    [Fact]
    public void Decide_SummerTimeSchoolHours_UntilIsInLocalTime()
    {
        // 17:00 BST is 16:00 UTC.
        var d = Decide("staff1", "10.30.1.5", "2026-06-01T10:00:00Z", "https://www.facebook.com/");
        Assert.Equal(DateTimeOffset.Parse("2026-06-01T16:00:00Z"), d.Until);
    }

    [Fact]
    public void Decide_MarketingInWorkingHours_AllowsSocial()
    {
        var d = Decide("marketing1", "10.30.1.5", "2026-11-23T10:00:00Z", "https://www.facebook.com/");
        Assert.Equal((DecisionAction.Allow, "marketing-official"), (d.Action, d.Rule));
        Assert.Null(d.Until);
    }

    [Fact]
    public void Decide_PupilHoldingException_AllowedUntilItExpires()
    {
        var d = Decide("pupil1", "10.40.1.5", "2026-11-23T10:00:00Z", "https://www.tiktok.com/");
        Assert.Equal((DecisionAction.Allow, "exception:pupil1-drama"), (d.Action, d.Rule));
        Assert.Equal(DateTimeOffset.Parse("2026-11-28T00:00:00Z"), d.Until); // until is inclusive of 27 Nov
        Assert.Contains("Head teacher", d.Reason);
    }

    [Fact]
    public void Decide_PupilAfterExceptionExpires_Blocked()
    {
        var d = Decide("pupil1", "10.40.1.5", "2026-11-28T10:00:00Z", "https://www.tiktok.com/");
        Assert.Equal((DecisionAction.Block, "pupils-social"), (d.Action, d.Rule));
        Assert.True(d.Alert);
        Assert.Equal(AlertSeverity.Low, d.Severity);
    }

    [Fact]
    public void Decide_PupilBeforeExceptionStarts_BlockedUntilItStarts()
    {
        var d = Decide("pupil1", "10.40.1.5", "2026-10-30T10:00:00Z", "https://www.tiktok.com/");
        Assert.Equal((DecisionAction.Block, "pupils-social"), (d.Action, d.Rule));
        Assert.Equal(DateTimeOffset.Parse("2026-11-02T00:00:00Z"), d.Until);
    }

    [Fact]
    public void Decide_StatutoryEntry_BlockedDespiteExceptionAndAlertsForPupils()
    {
        var d = Decide("pupil1", "10.40.1.5", "2026-11-23T10:00:00Z", "http://www.blocked-terror.test/page");
        Assert.Equal((DecisionAction.Block, "statutory:terrorism", "terrorism"), (d.Action, d.Rule, d.Category));
        Assert.True(d.Alert);
        Assert.Equal(AlertSeverity.High, d.Severity);
        Assert.Null(d.Until);
        Assert.StartsWith("sha256:", d.Entry);
    }

    [Fact]
    public void Decide_StatutoryEntryForStaff_BlockedWithoutAlertWhenAlertRolesArePupils()
    {
        var d = Decide("marketing1", "10.30.1.5", "2026-11-23T10:00:00Z", "https://blocked-terror.test/");
        Assert.Equal((DecisionAction.Block, false), (d.Action, d.Alert));
    }

    [Fact]
    public void Decide_DeniedUser_BlockedEverywhere()
    {
        var d = Decide("risk1", "10.20.0.5", "2026-11-23T12:30:00Z", "https://www.bbc.co.uk/");
        Assert.Equal((DecisionAction.Block, "denied-user"), (d.Action, d.Rule));
    }

    [Fact]
    public void Decide_AddressOutsideClients_Refused()
    {
        var d = Decide(null, "192.168.0.1", "2026-11-23T12:30:00Z", "https://www.bbc.co.uk/");
        Assert.Equal((DecisionAction.Block, "not-a-client", false), (d.Action, d.Rule, d.Identity.IsClient));
    }

    [Fact]
    public void Decide_AnonymousDeviceOnPupilLan_GetsDefaultRolePupil()
    {
        var d = Decide(null, "10.40.9.9", "2026-11-23T12:30:00Z", "https://www.facebook.com/");
        Assert.Equal(["pupil"], d.Identity.Roles.ToArray());
        Assert.Equal("pupils-social", d.Rule);
    }

    [Fact]
    public void Decide_IPv4MappedClient_TreatedAsIPv4()
    {
        var d = Decide(null, "::ffff:10.40.9.9", "2026-11-23T12:30:00Z", "https://www.facebook.com/");
        Assert.Equal(("pupil-lan", "pupils-social"), (d.Identity.Network, d.Rule));
    }

    [Fact]
    public void Decide_BoundAddress_ResolvesUserAndMostSpecificNetwork()
    {
        var d = Decide(null, "10.30.5.10", "2026-11-23T10:00:00Z", "https://www.facebook.com/");
        Assert.Equal(("staff1", "staff-desk", "staff-hours"), (d.Identity.User, d.Identity.Network, d.Rule));
    }

    [Fact]
    public void Decide_OvernightWindowAfterMidnight_BlocksPupilsUntilSix()
    {
        // Friday 22:00 to Saturday 06:00 belongs to Friday.
        var d = Decide("pupil1", "10.40.1.5", "2026-11-28T05:00:00Z", "https://www.bbc.co.uk/");
        Assert.Equal((DecisionAction.Block, "pupils-overnight"), (d.Action, d.Rule));
        Assert.Equal(DateTimeOffset.Parse("2026-11-28T06:00:00Z"), d.Until);
    }

    [Fact]
    public void Decide_StaffPostToWikipediaEdit_Blocked_ReadingAllowed()
    {
        Assert.Equal("no-wikipedia-edits", Decide("staff1", "10.30.1.5", "2026-11-23T19:00:00Z", "https://en.wikipedia.org/w/index.php?title=X&action=submit", "POST").Rule);
        Assert.Equal(DecisionAction.Allow, Decide("staff1", "10.30.1.5", "2026-11-23T19:00:00Z", "https://en.wikipedia.org/w/index.php?title=X").Action);
    }

    [Fact]
    public void Decide_TunnelToWikipedia_SkipsPathRulesAndNeedsInspection()
    {
        var request = new FilterRequest(IPAddress.Parse("10.30.1.5"), "staff1", "CONNECT", "https", "en.wikipedia.org", 443, "", DateTimeOffset.Parse("2026-11-23T19:00:00Z"));
        Assert.Equal(DecisionAction.Allow, _snapshot.Decide(request).Action);
        Assert.True(_snapshot.NeedsInspection("en.wikipedia.org"));
        Assert.False(_snapshot.NeedsInspection("www.bbc.co.uk"));
    }

    [Fact]
    public void Decide_Trace_ListsRulesInOrderUpToTheDecidingOne()
    {
        var d = Decide("staff1", "10.30.1.5", "2026-11-23T12:30:00Z", "https://www.facebook.com/");
        Assert.Equal(
            ["statutory", "exception pupil1-drama", "rule marketing-official", "rule staff-lunch", "rule staff-hours"],
            d.Trace.Select(t => t.Step).ToArray());
        Assert.True(d.Trace[^1].Matched);
    }
}
