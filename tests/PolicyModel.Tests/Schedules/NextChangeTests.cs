using static PolicyModel.Tests.Schedules.ScheduleTestKit;

namespace PolicyModel.Tests.Schedules;

public sealed class NextChangeTests
{
    [Theory]
    [InlineData("2026-11-16T10:00", "2026-11-16T17:00")] // Mon 10:00 -> closes 17:00
    [InlineData("2026-11-16T07:00", "2026-11-16T09:00")] // before opening -> 09:00
    [InlineData("2026-11-16T09:00", "2026-11-16T17:00")] // exactly at opening: strictly after, so the close
    [InlineData("2026-11-20T17:00", "2026-11-23T09:00")] // Fri 17:00 -> Mon 09:00
    [InlineData("2026-11-21T12:00", "2026-11-23T09:00")] // Saturday -> Mon 09:00
    [InlineData("2026-06-15T10:00", "2026-06-15T17:00")] // summer: 17:00 BST
    public void NextChange_SchoolHours_IsNextBoundaryInLondon(string afterLocal, string expectedLocal)
    {
        var schedule = Compile(Weekly(("mon-fri", "09:00-17:00")));

        Assert.Equal(LondonTime(expectedLocal), schedule.NextChange(LondonTime(afterLocal), null));
    }

    [Fact]
    public void NextChange_MondayTenInSchoolHours_IsFivePmAsInstant()
    {
        var schedule = Compile(Weekly(("mon-fri", "09:00-17:00")));

        Assert.Equal(Utc("2026-06-15T16:00:00Z"), schedule.NextChange(Utc("2026-06-15T09:00:00Z"), null));
    }

    [Fact]
    public void NextChange_AdjacentWindows_SkipTheJoin()
    {
        var schedule = Compile(Weekly(("mon", "09:00-12:00, 12:00-13:00")));

        Assert.Equal(Utc("2026-11-16T13:00:00Z"), schedule.NextChange(Utc("2026-11-16T10:00:00Z"), null));
    }

    [Theory]
    [InlineData("2026-11-20T22:00:00Z", "2026-11-21T07:00:00Z")] // Friday night -> Saturday 07:00
    [InlineData("2026-11-21T07:00:00Z", "2026-11-23T21:00:00Z")] // -> Monday 21:00
    public void NextChange_OvernightWindow_CrossesMidnight(string after, string expected)
    {
        var schedule = Compile(Weekly(("mon-fri", "21:00-07:00")));

        Assert.Equal(Utc(expected), schedule.NextChange(Utc(after), null));
    }

    [Fact]
    public void NextChange_AlwaysActive_IsNull()
    {
        var schedule = Compile(Weekly(("daily", "all day")));

        Assert.True(schedule.IsActive(Utc("2026-11-16T10:00:00Z"), null));
        Assert.Null(schedule.NextChange(Utc("2026-11-16T10:00:00Z"), null));
    }

    [Fact]
    public void NextChange_FarFutureUnderHorizon_IsFound()
    {
        // Only 2027-07-21 is left in the calendar: about eight months ahead, inside the 400-day horizon.
        var schedule = Compile(Spec(calendar: "term-dates.yaml", days: "school"));

        Assert.Equal(Utc("2027-07-21T23:00:00Z"), schedule.NextChange(Utc("2027-07-21T10:00:00Z"), null));
        Assert.Equal(Utc("2027-04-11T23:00:00Z"), schedule.NextChange(Utc("2027-03-27T10:00:00Z"), null));
    }
}
