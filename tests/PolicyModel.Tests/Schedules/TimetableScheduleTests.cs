using static PolicyModel.Tests.Schedules.ScheduleTestKit;

namespace PolicyModel.Tests.Schedules;

/// <summary>Against Fixtures/schedules/timetables/non-contact.csv: staff1 Mon 10:40-11:40 and Wed 13:20-14:20, staff2 Tue 10:40-11:40.</summary>
public sealed class TimetableScheduleTests
{
    [Theory]
    [InlineData("staff1", "2026-11-16T11:00:00Z", true)]  // Mon P3
    [InlineData("staff2", "2026-11-16T11:00:00Z", false)] // staff2 teaches Monday P3
    [InlineData("staff1", "2026-11-16T10:39:00Z", false)]
    [InlineData("staff1", "2026-11-16T11:40:00Z", false)] // half-open
    [InlineData("staff1", "2026-11-18T13:20:00Z", true)]  // Wed P5
    [InlineData("staff2", "2026-11-17T10:40:00Z", true)]  // Tue P3
    [InlineData("STAFF1", "2026-11-16T11:00:00Z", true)]  // user names compare case-insensitively
    [InlineData("visitor", "2026-11-16T11:00:00Z", false)] // not in the timetable: never
    [InlineData(null, "2026-11-16T11:00:00Z", false)]      // no user known: never
    public void IsActive_NonContactTimetable_PerUser(string? user, string at, bool expected)
    {
        var schedule = Compile(Spec(timetable: "timetables/non-contact.csv"));

        Assert.Equal(expected, schedule.IsActive(Utc(at), user));
    }

    [Fact]
    public void IsActive_TimetableWithCalendar_OnlyOnMatchingDays()
    {
        var schedule = Compile(Spec(timetable: "timetables/non-contact.csv", calendar: "term-dates.yaml", days: "school"));

        Assert.True(schedule.IsActive(Utc("2026-11-16T11:00:00Z"), "staff1"));  // Monday in term
        Assert.False(schedule.IsActive(Utc("2026-10-26T11:00:00Z"), "staff1")); // Monday of half term
    }

    [Fact]
    public void IsActive_TimetableWithWeekly_NeedsBoth()
    {
        var schedule = Compile(Spec(weekly: [Line("mon", "11:00-12:00")], timetable: "timetables/non-contact.csv"));

        Assert.False(schedule.IsActive(Utc("2026-11-16T10:50:00Z"), "staff1"));
        Assert.True(schedule.IsActive(Utc("2026-11-16T11:10:00Z"), "staff1"));
        Assert.False(schedule.IsActive(Utc("2026-11-16T11:50:00Z"), "staff1"));
    }

    [Theory]
    [InlineData("staff1", "2026-11-16T09:00:00Z", "2026-11-16T10:40:00Z")]
    [InlineData("staff1", "2026-11-16T11:00:00Z", "2026-11-16T11:40:00Z")]
    [InlineData("staff1", "2026-11-16T12:00:00Z", "2026-11-18T13:20:00Z")]
    [InlineData("staff2", "2026-11-16T12:00:00Z", "2026-11-17T10:40:00Z")]
    public void NextChange_Timetable_IsTheUsersNextPeriodBoundary(string user, string after, string expected)
    {
        var schedule = Compile(Spec(timetable: "timetables/non-contact.csv"));

        Assert.Equal(Utc(expected), schedule.NextChange(Utc(after), user));
    }

    [Theory]
    [InlineData("visitor")]
    [InlineData(null)]
    public void NextChange_UserNotInTimetable_IsNull(string? user)
    {
        var schedule = Compile(Spec(timetable: "timetables/non-contact.csv"));

        Assert.Null(schedule.NextChange(Utc("2026-11-16T09:00:00Z"), user));
    }
}
