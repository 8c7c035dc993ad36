using FilterService.Admin.Simulator;
using NodaTime;
using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace FilterService.Tests.Admin.Simulator;

/// <summary>The simulator's form against the Cherry Oak sample: what each field accepts and the message next to it when not.</summary>
public sealed class SimulatorQueryTests
{
    private static readonly PolicySnapshot Policy = PolicyLoader.Load(RepoPaths.Sample("default")).Snapshot!;
    private static readonly Instant Now = Instant.FromUtc(2026, 11, 24, 15, 30);

    private static (SimulatorQuery? Query, List<FormProblem> Problems) Parse(SimulatorForm form)
    {
        var problems = new List<FormProblem>();
        return (SimulatorQuery.Parse(Policy, form, Now, problems), problems);
    }

    [Fact]
    public void Parse_UserNetworkNameLocalTime_IsTheRequestExplainWouldDecide()
    {
        var (query, problems) = Parse(new SimulatorForm("staff1", null, "staffroom", "2026-11-23T10:00", "https://www.facebook.com/", null));

        Assert.Empty(problems);
        var r = query!.Request;
        Assert.Equal(("staff1", "10.20.0.1", "GET", "www.facebook.com", "/"), (r.User, r.Client.ToString(), r.Method, r.Host, r.PathAndQuery));
        Assert.Equal(Instant.FromUtc(2026, 11, 23, 10, 0).ToDateTimeOffset(), r.At);
        Assert.Equal(new LocalDate(2026, 11, 23), query.Day);
        var d = Explainer.Explain(query.Snapshot, r, inspection: false).Decision;
        Assert.Equal("staff-working-hours", d.Rule);
    }

    [Fact]
    public void Parse_NoTime_IsNow_AndTheWeekFieldChoosesTheDay()
    {
        var (query, problems) = Parse(new SimulatorForm(null, null, "10.40.0.7", null, "www.tiktok.com:443", null, "2026-12-01"));

        Assert.Empty(problems);
        Assert.Equal(Now.ToDateTimeOffset(), query!.Request.At);
        Assert.Equal(new LocalDate(2026, 12, 1), query.Day);
        Assert.Equal(("CONNECT", ""), (query.Request.Method, query.Request.PathAndQuery));
    }

    [Fact]
    public void Parse_RoleWithoutUser_IsAPersonaHoldingThatRole()
    {
        var (query, problems) = Parse(new SimulatorForm(null, "staff", "school-wifi", "2026-11-23T10:00", "https://www.facebook.com/", null));

        Assert.Empty(problems);
        var d = Explainer.Explain(query!.Snapshot, query.Request, inspection: false).Decision;
        Assert.Equal(("(role staff)", "staff", "school-wifi", "staff-working-hours"), (d.Identity.User, Assert.Single(d.Identity.Roles), d.Identity.Network, d.Rule));
    }

    [Fact]
    public void Parse_EveryBadField_IsReportedAgainstItsField()
    {
        var (query, problems) = Parse(new SimulatorForm("nobody", null, "canteen", "tomorrow", "ftp://x.test/", "GE T", "23/11"));

        Assert.Null(query);
        Assert.Equal(
        [
            "user: 'nobody' is not in the policy's user directory",
            "where: 'canteen' is neither an IP address nor one of the networks (staffroom, school-wifi, pupil-lan, guest-wifi)",
            "at: 'tomorrow' is not an ISO 8601 date-time (2026-11-23T10:00, 2026-11-23T10:00:00Z)",
            "week: '23/11' is not a date (2026-11-23)",
            "method: 'GE T' is not an HTTP method (GET, POST, CONNECT ...)",
            "url: 'ftp://x.test/' is not an http(s) URL or host:port",
        ], problems.Select(p => $"{p.Field}: {p.Message}"));
    }

    [Theory]
    [InlineData("staff1", "staff", "role: give a user or a role, not both")]
    [InlineData(null, "teacher", "role: 'teacher' is not one of the policy's roles (pupil, staff, marketing, guest)")]
    public void Parse_UserAndRole_OneOrTheOther(string? user, string role, string expected)
    {
        var (query, problems) = Parse(new SimulatorForm(user, role, "10.30.0.5", null, "https://a.test/", null));

        Assert.Null(query);
        Assert.Equal(expected, $"{Assert.Single(problems).Field}: {problems[0].Message}");
    }
}
