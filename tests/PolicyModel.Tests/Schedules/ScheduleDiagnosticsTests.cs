using PolicyModel.Diagnostics;
using PolicyModel.Documents;
using PolicyModel.Schedules;
using static PolicyModel.Tests.Schedules.ScheduleTestKit;

namespace PolicyModel.Tests.Schedules;

/// <summary>Every problem is reported with its code, location and exact text; a schedule with errors does not compile.</summary>
public sealed class ScheduleDiagnosticsTests
{
    [Fact]
    public void Compile_EmptyWindow_ReportsStartEqualsEnd()
    {
        Assert.Equal(
            ["policy.yaml:3:20: error PM0304: empty window '12:00-12:00': start equals end"],
            Diagnose(Weekly(("mon-fri", "12:00-12:00"))));
    }

    [Fact]
    public void Compile_OverlappingWindows_NamesBoth()
    {
        Assert.Equal(
            ["policy.yaml:4:20: error PM0305: windows overlap: mon 09:00-17:00 (policy.yaml:3:20) and mon 12:00-13:00 (policy.yaml:4:20)"],
            Diagnose(Weekly(("mon-fri", "09:00-17:00"), ("mon", "12:00-13:00"))));
    }

    [Fact]
    public void Compile_OvernightTailOverlapsNextMorning_NamesBoth()
    {
        Assert.Equal(
            ["policy.yaml:4:20: error PM0305: windows overlap: mon 21:00-07:00 (policy.yaml:3:20) and tue 06:00-08:00 (policy.yaml:4:20)"],
            Diagnose(Weekly(("mon", "21:00-07:00"), ("tue", "06:00-08:00"))));
    }

    [Fact]
    public void Compile_OverlapWithinOneLine_NamesBoth()
    {
        Assert.Equal(
            ["policy.yaml:3:20: error PM0305: windows overlap: wed 08:00-10:00 (policy.yaml:3:20) and wed 09:30-11:00 (policy.yaml:3:20)"],
            Diagnose(Weekly(("wed", "08:00-10:00, 09:30-11:00"))));
    }

    [Theory]
    [InlineData("tues", "policy.yaml:3:5: error PM0302: unknown day 'tues'; did you mean 'tue'?")]
    [InlineData("mon-fir", "policy.yaml:3:5: error PM0302: unknown day 'fir'; did you mean 'fri'?")]
    [InlineData("weekday", "policy.yaml:3:5: error PM0302: unknown day 'weekday'; did you mean 'weekdays'?")]
    [InlineData("mon,,fri", "policy.yaml:3:5: error PM0302: empty day name in 'mon,,fri'")]
    [InlineData("xyzzy", "policy.yaml:3:5: error PM0302: unknown day 'xyzzy'; expected mon..sun, a range like mon-fri, a list like mon,wed,fri, daily, weekdays or weekends")]
    public void Compile_UnknownDay_SuggestsClosest(string days, string expected)
    {
        Assert.Equal([expected], Diagnose(Weekly((days, "09:00-17:00"))));
    }

    [Theory]
    [InlineData("9-17", "bad time range '9-17'")]
    [InlineData("09:00-25:00", "bad time range '09:00-25:00'")]
    [InlineData("24:00-08:00", "bad time range '24:00-08:00'")]
    [InlineData("09:00", "bad time range '09:00'")]
    [InlineData("09:00-17:00, 18:00-19:60", "bad time range '18:00-19:60'")]
    [InlineData("allday", "bad time range 'allday'")]
    public void Compile_BadTime_ReportsRangeAndExpectedForm(string times, string quoted)
    {
        Assert.Equal(
            [$"policy.yaml:3:20: error PM0303: {quoted}; expected HH:MM-HH:MM (24-hour), several separated by commas, or 'all day'"],
            Diagnose(Weekly(("mon", times))));
    }

    [Fact]
    public void Compile_SeveralProblems_ReportsEveryOne()
    {
        Assert.Equal(
            [
                "policy.yaml:3:5: error PM0302: unknown day 'tues'; did you mean 'tue'?",
                "policy.yaml:4:20: error PM0304: empty window '10:00-10:00': start equals end",
                "policy.yaml:5:20: error PM0303: bad time range '25:00-26:00'; expected HH:MM-HH:MM (24-hour), several separated by commas, or 'all day'",
            ],
            Diagnose(Weekly(("tues", "09:00-17:00"), ("mon", "10:00-10:00"), ("fri", "25:00-26:00"))));
    }

    [Fact]
    public void Compile_PolicyFileAvailable_PointsAtTheTokenInsideTheScalar()
    {
        // Fixtures/schedules/located/policy.yaml, located as the policy.yaml parser would: each key and value's first character.
        var spec = Spec(weekly:
        [
            new("mon", new("policy.yaml", 6, 7), "08:00-10:00, 14:00-14:00", new("policy.yaml", 6, 12)),
            new("wed,tues", new("policy.yaml", 7, 7), "09:00-10:00", new("policy.yaml", 7, 19)),
            new("sat", new("policy.yaml", 8, 7), "08:00-09:00, 8am-9am", new("policy.yaml", 8, 12)),
            new("fri", new("policy.yaml", 9, 7), "09:00-12:00, 11:00-13:00", new("policy.yaml", 9, 12)),
        ]);

        Assert.Equal(
            [
                "policy.yaml:6:26: error PM0304: empty window '14:00-14:00': start equals end",
                "policy.yaml:7:12: error PM0302: unknown day 'tues'; did you mean 'tue'?",
                "policy.yaml:8:26: error PM0303: bad time range '8am-9am'; expected HH:MM-HH:MM (24-hour), several separated by commas, or 'all day'",
                "policy.yaml:9:26: error PM0305: windows overlap: fri 09:00-12:00 (policy.yaml:9:13) and fri 11:00-13:00 (policy.yaml:9:26)",
            ],
            Diagnose(spec, "located"));
    }

    [Fact]
    public void Compile_NothingToSchedule_IsAnError()
    {
        Assert.Equal(
            ["policy.yaml:2:3: error PM0301: schedule 'test' needs at least one of 'weekly', 'calendar' or 'timetable'"],
            Diagnose(Spec()));
    }

    [Fact]
    public void Compile_MissingCalendarFile_ReportsAtCalendarKey()
    {
        Assert.Equal(
            ["policy.yaml:2:30: error PM0310: cannot read term calendar 'missing.yaml': file not found"],
            Diagnose(Spec(calendar: "missing.yaml")));
    }

    [Fact]
    public void Compile_CalendarSyntaxError_LocatedInCalendarFile()
    {
        Assert.Equal(
            "bad-syntax.yaml:4:4: error PM0311: cannot parse term calendar: While parsing a block collection, did not find expected '-' indicator.",
            Assert.Single(Diagnose(Spec(calendar: "bad-syntax.yaml"))));

    }

    [Fact]
    public void Compile_UnclosedFlowMappingInCalendar_LocatedAtTheEntry()
    {
        Assert.Equal(
            "bad-flow.yaml:2:3: error PM0311: cannot parse term calendar: malformed YAML near here",
            Assert.Single(Diagnose(Spec(calendar: "bad-flow.yaml"))));
    }

    [Fact]
    public void Compile_BadCalendarContent_ReportsEveryProblemByLineAndColumn()
    {
        Assert.Equal(
            [
                "bad-dates.yaml:3:33: error PM0313: bad date '2027-02-30'; expected YYYY-MM-DD",
                "bad-dates.yaml:4:50: error PM0314: term 'Summer 2027' ends on 2027-04-12, before it starts on 2027-07-21",
                "bad-dates.yaml:9:1: error PM0312: unknown key 'holiday' in term calendar; did you mean 'holidays'?",
                "bad-dates.yaml:5:5: error PM0315: term 'Autumn 2027' (2026-12-01 to 2027-01-10) overlaps term 'Autumn 2026' (2026-09-02 to 2026-12-18)",
                "bad-dates.yaml:7:5: warning PM0316: holiday 'Summer holiday' (2026-07-22 to 2026-08-31) is outside every term; it has no effect",
                "bad-dates.yaml:8:9: warning PM0316: INSET day 2026-09-01 is outside every term; it still counts as a working day",
            ],
            Diagnose(Spec(calendar: "bad-dates.yaml")));
    }

    [Fact]
    public void Compile_TwoSchedulesShareABadCalendar_ReportsItsProblemsOnceAndRejectsBoth()
    {
        var bag = new DiagnosticBag();

        var first = ScheduleCompiler.Compile(Spec(name: "a", calendar: "bad-syntax.yaml"), PolicyDirectory, London, bag);
        var second = ScheduleCompiler.Compile(Spec(name: "b", calendar: "bad-syntax.yaml"), PolicyDirectory, London, bag);

        Assert.Null(first);
        Assert.Null(second);
        Assert.Equal(
            "bad-syntax.yaml:4:4: error PM0311: cannot parse term calendar: While parsing a block collection, did not find expected '-' indicator.",
            Assert.Single(bag.Items).ToString());
    }

    [Theory]
    [InlineData("schol", "policy.yaml:2:60: error PM0317: unknown days 'schol'; did you mean 'school'?")]
    [InlineData("weekdays", "policy.yaml:2:60: error PM0317: unknown days 'weekdays'; expected school, working or holiday")]
    public void Compile_UnknownDaysValue_IsAnError(string days, string expected)
    {
        Assert.Equal([expected], Diagnose(Spec(calendar: "term-dates.yaml", days: days)));
    }

    [Fact]
    public void Compile_DaysWithoutCalendar_IsAnError()
    {
        Assert.Equal(
            ["policy.yaml:2:60: error PM0318: 'days' needs a 'calendar' (a term calendar file)"],
            Diagnose(Spec(weekly: [Line("mon", "09:00-10:00")], days: "school")));
    }

    [Fact]
    public void Compile_MissingTimetableFile_ReportsAtTimetableKey()
    {
        Assert.Equal(
            ["policy.yaml:2:40: error PM0320: cannot read timetable 'timetables/missing.csv': file not found"],
            Diagnose(Spec(timetable: "timetables/missing.csv")));
    }

    [Fact]
    public void Compile_BadTimetableRows_ReportsEachAtItsField()
    {
        Assert.Equal(
            [
                "timetables/bad-rows.csv:3:8: error PM0302: unknown day 'tues'; did you mean 'tue'?",
                "timetables/bad-rows.csv:4:18: error PM0303: bad time '11:4'; expected HH:MM (24-hour)",
                "timetables/bad-rows.csv:5:1: error PM0322: expected 4 or 5 fields (user,day,start,end[,label]), found 2",
                "timetables/bad-rows.csv:7:18: error PM0323: period '14:00-13:00' ends before it starts; timetable periods cannot cross midnight",
                "timetables/bad-rows.csv:6:1: error PM0305: periods overlap for 'staff1': mon 10:40-11:40 (timetables/bad-rows.csv:2:1) and mon 11:00-12:00 (timetables/bad-rows.csv:6:1)",
            ],
            Diagnose(Spec(timetable: "timetables/bad-rows.csv")));
    }

    [Theory]
    [InlineData("bad-header.csv", "timetables/bad-header.csv:2:1: error PM0321: bad timetable header 'name,day,from,to'; expected 'user,day,start,end' or 'user,day,start,end,label'")]
    [InlineData("empty.csv", "timetables/empty.csv:1:1: error PM0321: timetable is empty; expected a header 'user,day,start,end' or 'user,day,start,end,label'")]
    [InlineData("no-user.csv", "timetables/no-user.csv:2:2: error PM0322: empty user")]
    [InlineData("empty-period.csv", "timetables/empty-period.csv:2:12: error PM0304: empty period '10:40-10:40': start equals end")]
    public void Compile_BadTimetable_ReportsProblem(string file, string expected)
    {
        Assert.Equal(expected, Assert.Single(Diagnose(Spec(timetable: $"timetables/{file}"))));
    }

    [Theory]
    [InlineData("{ terms: [] , holiday: [] }", "shape.yaml:1:15: error PM0312: unknown key 'holiday' in term calendar; did you mean 'holidays'?")]
    [InlineData("holidays: []", "shape.yaml:1:1: error PM0312: a term calendar needs 'terms:'")]
    [InlineData("", "shape.yaml:1:1: error PM0312: a term calendar needs 'terms:' (and optionally 'holidays:' and 'inset:')")]
    [InlineData("terms: 2026", "shape.yaml:1:8: error PM0312: 'terms' must be a list")]
    [InlineData("terms: [{ name: A, start: 2026-09-02 }]", "shape.yaml:1:9: error PM0312: term 'A' needs 'start' and 'end'")]
    [InlineData("terms: [{ name: A, start: 2026-09-02, end: 2026-12-18, ned: x }]", "shape.yaml:1:56: error PM0312: unknown key 'ned' in term; did you mean 'end'?")]
    [InlineData("terms: [{ start: 2026-09-02, end: 2026-12-18 }]\nholidays: [{ name: H, start: 2026-10-30, end: 2026-10-26 }]", "shape.yaml:2:47: error PM0314: holiday 'H' ends on 2026-10-26, before it starts on 2026-10-30")]
    [InlineData("terms: [{ start: 2026-09-02, end: 2026-12-18 }]\nholidays: [{ name: H, date: 2026-10-30, end: 2026-10-26 }]", "shape.yaml:2:29: error PM0312: holiday 'H' has both 'date' and 'start'/'end'; use one or the other")]
    [InlineData("terms: [{ start: 2026-09-02, end: 2026-12-18 }, { start: 2026-12-18, end: 2027-03-26 }]", "shape.yaml:1:49: error PM0315: term 'term 2' (2026-12-18 to 2027-03-26) overlaps term 'term 1' (2026-09-02 to 2026-12-18)")]
    public void Compile_BadCalendarShape_ReportsProblem(string yaml, string expected)
    {
        var directory = Directory.CreateTempSubdirectory("schedules-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "shape.yaml"), yaml);
            var bag = new DiagnosticBag();

            Assert.Null(ScheduleCompiler.Compile(Spec(calendar: "shape.yaml"), directory, London, bag));
            Assert.Equal(expected, Assert.Single(bag.Items).ToString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
