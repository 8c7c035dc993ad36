using static PolicyModel.Tests.Schedules.ScheduleTestKit;

namespace PolicyModel.Tests.Schedules;

public sealed class WeeklyScheduleTests
{
    // November 2026 is GMT, so these UTC instants are also London wall-clock times. 2026-11-16 is a Monday.
    [Theory]
    [InlineData("2026-11-16T08:59:59Z", false)] // Monday, just before
    [InlineData("2026-11-16T09:00:00Z", true)]  // start is inside
    [InlineData("2026-11-16T12:00:00Z", true)]
    [InlineData("2026-11-16T16:59:59Z", true)]
    [InlineData("2026-11-16T17:00:00Z", false)] // end is outside: half-open
    [InlineData("2026-11-20T10:00:00Z", true)]  // Friday
    [InlineData("2026-11-21T10:00:00Z", false)] // Saturday
    [InlineData("2026-11-22T10:00:00Z", false)] // Sunday
    public void IsActive_SchoolHoursMonFri_MatchesWindow(string at, bool expected)
    {
        var schedule = Compile(Weekly(("mon-fri", "09:00-17:00")));

        Assert.Equal(expected, schedule.IsActive(Utc(at), null));
    }

    [Fact]
    public void IsActive_LunchWindowAtNoon_IsTrue()
    {
        var schedule = Compile(Weekly(("mon-fri", "12:00-13:00")));

        Assert.True(schedule.IsActive(Utc("2026-11-18T12:00:00Z"), null));
    }

    [Fact]
    public void IsActive_LunchWindowInSummer_UsesBritishSummerTime()
    {
        var schedule = Compile(Weekly(("mon-fri", "12:00-13:00")));

        // 2026-06-15 is a Monday; 12:00 BST is 11:00Z.
        Assert.True(schedule.IsActive(Utc("2026-06-15T11:00:00Z"), null));
        Assert.False(schedule.IsActive(Utc("2026-06-15T12:00:00Z"), null));
    }

    [Theory]
    [InlineData("2026-11-16T08:00:00Z", true)]  // mon 08:00-10:00
    [InlineData("2026-11-16T10:00:00Z", false)]
    [InlineData("2026-11-16T13:59:00Z", false)]
    [InlineData("2026-11-16T14:00:00Z", true)]  // mon 14:00-16:00
    [InlineData("2026-11-16T16:00:00Z", false)]
    [InlineData("2026-11-17T08:29:00Z", false)] // tue 08:30-12:00
    [InlineData("2026-11-17T08:30:00Z", true)]
    [InlineData("2026-11-18T09:00:00Z", false)] // wed: nothing
    [InlineData("2026-11-19T11:59:00Z", true)]  // thu 08:30-12:00
    [InlineData("2026-11-21T03:00:00Z", true)]  // sat all day
    [InlineData("2026-11-22T23:59:59Z", true)]  // sun all day, to 24:00
    [InlineData("2026-11-23T00:30:00Z", true)]  // mon 00:00-01:00, straight after sunday all day
    public void IsActive_SplitSchedule_MatchesEachWindow(string at, bool expected)
    {
        var schedule = Compile(Weekly(("mon", "08:00-10:00, 14:00-16:00"), ("tue,thu", "08:30-12:00"), ("sat-sun", "all day"), ("mon", "00:00-01:00")));

        Assert.Equal(expected, schedule.IsActive(Utc(at), null));
    }

    [Theory]
    [InlineData("2026-11-20T20:59:00Z", false)] // Friday before it starts
    [InlineData("2026-11-20T21:00:00Z", true)]
    [InlineData("2026-11-21T00:00:00Z", true)]  // past midnight: still Friday's window
    [InlineData("2026-11-21T06:59:00Z", true)]  // Saturday 06:59
    [InlineData("2026-11-21T07:00:00Z", false)] // Saturday 07:00: off
    [InlineData("2026-11-21T21:00:00Z", false)] // Saturday night: not in mon-fri
    [InlineData("2026-11-23T06:00:00Z", false)] // Monday morning: Sunday night never started
    [InlineData("2026-11-24T06:00:00Z", true)]  // Tuesday morning: Monday's window
    public void IsActive_OvernightWindow_RunsIntoNextMorning(string at, bool expected)
    {
        var schedule = Compile(Weekly(("mon-fri", "21:00-07:00")));

        Assert.Equal(expected, schedule.IsActive(Utc(at), null));
    }

    [Theory]
    [InlineData("fri-mon", "2026-11-20T10:00:00Z", true)]  // fri
    [InlineData("fri-mon", "2026-11-22T10:00:00Z", true)]  // sun
    [InlineData("fri-mon", "2026-11-16T10:00:00Z", true)]  // mon
    [InlineData("fri-mon", "2026-11-17T10:00:00Z", false)] // tue
    [InlineData("mon,wed,fri", "2026-11-18T10:00:00Z", true)]
    [InlineData("mon,wed,fri", "2026-11-19T10:00:00Z", false)]
    [InlineData("daily", "2026-11-22T10:00:00Z", true)]
    [InlineData("weekdays", "2026-11-21T10:00:00Z", false)]
    [InlineData("weekdays", "2026-11-19T10:00:00Z", true)]
    [InlineData("weekends", "2026-11-21T10:00:00Z", true)]
    [InlineData("weekends", "2026-11-20T10:00:00Z", false)]
    [InlineData("Mon-Fri", "2026-11-16T10:00:00Z", true)]
    public void IsActive_DaySpecs_SelectTheirDays(string days, string at, bool expected)
    {
        var schedule = Compile(Weekly((days, "09:00-17:00")));

        Assert.Equal(expected, schedule.IsActive(Utc(at), null));
    }

    [Fact]
    public void IsActive_WindowEndingAt2400_IncludesLastMinuteButNotMidnight()
    {
        var schedule = Compile(Weekly(("mon", "18:00-24:00")));

        Assert.True(schedule.IsActive(Utc("2026-11-16T23:59:59Z"), null));
        Assert.False(schedule.IsActive(Utc("2026-11-17T00:00:00Z"), null));
    }

    [Fact]
    public void IsActive_AdjacentWindows_AreNotAnOverlap()
    {
        var schedule = Compile(Weekly(("mon", "09:00-12:00, 12:00-13:00"), ("sun", "21:00-09:00")));

        Assert.True(schedule.IsActive(Utc("2026-11-16T08:59:00Z"), null));
        Assert.True(schedule.IsActive(Utc("2026-11-16T12:30:00Z"), null));
    }
}
