using static PolicyModel.Tests.Schedules.ScheduleTestKit;

namespace PolicyModel.Tests.Schedules;

/// <summary>Against Fixtures/schedules/term-dates.yaml: INSET on Wed 2026-09-02 and Tue 2027-01-05, half term 26-30 Oct 2026.</summary>
public sealed class CalendarScheduleTests
{
    [Theory]
    [InlineData("2026-09-02T11:00:00Z", "school", false)]  // INSET: pupils not in
    [InlineData("2026-09-02T11:00:00Z", "working", true)]  // INSET: staff working
    [InlineData("2026-09-02T11:00:00Z", "holiday", false)]
    [InlineData("2026-09-03T11:00:00Z", "school", true)]   // ordinary school day
    [InlineData("2026-09-03T11:00:00Z", "working", true)]
    [InlineData("2026-09-03T11:00:00Z", "holiday", false)]
    [InlineData("2026-10-27T11:00:00Z", "school", false)]  // half term
    [InlineData("2026-10-27T11:00:00Z", "working", false)]
    [InlineData("2026-10-27T11:00:00Z", "holiday", true)]
    [InlineData("2026-09-05T11:00:00Z", "school", false)]  // Saturday in term
    [InlineData("2026-09-05T11:00:00Z", "holiday", true)]
    [InlineData("2026-12-18T12:00:00Z", "school", false)]  // single-date closure
    [InlineData("2026-12-17T12:00:00Z", "school", true)]
    [InlineData("2026-12-25T12:00:00Z", "holiday", true)]  // between terms
    [InlineData("2027-01-05T12:00:00Z", "working", true)]  // INSET on the first day of term
    [InlineData("2027-01-05T12:00:00Z", "school", false)]
    public void IsActive_TermTime_FollowsDaysFilter(string at, string days, bool expected)
    {
        var schedule = Compile(Spec(calendar: "term-dates.yaml", days: days));

        Assert.Equal(expected, schedule.IsActive(Utc(at), null));
    }

    [Fact]
    public void IsActive_CalendarWithoutDays_DefaultsToWorkingDays()
    {
        var schedule = Compile(Spec(calendar: "term-dates.yaml"));

        Assert.True(schedule.IsActive(Utc("2026-09-02T11:00:00Z"), null));
        Assert.False(schedule.IsActive(Utc("2026-10-27T11:00:00Z"), null));
    }

    [Theory]
    [InlineData("2027-07-21T22:59:59Z", true)]  // 23:59:59 BST on the last day of the summer term
    [InlineData("2027-07-21T23:00:00Z", false)] // midnight BST: the day after
    [InlineData("2027-04-11T23:00:00Z", true)]  // midnight BST starting the first day of the summer term
    [InlineData("2027-04-11T22:59:59Z", false)]
    public void IsActive_TermDates_IncludeBothEnds(string at, bool expected)
    {
        var schedule = Compile(Spec(calendar: "term-dates.yaml", days: "school"));

        Assert.Equal(expected, schedule.IsActive(Utc(at), null));
    }

    [Theory]
    [InlineData("2026-09-03T07:49:00Z", false)] // 08:49 BST
    [InlineData("2026-09-03T07:50:00Z", true)]  // 08:50 BST
    [InlineData("2026-09-03T14:20:00Z", false)] // 15:20 BST
    [InlineData("2026-09-02T09:00:00Z", false)] // INSET
    [InlineData("2026-10-28T09:00:00Z", false)] // half term
    [InlineData("2026-11-02T09:00:00Z", true)]  // back after half term, GMT
    public void IsActive_LessonsWithCalendar_NeedsBothWindowAndSchoolDay(string at, bool expected)
    {
        var schedule = Compile(Spec(weekly: [Line("mon-fri", "08:50-15:20")], calendar: "term-dates.yaml", days: "school"));

        Assert.Equal(expected, schedule.IsActive(Utc(at), null));
    }

    [Theory]
    [InlineData("2026-10-24T05:00:00Z", true)]  // Sat 06:00 BST: Friday's window, Friday a school day
    [InlineData("2026-10-26T21:30:00Z", false)] // Mon 21:30 GMT: half term
    [InlineData("2026-10-31T06:00:00Z", false)] // Sat 06:00: Friday 30th was half term
    [InlineData("2026-11-03T06:00:00Z", true)]  // Tue 06:00: Monday 2nd was a school day
    public void IsActive_OvernightWindowWithCalendar_BelongsToTheDayItStarted(string at, bool expected)
    {
        var schedule = Compile(Spec(weekly: [Line("mon-fri", "21:00-07:00")], calendar: "term-dates.yaml", days: "school"));

        Assert.Equal(expected, schedule.IsActive(Utc(at), null));
    }

    [Theory]
    [InlineData("2026-10-23T11:00:00Z", "2026-10-23T23:00:00Z")] // Fri in term -> midnight BST starts half term
    [InlineData("2026-10-24T11:00:00Z", "2026-11-02T00:00:00Z")] // half term -> Mon 2 Nov midnight GMT
    [InlineData("2027-07-21T11:00:00Z", "2027-07-21T23:00:00Z")] // last day of the year -> midnight BST
    public void NextChange_TermTime_IsMidnightLocal(string after, string expected)
    {
        var schedule = Compile(Spec(calendar: "term-dates.yaml", days: "school"));

        Assert.Equal(Utc(expected), schedule.NextChange(Utc(after), null));
    }

    [Theory]
    [InlineData("school")]
    [InlineData("holiday")]
    public void NextChange_AfterTheLastTerm_IsNull(string days)
    {
        var schedule = Compile(Spec(calendar: "term-dates.yaml", days: days));

        Assert.Null(schedule.NextChange(Utc("2027-08-01T00:00:00Z"), null));
    }

    [Fact]
    public void Compile_HolidayAndInsetOutsideTerms_WarnsAndInsetStillWorks()
    {
        var (schedule, diagnostics) = CompileWithDiagnostics(Spec(calendar: "outside-terms.yaml", days: "working"));

        Assert.Equal(
            [
                "outside-terms.yaml:4:5: warning PM0316: holiday 'Summer holiday' (2026-07-22 to 2026-08-31) is outside every term; it has no effect",
                "outside-terms.yaml:6:5: warning PM0316: INSET day 2026-09-01 is outside every term; it still counts as a working day",
            ],
            diagnostics);
        Assert.NotNull(schedule);
        Assert.True(schedule.IsActive(Utc("2026-09-01T11:00:00Z"), null));
        var (school, _) = CompileWithDiagnostics(Spec(calendar: "outside-terms.yaml", days: "school"));
        Assert.False(school!.IsActive(Utc("2026-11-02T11:00:00Z"), null)); // INSET given as { name, date }
        Assert.True(school.IsActive(Utc("2026-11-03T11:00:00Z"), null));
    }

    [Fact]
    public void Compile_EmptyHolidaysAndInset_AreEmptyLists()
    {
        var schedule = Compile(Spec(calendar: "no-holidays.yaml", days: "school"));

        Assert.True(schedule.IsActive(Utc("2026-10-27T11:00:00Z"), null)); // no half term listed
        Assert.True(schedule.IsActive(Utc("2026-09-02T11:00:00Z"), null)); // no INSET listed
    }
}
