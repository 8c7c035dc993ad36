using static PolicyModel.Tests.Schedules.ScheduleTestKit;

namespace PolicyModel.Tests.Schedules;

/// <summary>
/// The rule: a window is active when the local wall-clock time falls inside [start, end). Europe/London springs
/// forward at 01:00Z on Sunday 2026-03-29 (local 01:00-02:00 never happens) and falls back at 01:00Z on Sunday
/// 2026-10-25 (local 01:00-02:00 happens twice).
/// </summary>
public sealed class DaylightSavingTests
{
    [Theory]
    [InlineData("2026-03-29T00:14:00Z", false)] // 00:14 GMT
    [InlineData("2026-03-29T00:30:00Z", false)] // 00:30 GMT
    [InlineData("2026-03-29T00:59:59Z", false)] // 00:59:59 GMT
    [InlineData("2026-03-29T01:00:00Z", false)] // 02:00 BST: 01:15-01:45 was skipped
    [InlineData("2026-03-29T01:30:00Z", false)]
    public void IsActive_WindowInsideSpringGap_NeverOpens(string at, bool expected)
    {
        var schedule = Compile(Weekly(("sun", "01:15-01:45")));

        Assert.Equal(expected, schedule.IsActive(Utc(at), null));
    }

    [Theory]
    [InlineData("2026-03-29T00:59:59Z", false)] // 00:59:59 GMT
    [InlineData("2026-03-29T01:00:00Z", true)]  // 02:00 BST: inside 01:30-03:00
    [InlineData("2026-03-29T01:59:59Z", true)]  // 02:59:59 BST
    [InlineData("2026-03-29T02:00:00Z", false)] // 03:00 BST
    public void IsActive_WindowStartingInSpringGap_OpensAtTwoBst(string at, bool expected)
    {
        var schedule = Compile(Weekly(("sun", "01:30-03:00")));

        Assert.Equal(expected, schedule.IsActive(Utc(at), null));
    }

    [Theory]
    [InlineData("2026-10-25T00:14:00Z", false)] // 01:14 BST
    [InlineData("2026-10-25T00:15:00Z", true)]  // 01:15 BST, first pass
    [InlineData("2026-10-25T00:30:00Z", true)]  // 01:30 BST
    [InlineData("2026-10-25T00:45:00Z", false)] // 01:45 BST
    [InlineData("2026-10-25T01:00:00Z", false)] // 01:00 GMT
    [InlineData("2026-10-25T01:15:00Z", true)]  // 01:15 GMT, second pass
    [InlineData("2026-10-25T01:30:00Z", true)]  // 01:30 GMT
    [InlineData("2026-10-25T01:45:00Z", false)] // 01:45 GMT
    public void IsActive_WindowInAutumnOverlap_IsActiveDuringBothPasses(string at, bool expected)
    {
        var schedule = Compile(Weekly(("sun", "01:15-01:45")));

        Assert.Equal(expected, schedule.IsActive(Utc(at), null));
    }

    [Theory]
    [InlineData("2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z")] // opens at 02:00 BST
    [InlineData("2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z")] // closes at 03:00 BST
    public void NextChange_WindowStartingInSpringGap_IsGapEnd(string after, string expected)
    {
        var schedule = Compile(Weekly(("sun", "01:30-03:00")));

        Assert.Equal(Utc(expected), schedule.NextChange(Utc(after), null));
    }

    [Fact]
    public void NextChange_WindowInsideSpringGap_SkipsToNextWeek()
    {
        var schedule = Compile(Weekly(("sun", "01:15-01:45")));

        // Never opens on 2026-03-29; next Sunday 01:15 BST is 00:15Z.
        Assert.Equal(Utc("2026-04-05T00:15:00Z"), schedule.NextChange(Utc("2026-03-29T00:00:00Z"), null));
    }

    [Theory]
    [InlineData("2026-10-25T00:00:00Z", "2026-10-25T00:15:00Z")] // opens 01:15 BST
    [InlineData("2026-10-25T00:30:00Z", "2026-10-25T00:45:00Z")] // closes 01:45 BST
    [InlineData("2026-10-25T00:50:00Z", "2026-10-25T01:15:00Z")] // opens again 01:15 GMT
    [InlineData("2026-10-25T01:30:00Z", "2026-10-25T01:45:00Z")] // closes 01:45 GMT
    public void NextChange_WindowInAutumnOverlap_FindsBothPasses(string after, string expected)
    {
        var schedule = Compile(Weekly(("sun", "01:15-01:45")));

        Assert.Equal(Utc(expected), schedule.NextChange(Utc(after), null));
    }

    [Fact]
    public void NextChange_WindowEndingInsideAutumnOverlap_ReopensAtTransition()
    {
        // 00:30-01:30: closes at 01:30 BST (00:30Z); at 01:00Z the clock goes back to 01:00 GMT, inside the window again.
        var schedule = Compile(Weekly(("sun", "00:30-01:30")));

        Assert.True(schedule.IsActive(Utc("2026-10-25T00:00:00Z"), null));
        Assert.False(schedule.IsActive(Utc("2026-10-25T00:40:00Z"), null));
        Assert.Equal(Utc("2026-10-25T00:30:00Z"), schedule.NextChange(Utc("2026-10-25T00:00:00Z"), null));
        Assert.Equal(Utc("2026-10-25T01:00:00Z"), schedule.NextChange(Utc("2026-10-25T00:40:00Z"), null));
        Assert.Equal(Utc("2026-10-25T01:30:00Z"), schedule.NextChange(Utc("2026-10-25T01:00:00Z"), null));
    }

    [Theory]
    [InlineData("2026-03-27T17:00:00Z", "2026-03-30T08:00:00Z")] // Fri 17:00 GMT -> Mon 09:00 BST
    [InlineData("2026-10-23T16:00:00Z", "2026-10-26T09:00:00Z")] // Fri 17:00 BST -> Mon 09:00 GMT
    public void NextChange_SchoolHoursOverDstWeekend_IsMondayNineLocal(string after, string expected)
    {
        var schedule = Compile(Weekly(("mon-fri", "09:00-17:00")));

        Assert.Equal(Utc(expected), schedule.NextChange(Utc(after), null));
    }

    [Fact]
    public void IsActive_OvernightWindowAcrossSpringForward_RunsToSevenLocal()
    {
        var schedule = Compile(Weekly(("sat", "21:00-07:00")));

        // Saturday 2026-03-28 21:00 GMT to Sunday 07:00 BST (06:00Z): nine hours, not ten.
        Assert.True(schedule.IsActive(Utc("2026-03-29T05:59:00Z"), null));
        Assert.False(schedule.IsActive(Utc("2026-03-29T06:00:00Z"), null));
        Assert.Equal(Utc("2026-03-29T06:00:00Z"), schedule.NextChange(Utc("2026-03-28T21:00:00Z"), null));
    }
}
