using System.Globalization;
using System.Net;
using NodaTime;
using NodaTime.Text;
using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace PolicyModel.Tests.Samples;

/// <summary>
/// One row per seed rule per sample in <c>deploy/samples</c>: who, where, when and what, and the decision the
/// school's written rule demands (action, deciding rule, and <c>until</c>: when the action next changes, so an
/// exception that expires into another allow, e.g. at midnight outside work time, reports the next block).
/// Times ending in Z (or with an offset) are UTC instants; others are Europe/London wall-clock times.
/// </summary>
public sealed class SampleScenarioTests
{
    private const string Staffroom = "10.20.0.15";
    private const string SchoolWifi = "10.30.1.5";
    private const string PupilLan = "10.40.2.3";
    private const string GuestWifi = "10.50.0.7";
    private const string NotAClient = "192.168.1.10";

    private const string Facebook = "https://www.facebook.com/";
    private const string YouTube = "https://www.youtube.com/watch?v=demo";
    private const string TikTok = "https://www.tiktok.com/";
    private const string Bbc = "https://www.bbc.co.uk/news";
    private const string Terror = "https://blocked-terror.test/";
    private const string WikiEdit = "https://en.wikipedia.org/w/index.php?title=Oak&action=submit";
    private const string WikiApi = "https://en.wikipedia.org/w/api.php";
    private const string WikiRead = "https://en.wikipedia.org/wiki/Oak";

    private const string Allow = "Allow";
    private const string Block = "Block";

    private static readonly DateTimeZone London = DateTimeZoneProviders.Tzdb["Europe/London"];

    /// <summary>A scenario row: the seed rule it checks, then the request, then the expected decision.</summary>
    private static object?[] Row(
        string sample, string seed, string? user, string ip, string at, string url, string method,
        string action, string rule, string? until, string? alert = null) =>
        [sample, seed, user, ip, at, url, method, action, rule, until, alert];

    /// <summary>Cherry Oak's rules: the same rows run against <c>cherry-oak-federation</c> and <c>default</c>.</summary>
    private static IEnumerable<object?[]> CherryOak(string s) =>
    [
        Row(s, "marketing staff may use social media", "marketing1", SchoolWifi, "2026-11-23T10:00Z", Facebook, "GET", Allow, "marketing-official", null),
        Row(s, "at lunch only from the staffroom", "staff1", Staffroom, "2026-11-23T12:30Z", Facebook, "GET", Allow, "staff-lunch-staffroom", "2026-11-23T13:00Z"),
        Row(s, "at lunch never over school-wifi", "staff1", SchoolWifi, "2026-11-23T12:30Z", Facebook, "GET", Block, "staff-working-hours", "2026-11-23T17:00Z", "None"),
        Row(s, "staff no social media Mon-Fri 09:00-17:00 (until lunch)", "staff1", Staffroom, "2026-11-23T10:00Z", Facebook, "GET", Block, "staff-working-hours", "2026-11-23T12:00Z"),
        Row(s, "staff no social media: social-extra list (YouTube)", "staff1", SchoolWifi, "2026-11-23T10:00Z", YouTube, "GET", Block, "staff-working-hours", "2026-11-23T17:00Z"),
        Row(s, "working hours are half-open: free at 17:00", "staff1", SchoolWifi, "2026-11-23T17:00Z", Facebook, "GET", Allow, "default", "2026-11-24T09:00Z"),
        Row(s, "working hours in BST (09:30 local)", "staff1", SchoolWifi, "2026-03-30T08:30Z", Facebook, "GET", Block, "staff-working-hours", "2026-03-30T16:00Z"),
        Row(s, "lunch in BST, local time given", "staff1", Staffroom, "2026-06-15T12:30", Facebook, "GET", Allow, "staff-lunch-staffroom", "2026-06-15T12:00Z"),
        Row(s, "DST starts (Sun 2026-03-29): free until Monday 09:00 BST", "staff1", SchoolWifi, "2026-03-29T10:00Z", Facebook, "GET", Allow, "default", "2026-03-30T08:00Z"),
        Row(s, "DST ends (Sun 2026-10-25): free until Monday 09:00 GMT", "staff1", SchoolWifi, "2026-10-25T10:00Z", Facebook, "GET", Allow, "default", "2026-10-26T09:00Z"),
        Row(s, "staff may not edit Wikipedia (index.php)", "staff1", SchoolWifi, "2026-11-23T10:00Z", WikiEdit, "POST", Block, "no-wikipedia-edits", null),
        Row(s, "staff may not edit Wikipedia (api.php), any time", "staff1", Staffroom, "2026-11-23T19:00Z", WikiApi, "POST", Block, "no-wikipedia-edits", null),
        Row(s, "staff may not edit Wikipedia (mobile site)", "staff1", SchoolWifi, "2026-11-23T10:00Z", "https://en.m.wikipedia.org/w/index.php?title=Oak&action=submit", "POST", Block, "no-wikipedia-edits", null),
        Row(s, "reading Wikipedia stays allowed", "staff1", SchoolWifi, "2026-11-23T10:00Z", WikiRead, "GET", Allow, "default", null),
        Row(s, "staff signed in on pupil-lan are still staff", "staff1", PupilLan, "2026-11-23T12:30Z", Facebook, "GET", Block, "staff-working-hours", "2026-11-23T17:00Z"),
        Row(s, "Wikipedia tunnel: method and path unknown, decided inside it", "staff1", SchoolWifi, "2026-11-23T10:00Z", "https://en.wikipedia.org:443", "CONNECT", Allow, "default", null),
        Row(s, "pupils no social media (pupil-lan, not signed in)", null, PupilLan, "2026-11-23T10:00Z", Facebook, "GET", Block, "pupils-social", null, "Low"),
        Row(s, "pupils no social media (signed in, weekend)", "pupil1", SchoolWifi, "2026-11-28T14:00Z", TikTok, "GET", Block, "pupils-social", null),
        Row(s, "security risk denied all access", "risk1", Staffroom, "2026-11-23T10:00Z", Bbc, "GET", Block, "denied-user", null),
        Row(s, "CTIRU list blocked for everyone", "marketing1", SchoolWifi, "2026-11-23T10:00Z", Terror, "GET", Block, "statutory:terrorism", null, "High"),
        Row(s, "never an open proxy", null, NotAClient, "2026-11-23T10:00Z", Bbc, "GET", Block, "not-a-client", null),
    ];

    public static IEnumerable<object?[]> Scenarios()
    {
        foreach (var row in CherryOak("cherry-oak-federation").Concat(CherryOak("default")))
        {
            yield return row;
        }

        const string v = "villiers-primary";
        yield return Row(v, "pupils: official pages the network manager approved", null, PupilLan, "2026-11-23T10:00Z", "https://villiers-primary-news.blogspot.com/", "GET", Allow, "pupils-official-pages", null);
        yield return Row(v, "pupils: other pages on the same service stay blocked", null, PupilLan, "2026-11-23T10:00Z", "https://someone-else.blogspot.com/", "GET", Block, "pupils-social", null);
        yield return Row(v, "pupils: approved pages are exact hosts", "pupil1", SchoolWifi, "2026-11-23T10:00Z", "https://www.villiers-primary-news.blogspot.com/", "GET", Block, "pupils-social", null);
        yield return Row(v, "pupils get no social media", "pupil1", PupilLan, "2026-11-23T10:00Z", Facebook, "GET", Block, "pupils-social", null);
        yield return Row(v, "marketing runs the official accounts", "marketing1", SchoolWifi, "2026-11-23T10:00Z", Facebook, "GET", Allow, "marketing-official", null);
        yield return Row(v, "staff: no personal social media in the school day", "staff1", SchoolWifi, "2026-11-23T10:00Z", Facebook, "GET", Block, "staff-school-day", "2026-11-23T16:00Z");
        yield return Row(v, "staff: free after the school day", "staff1", SchoolWifi, "2026-11-23T16:00Z", Facebook, "GET", Allow, "default", "2026-11-24T08:30Z");
        yield return Row(v, "term holiday: half term is not a school day", "staff1", SchoolWifi, "2026-10-27T10:00Z", Facebook, "GET", Allow, "default", "2026-11-02T08:30Z");
        yield return Row(v, "term holiday: bank holiday Monday", "staff1", Staffroom, "2026-05-04T09:00Z", Facebook, "GET", Allow, "default", "2026-05-05T07:30Z");
        yield return Row(v, "DST ends on a half-term Sunday (2026-10-25)", "staff1", SchoolWifi, "2026-10-25T10:00Z", Facebook, "GET", Allow, "default", "2026-11-02T08:30Z");
        yield return Row(v, "visitors: no social media in the school day", null, GuestWifi, "2026-11-23T10:00Z", Facebook, "GET", Block, "guests-school-day", "2026-11-23T16:00Z");
        yield return Row(v, "security risk denied", "risk1", SchoolWifi, "2026-11-23T10:00Z", Bbc, "GET", Block, "denied-user", null);
        yield return Row(v, "CTIRU list blocked for everyone", null, PupilLan, "2026-11-23T10:00Z", Terror, "GET", Block, "statutory:terrorism", null, "High");

        const string l = "learn-to-live";
        yield return Row(l, "no internet overnight: Friday's window crosses midnight", null, PupilLan, "2026-11-27T23:45Z", Bbc, "GET", Block, "learners-overnight", "2026-11-28T08:00Z");
        yield return Row(l, "no internet overnight: after midnight, still Friday's window", "pupil1", PupilLan, "2026-11-28T07:30Z", Bbc, "GET", Block, "learners-overnight", "2026-11-28T08:00Z");
        yield return Row(l, "no internet overnight: Friday's window starts 23:30", null, PupilLan, "2026-11-27T22:30Z", Bbc, "GET", Allow, "default", "2026-11-27T23:30Z");
        yield return Row(l, "no internet overnight: school night 22:00-07:00", null, PupilLan, "2026-11-26T23:00Z", Bbc, "GET", Block, "learners-overnight", "2026-11-27T07:00Z");
        yield return Row(l, "DST starts (2026-03-29): night ends 08:00 BST = 07:00Z", null, PupilLan, "2026-03-29T06:30Z", Bbc, "GET", Block, "learners-overnight", "2026-03-29T07:00Z");
        yield return Row(l, "DST starts (2026-03-29): next night 22:00 BST = 21:00Z", null, PupilLan, "2026-03-29T07:15Z", Bbc, "GET", Allow, "default", "2026-03-29T21:00Z");
        yield return Row(l, "DST ends (2026-10-25): night ends 08:00 GMT = 08:00Z", null, PupilLan, "2026-10-25T07:30Z", Bbc, "GET", Block, "learners-overnight", "2026-10-25T08:00Z");
        yield return Row(l, "DST ends (2026-10-25): Saturday night began 23:30 BST", null, PupilLan, "2026-10-24T21:45Z", Bbc, "GET", Allow, "default", "2026-10-24T22:30Z");
        yield return Row(l, "learners may use social media in free time", "pupil1", PupilLan, "2026-11-23T17:00Z", Facebook, "GET", Allow, "learners-free-time", "2026-11-23T21:00Z");
        yield return Row(l, "learners: no social media at other times", "pupil1", PupilLan, "2026-11-23T10:00Z", Facebook, "GET", Block, "learners-social", "2026-11-23T16:00Z", "Low");
        yield return Row(l, "marketing runs the official accounts", "marketing1", SchoolWifi, "2026-11-23T10:00Z", Facebook, "GET", Allow, "marketing-official", null);
        yield return Row(l, "staff: no personal social media in working time", "staff1", SchoolWifi, "2026-11-23T10:00Z", Facebook, "GET", Block, "staff-working-time", "2026-11-23T16:30Z");
        yield return Row(l, "term holiday: half term is not working time", "staff1", SchoolWifi, "2026-10-27T10:00Z", Facebook, "GET", Allow, "default", "2026-11-02T08:30Z");
        yield return Row(l, "visitors: no social media in working time", null, GuestWifi, "2026-11-23T10:00Z", Facebook, "GET", Block, "guests-working-time", "2026-11-23T16:30Z");
        yield return Row(l, "security risk denied", "risk1", PupilLan, "2026-11-23T10:00Z", Bbc, "GET", Block, "denied-user", null);
        yield return Row(l, "CTIRU list blocked and monitored for everyone", "staff1", SchoolWifi, "2026-11-23T10:00Z", Terror, "GET", Block, "statutory:terrorism", null, "High");

        const string o = "oratory-school";
        yield return Row(o, "staff: social media in their own non-contact period", "staff1", SchoolWifi, "2026-11-23T11:00Z", Facebook, "GET", Allow, "staff-non-contact", "2026-11-23T11:40Z");
        yield return Row(o, "staff: not in contact time", "staff1", SchoolWifi, "2026-11-23T10:00Z", Facebook, "GET", Block, "staff-contact-time", "2026-11-23T10:40Z");
        yield return Row(o, "staff: each member's own timetable", "staff2", SchoolWifi, "2026-11-23T11:00Z", Facebook, "GET", Block, "staff-contact-time", "2026-11-23T17:00Z");
        yield return Row(o, "staff: non-contact period in BST (10:40 local)", "staff1", Staffroom, "2026-06-15T09:45Z", Facebook, "GET", Allow, "staff-non-contact", "2026-06-15T10:40Z");
        yield return Row(o, "staff: unrestricted after the school day", "staff1", SchoolWifi, "2026-11-23T18:00Z", Facebook, "GET", Allow, "default", "2026-11-24T08:30Z");
        yield return Row(o, "term holiday: no contact time (or timetable) in half term", "staff1", SchoolWifi, "2026-10-26T10:45Z", Facebook, "GET", Allow, "default", "2026-11-02T08:30Z");
        yield return Row(o, "official accounts (section 7)", "marketing1", SchoolWifi, "2026-11-23T10:00Z", Facebook, "GET", Allow, "marketing-official", null);
        yield return Row(o, "pupils get no social media", null, PupilLan, "2026-11-23T10:00Z", Facebook, "GET", Block, "pupils-social", null);
        yield return Row(o, "pupils' terrorism attempts alert the ICT department", "pupil1", PupilLan, "2026-11-23T10:00Z", Terror, "GET", Block, "statutory:terrorism", null, "High");
        yield return Row(o, "hashed statutory list: subdomains of a listed host", "pupil1", PupilLan, "2026-11-23T10:00Z", "https://www.extremist-forum.test/x", "GET", Block, "statutory:terrorism", null, "High");
        yield return Row(o, "hashed statutory list: a listed URL prefix", null, PupilLan, "2026-11-23T10:00Z", "https://stand-in.test/terror/recruitment/page", "GET", Block, "statutory:terrorism", null, "High");
        yield return Row(o, "hashed statutory list: other paths on that host", null, PupilLan, "2026-11-23T10:00Z", "https://stand-in.test/other", "GET", Allow, "default", null);
        yield return Row(o, "staff terrorism attempts are blocked without an alert", "staff1", SchoolWifi, "2026-11-23T10:00Z", Terror, "GET", Block, "statutory:terrorism", null, "None");
        yield return Row(o, "security risk denied", "risk1", Staffroom, "2026-11-23T11:00Z", Facebook, "GET", Block, "denied-user", null);

        const string sd = "seadown-school";
        yield return Row(sd, "no personal use in work time: before the exception starts", "staff1", SchoolWifi, "2026-10-22T09:00Z", Facebook, "GET", Block, "staff-work-time", "2026-10-22T15:30Z");
        yield return Row(sd, "head teacher's dated exception in force (blocked again at the first work time after it)", "staff1", SchoolWifi, "2026-11-23T10:00Z", Facebook, "GET", Allow, "exception:staff1-parent-forum", "2027-01-04T08:30Z");
        yield return Row(sd, "exception's last day (until is inclusive; INSET 2027-01-04 is work time)", "staff1", Staffroom, "2026-12-18T15:00Z", Facebook, "GET", Allow, "exception:staff1-parent-forum", "2027-01-04T08:30Z");
        yield return Row(sd, "exception expired", "staff1", SchoolWifi, "2027-01-05T10:00Z", Facebook, "GET", Block, "staff-work-time", "2027-01-05T16:30Z");
        yield return Row(sd, "statutory entry: the exception does not open it", "staff1", SchoolWifi, "2026-11-23T10:00Z", Terror, "GET", Block, "statutory:terrorism", null, "High");
        yield return Row(sd, "exception limited to lunchtime", "staff2", SchoolWifi, "2026-11-23T12:45Z", Facebook, "GET", Allow, "exception:staff2-lunchtime", "2026-11-23T13:15Z");
        yield return Row(sd, "outside the exception's lunchtime", "staff2", SchoolWifi, "2026-11-23T10:00Z", Facebook, "GET", Block, "staff-work-time", "2026-11-23T12:30Z");
        yield return Row(sd, "official accounts by dated exception (no work time after it in the calendar)", "marketing1", SchoolWifi, "2026-11-23T10:00Z", Facebook, "GET", Allow, "exception:marketing-official-accounts", null);
        yield return Row(sd, "pupils get no social media", null, PupilLan, "2026-11-23T10:00Z", Facebook, "GET", Block, "pupils-social", null);
        yield return Row(sd, "visitors: no social media in work time", null, GuestWifi, "2026-11-23T10:00Z", Facebook, "GET", Block, "guests-work-time", "2026-11-23T16:30Z");
        yield return Row(sd, "term holiday: half term is not work time", null, GuestWifi, "2026-10-27T10:00Z", Facebook, "GET", Allow, "default", "2026-11-02T08:30Z");
        yield return Row(sd, "DST starts in the Easter holiday: work resumes 2026-04-13 08:30 BST", null, GuestWifi, "2026-03-29T10:00Z", Facebook, "GET", Allow, "default", "2026-04-13T07:30Z");
        yield return Row(sd, "security risk denied", "risk1", SchoolWifi, "2026-11-23T10:00Z", Bbc, "GET", Block, "denied-user", null);

        // Issue 17, circumvention: every sample blocks DoH resolvers, VPN services and iCloud Private Relay for
        // pupils and guests (UT1 doh and vpn plus lists/circumvention-extra.txt); staff keep them.
        foreach (var c in new[] { "default", "cherry-oak-federation", "villiers-primary", "learn-to-live", "oratory-school", "seadown-school" })
        {
            yield return Row(c, "circumvention: a pupil's tunnel to a DoH resolver", "pupil1", PupilLan, "2026-11-23T10:00Z", "https://dns.google/", "CONNECT", Block, "no-circumvention", null);
            yield return Row(c, "circumvention: a pupil's tunnel to a VPN service (UT1 vpn)", null, PupilLan, "2026-11-23T10:00Z", "https://nordvpn.com/", "CONNECT", Block, "no-circumvention", null);
            yield return Row(c, "circumvention: a pupil's tunnel to a DoH resolver's address (UT1 doh)", null, PupilLan, "2026-11-23T10:00Z", "https://8.8.8.8/", "CONNECT", Block, "no-circumvention", null);
            yield return Row(c, "circumvention: a guest's iCloud Private Relay (our list)", null, GuestWifi, "2026-11-23T10:00Z", "https://mask-api.icloud.com/", "CONNECT", Block, "no-circumvention", null);
            yield return Row(c, "circumvention: staff may reach a DoH resolver", "staff1", SchoolWifi, "2026-11-23T10:00Z", "https://dns.google/", "CONNECT", Allow, "default", null);
        }
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Explain_SampleScenario_DecidesAsTheSeedRuleSays(
        string sample, string seed, string? user, string ip, string at, string url, string method,
        string action, string rule, string? until, string? alert)
    {
        var loaded = SampleFiles.Load(sample);
        Assert.True(loaded.Succeeded, $"{sample} did not load:\n{string.Join("\n", loaded.Diagnostics)}");

        var uri = new Uri(url);
        var path = method == "CONNECT" ? "" : uri.PathAndQuery; // a tunnel's path is unknown
        var request = new FilterRequest(
            IPAddress.Parse(ip), user, method, uri.Scheme, uri.IdnHost.ToLowerInvariant(), uri.Port, path, ParseAt(at));
        var decision = loaded.Snapshot!.Decide(request, withTrace: true);

        var expected = Describe(action, rule, until is null ? null : ParseAt(until), alert);
        var actual = Describe(decision.Action.ToString(), decision.Rule, decision.Until, alert is null ? null : Severity(decision));
        if (expected != actual)
        {
            Assert.Fail(
                $"{sample}: {seed}\n  expected {expected}\n  actual   {actual}\n  reason: {decision.Reason}\n  trace:\n" +
                string.Join("\n", decision.Trace.Select(t => $"    {(t.Matched ? "*" : " ")} {t.Step}: {t.Detail}")));
        }
    }

    private static string Severity(Decision d) => d.Alert ? d.Severity.ToString() : "None";

    private static string Describe(string action, string rule, DateTimeOffset? until, string? alert) =>
        $"{action} by {rule}, until {(until is { } u ? u.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "never")}" +
        (alert is null ? "" : $", alert {alert}");

    /// <summary>An ISO instant (Z or offset) as is; a local date-time as Europe/London wall-clock time.</summary>
    internal static DateTimeOffset ParseAt(string text)
    {
        if (text.EndsWith('Z') || System.Text.RegularExpressions.Regex.IsMatch(text, @"[+-]\d\d:\d\d$"))
        {
            return DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
        }

        var local = LocalDateTimePattern.GeneralIso.Parse(text.Length == 16 ? text + ":00" : text).GetValueOrThrow();
        return London.AtStrictly(local).ToDateTimeOffset();
    }
}

/// <summary>Tunnels to hosts whose rules need a method or path must be inspected for the rule to hold.</summary>
public sealed class SampleInspectionTests
{
    [Theory]
    [InlineData("cherry-oak-federation", "en.wikipedia.org", true)]
    [InlineData("default", "fr.wikipedia.org", true)]
    [InlineData("cherry-oak-federation", "www.facebook.com", false)]
    [InlineData("cherry-oak-federation", "www.bbc.co.uk", false)]
    [InlineData("seadown-school", "en.wikipedia.org", false)]
    public void NeedsInspection_SampleHost_OnlyWhereARuleNeedsMethodOrPath(string sample, string host, bool expected)
    {
        Assert.Equal(expected, SampleFiles.Load(sample).Snapshot!.NeedsInspection(host));
    }
}

/// <summary>Statutory categories stay shut whatever a rule or an exception says.</summary>
public sealed class SampleStatutoryTests
{
    [Fact]
    public void Check_AllowRuleNamingTerrorism_FailsWithPM0402AtTheCategory()
    {
        using var copy = new SampleCopy("cherry-oak-federation");
        var text = copy.PolicyText.Replace(
            "rules:\n",
            "rules:\n  - { name: open-terrorism, roles: [staff], category: terrorism, action: allow }\n",
            StringComparison.Ordinal);
        copy.PolicyText = text;

        var result = copy.Load();

        var (line, column) = TextPosition.Of(text, "terrorism, action: allow");
        Assert.False(result.Succeeded);
        Assert.Contains(result.Diagnostics, d => d.ToString().StartsWith($"policy.yaml:{line}:{column}: error PM0402:", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_ExceptionAllowingTerrorism_FailsWithPM0402AtTheAllow()
    {
        using var copy = new SampleCopy("seadown-school");
        var text = copy.PolicyText.Replace(
            "exceptions:\n",
            "exceptions:\n  - { name: open-terrorism, user: staff1, allow: terrorism, until: 2026-12-18, granted_by: Head teacher, reason: Research }\n",
            StringComparison.Ordinal);
        copy.PolicyText = text;

        var result = copy.Load();

        var (line, column) = TextPosition.Of(text, "terrorism, until:");
        Assert.False(result.Succeeded);
        Assert.Contains(result.Diagnostics, d => d.ToString().StartsWith($"policy.yaml:{line}:{column}: error PM0402:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("seadown-school", "staff1", "2026-11-23T10:00Z")]
    [InlineData("seadown-school", "marketing1", "2026-11-23T10:00Z")]
    [InlineData("cherry-oak-federation", "marketing1", "2026-11-23T10:00Z")]
    public void Decide_UserAllowedSocialByExceptionOrRule_StillBlockedOnStatutoryEntry(string sample, string user, string at)
    {
        var snapshot = SampleFiles.Load(sample).Snapshot!;
        var when = SampleScenarioTests.ParseAt(at);
        var social = snapshot.Decide(new FilterRequest(IPAddress.Parse("10.30.1.5"), user, "GET", "https", "www.facebook.com", 443, "/", when));
        var terror = snapshot.Decide(new FilterRequest(IPAddress.Parse("10.30.1.5"), user, "GET", "https", "blocked-terror.test", 443, "/", when));

        Assert.Equal(DecisionAction.Allow, social.Action);
        Assert.Equal(DecisionAction.Block, terror.Action);
        Assert.Equal("statutory:terrorism", terror.Rule);
        Assert.Equal("terrorism", terror.Category);
    }
}
