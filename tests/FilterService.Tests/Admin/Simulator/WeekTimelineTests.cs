using System.Net;
using FilterService.Admin.Simulator;
using NodaTime;
using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace FilterService.Tests.Admin.Simulator;

/// <summary>
/// The simulator's week view on the Cherry Oak sample (deploy/samples/default) and variants of it: each case lists every
/// segment of the week, in the policy's local time (Europe/London) unless it says UTC.
/// </summary>
public sealed class WeekTimelineTests : IDisposable
{
    private readonly List<string> _copies = [];

    public void Dispose() => _copies.ForEach(d => Directory.Delete(d, recursive: true));

    private static readonly string[] Weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri"];

    private static PolicySnapshot Sample(string? dir = null) =>
        PolicyLoader.Load(dir ?? RepoPaths.Sample("default")).Snapshot ?? throw new InvalidOperationException("the sample does not load");

    private static FilterRequest Ask(string? user, string ip, string url = "https://www.facebook.com/", string? method = null)
    {
        var t = Explainer.ParseTarget(url, method)!;
        return new FilterRequest(IPAddress.Parse(ip), user, t.Method, t.Scheme, t.Host, t.Port, t.PathAndQuery, default);
    }

    private static string[] Local(WeekTimeline week) => week.Segments.Select(s =>
        $"{s.Start.InZone(week.Zone):ddd HH:mm}-{s.End.InZone(week.Zone):ddd HH:mm} {(s.Action == DecisionAction.Allow ? "allow" : "block")} {s.Rule}").ToArray();

    private static string[] Utc(WeekTimeline week) => week.Segments.Select(s =>
        $"{s.Start:uuuu-MM-dd'T'HH:mm'Z'}-{s.End:uuuu-MM-dd'T'HH:mm'Z'} {(s.Action == DecisionAction.Allow ? "allow" : "block")} {s.Rule}").ToArray();

    /// <summary>The staff day from the staffroom: blocked 09-12, the lunch rule 12-13, blocked 13-17, the default outside.</summary>
    private static IEnumerable<string> StaffroomDay(string day, string next) =>
    [
        $"{day} 09:00-{day} 12:00 block staff-working-hours",
        $"{day} 12:00-{day} 13:00 allow staff-lunch-staffroom",
        $"{day} 13:00-{day} 17:00 block staff-working-hours",
        $"{day} 17:00-{next} 09:00 allow default",
    ];

    private static string[] StaffroomWeek() =>
    [
        "Mon 00:00-Mon 09:00 allow default",
        .. Weekdays.SelectMany((d, i) => StaffroomDay(d, i < 4 ? Weekdays[i + 1] : "Mon")).Select(s => s.Replace("Fri 17:00-Mon 09:00", "Fri 17:00-Mon 00:00")),
    ];

    [Fact]
    public void Week_StaffFromStaffroomOnSocialInTermWeek_BlockedExceptLunch_AllowedOutsideHours()
    {
        var week = WeekTimeline.Compute(Sample(), Ask("staff1", "10.20.0.5"), new LocalDate(2026, 11, 25), inspection: false);

        Assert.Equal(new LocalDate(2026, 11, 23), week.Monday);
        Assert.Equal(StaffroomWeek(), Local(week));
    }

    [Fact]
    public void Week_StaffOnSchoolWifi_NoLunchWindow_Blocked0900To1700()
    {
        var week = WeekTimeline.Compute(Sample(), Ask("staff1", "10.30.1.5"), new LocalDate(2026, 11, 23), inspection: false);

        string[] expected =
        [
            "Mon 00:00-Mon 09:00 allow default",
            .. Weekdays.SelectMany((d, i) => new[]
            {
                $"{d} 09:00-{d} 17:00 block staff-working-hours",
                $"{d} 17:00-{(i < 4 ? Weekdays[i + 1] + " 09:00" : "Mon 00:00")} allow default",
            }),
        ];
        Assert.Equal(expected, Local(week));
    }

    [Fact]
    public void Week_RoleStaffOnStaffroomNetwork_SameAsANamedStaffMember()
    {
        var snapshot = Sample();
        var persona = snapshot.WithPersona("(role staff)", "staff")!;
        var address = snapshot.AddressOn("staffroom")!;

        var week = WeekTimeline.Compute(persona, Ask("(role staff)", address.ToString()), new LocalDate(2026, 11, 23), inspection: false);

        Assert.Equal("10.20.0.1", address.ToString());
        Assert.Equal(StaffroomWeek(), Local(week));
    }

    [Theory]
    [InlineData("pupil1", "10.40.0.7")]
    [InlineData(null, "10.40.0.7")] // a pupil-lan device that does not sign in: the network's default role
    public void Week_Pupil_BlockedAllWeek_OneSegment(string? user, string ip)
    {
        var week = WeekTimeline.Compute(Sample(), Ask(user, ip), new LocalDate(2026, 11, 29), inspection: false);

        Assert.Equal(["Mon 00:00-Mon 00:00 block pupils-social"], Local(week));
        Assert.Equal(Instant.FromUtc(2026, 11, 23, 0, 0), week.Start);
        Assert.Equal(Instant.FromUtc(2026, 11, 30, 0, 0), week.End);
    }

    [Fact]
    public void Week_AutumnDstChange_SundayHas25Hours_WindowsStayOnTheLocalClock()
    {
        var week = WeekTimeline.Compute(Sample(), Ask("staff1", "10.30.1.5"), new LocalDate(2026, 10, 21), inspection: false);

        // BST (UTC+1) until Sunday 25 October 01:00Z; the week ends at Monday 00:00 GMT.
        Assert.Equal(Instant.FromUtc(2026, 10, 18, 23, 0), week.Start);
        Assert.Equal(Instant.FromUtc(2026, 10, 26, 0, 0), week.End);
        Assert.Equal(Duration.FromHours(169), week.End - week.Start);
        Assert.Equal("2026-10-18T23:00Z-2026-10-19T08:00Z allow default", Utc(week)[0]);
        Assert.Equal("2026-10-23T08:00Z-2026-10-23T16:00Z block staff-working-hours", Utc(week)[^2]);
        Assert.Equal("2026-10-23T16:00Z-2026-10-26T00:00Z allow default", Utc(week)[^1]);
    }

    [Fact]
    public void Week_SpringDstChange_WeekHas167Hours()
    {
        var week = WeekTimeline.Compute(Sample(), Ask("staff1", "10.30.1.5"), new LocalDate(2026, 3, 29), inspection: false);

        Assert.Equal(Instant.FromUtc(2026, 3, 23, 0, 0), week.Start);
        Assert.Equal(Instant.FromUtc(2026, 3, 29, 23, 0), week.End);
        Assert.Equal("2026-03-27T09:00Z-2026-03-27T17:00Z block staff-working-hours", Utc(week)[^2]);
        Assert.Equal("2026-03-27T17:00Z-2026-03-29T23:00Z allow default", Utc(week)[^1]);
    }

    [Fact]
    public void Week_WindowAcrossTheRepeatedHour_IsInForceInBothPasses()
    {
        // Sunday 00:30-01:30 on the night the clocks go back: 01:00-01:30 happens twice, and both are in the window.
        var dir = Variant(
            ("  lunch:         { weekly: { mon-fri: \"12:00-13:00\" } }\n",
             "  lunch:         { weekly: { mon-fri: \"12:00-13:00\" } }\n  night:         { weekly: { sun: \"00:30-01:30\" } }\n"),
            ("rules:\n", "rules:\n  - { name: staff-night, roles: [staff], category: social, during: night, action: block }\n"));

        var week = WeekTimeline.Compute(Sample(dir), Ask("staff1", "10.30.1.5"), new LocalDate(2026, 10, 25), inspection: false);

        Assert.Equal(
        [
            "2026-10-24T23:30Z-2026-10-25T00:30Z block staff-night",
            "2026-10-25T00:30Z-2026-10-25T01:00Z allow default",
            "2026-10-25T01:00Z-2026-10-25T01:30Z block staff-night",
            "2026-10-25T01:30Z-2026-10-26T00:00Z allow default",
        ], Utc(week)[^4..]);
    }

    [Fact]
    public void Week_ExceptionFromTuesdayUntilWednesdayMidday_ThenTheRulesAgain()
    {
        var dir = Variant(("rules:\n", """
            exceptions:
              - name: open-day-photos
                user: staff1
                allow: social
                from: 2026-11-24T15:00
                until: 2026-11-25T12:30
                granted_by: Head teacher
                reason: Posts the open day photos

            rules:

            """.Replace("\r", "")));

        var week = WeekTimeline.Compute(Sample(dir), Ask("staff1", "10.20.0.5"), new LocalDate(2026, 11, 23), inspection: false);

        string[] expected =
        [
            "Mon 00:00-Mon 09:00 allow default",
            .. StaffroomDay("Mon", "Tue"),
            "Tue 09:00-Tue 12:00 block staff-working-hours",
            "Tue 12:00-Tue 13:00 allow staff-lunch-staffroom",
            "Tue 13:00-Tue 15:00 block staff-working-hours",
            "Tue 15:00-Wed 12:30 allow exception:open-day-photos",
            "Wed 12:30-Wed 13:00 allow staff-lunch-staffroom", // same action, another rule: a boundary of its own
            "Wed 13:00-Wed 17:00 block staff-working-hours",
            "Wed 17:00-Thu 09:00 allow default",
            .. StaffroomDay("Thu", "Fri"),
            .. StaffroomDay("Fri", "Mon").Select(s => s.Replace("Fri 17:00-Mon 09:00", "Fri 17:00-Mon 00:00")),
        ];
        Assert.Equal(expected, Local(week));
    }

    [Theory]
    // Week of 31 August 2026: Monday and Tuesday holidays, Wednesday and Thursday INSET days, Friday the first school day.
    [InlineData("working", new[] { "Wed", "Thu", "Fri" })]
    [InlineData("school", new[] { "Fri" })]
    public void Week_TermCalendar_HolidaysInsetAndSchoolDays(string days, string[] blocked)
    {
        var dir = Variant(("  working-hours: { weekly: { mon-fri: \"09:00-17:00\" } }\n",
            $"  working-hours: {{ weekly: {{ mon-fri: \"09:00-17:00\" }}, calendar: term-dates.yaml, days: {days} }}\n"));

        var week = WeekTimeline.Compute(Sample(dir), Ask("staff1", "10.30.1.5"), new LocalDate(2026, 9, 2), inspection: false);

        var expected = new List<string>();
        var from = "Mon 00:00";
        foreach (var day in blocked)
        {
            expected.Add($"{from}-{day} 09:00 allow default");
            expected.Add($"{day} 09:00-{day} 17:00 block staff-working-hours");
            from = $"{day} 17:00";
        }
        expected.Add($"{from}-Mon 00:00 allow default");
        Assert.Equal(expected, Local(week));
    }

    [Theory]
    [InlineData("2026-11-23", "10.20.0.5")] // the exception's week: rule changes with the same action
    [InlineData("2026-10-19", "10.20.0.5")] // autumn DST
    [InlineData("2026-03-23", "10.30.1.5")] // spring DST
    public void Week_AgreesWithTheNaiveReference_ExplainAtEveryMinute(string monday, string ip)
    {
        var snapshot = Sample(Variant(("rules:\n", """
            exceptions:
              - { name: open-day-photos, user: staff1, allow: social, from: 2026-11-24T15:00, until: 2026-11-25T12:30, granted_by: Head, reason: Photos }

            rules:

            """.Replace("\r", ""))));
        var asked = Ask("staff1", ip);
        var week = WeekTimeline.Compute(snapshot, asked, NodaTime.Text.LocalDatePattern.Iso.Parse(monday).Value, inspection: false);

        Assert.Equal(week.Start, week.Segments[0].Start);
        Assert.Equal(week.End, week.Segments[^1].End);
        Assert.All(week.Segments.Zip(week.Segments.Skip(1)), p =>
        {
            Assert.Equal(p.First.End, p.Second.Start);
            Assert.NotEqual((p.First.Action, p.First.Rule), (p.Second.Action, p.Second.Rule));
        });
        var i = 0;
        for (var at = week.Start; at < week.End; at += Duration.FromMinutes(1))
        {
            while (week.Segments[i].End <= at)
            {
                i++;
            }
            var d = Explainer.Explain(snapshot, asked with { At = at.ToDateTimeOffset() }, inspection: false).Decision;
            Assert.True((week.Segments[i].Action, week.Segments[i].Rule) == (d.Action, d.Rule), $"at {at}: {d.Rule}, the week view says {week.Segments[i].Rule}");
        }
    }

    /// <summary>A copy of the sample with text replaced in policy.yaml (each replacement must match once).</summary>
    private string Variant(params (string Old, string New)[] edits)
    {
        var dir = RepoPaths.CopyToTemp(RepoPaths.Sample("default"));
        _copies.Add(dir);
        var path = Path.Combine(dir, "policy.yaml");
        var text = File.ReadAllText(path);
        foreach (var (old, replacement) in edits)
        {
            Assert.Single(text.Split(old)[1..]);
            text = text.Replace(old, replacement);
        }
        File.WriteAllText(path, text);
        return dir;
    }
}
