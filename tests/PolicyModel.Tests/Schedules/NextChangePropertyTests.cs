using FsCheck;
using FsCheck.Fluent;
using NodaTime;
using PolicyModel.Schedules;
using static PolicyModel.Tests.Schedules.ScheduleTestKit;

namespace PolicyModel.Tests.Schedules;

/// <summary>
/// NextChange(t) = c means IsActive is constant on (t, c) and differs at c. Every boundary and every London offset
/// change falls on a whole minute, so checking each whole minute in (t, c) finds any earlier change; beyond six
/// hours we check a spread of samples instead.
/// </summary>
public sealed class NextChangePropertyTests
{
    private static readonly Schedule[] Schedules =
    [
        Compile(Weekly(("mon-fri", "09:00-17:00"))),
        Compile(Weekly(("mon-fri", "21:00-07:00"))),
        Compile(Weekly(("sun", "01:15-01:45"), ("sat", "00:30-01:30, 23:00-24:00"))),
        Compile(Weekly(("sun", "00:30-01:30"), ("mon", "08:00-10:00, 14:00-16:00"), ("tue,thu", "08:30-12:00"))),
        Compile(Weekly(("daily", "01:30-03:00"))),
        Compile(Spec(calendar: "term-dates.yaml", days: "school")),
        Compile(Spec(calendar: "term-dates.yaml", days: "holiday")),
        Compile(Spec(weekly: [Line("mon-fri", "21:00-07:00")], calendar: "term-dates.yaml", days: "working")),
    ];

    private static readonly Schedule Timetabled =
        Compile(Spec(timetable: "timetables/non-contact.csv", calendar: "term-dates.yaml", days: "school"));

    // The user only matters to the timetabled schedule.
    private static readonly (Schedule Schedule, string? User)[] Cases =
    [
        .. Schedules.Select(s => (s, (string?)null)),
        (Timetabled, "staff1"),
        (Timetabled, "staff2"),
        (Timetabled, null),
    ];

    // London's offset changes at 01:00Z on these days.
    private static readonly Instant[] Transitions = [Utc("2026-03-29T01:00:00Z"), Utc("2026-10-25T01:00:00Z"), Utc("2027-03-28T01:00:00Z")];

    [Fact]
    public void NextChange_AnyScheduleAndInstant_StateConstantUntilChangeAndDiffersAtIt()
    {
        var start = Utc("2026-01-01T00:00:00Z");
        var anywhere = Gen.Choose(0, 2 * 366 * 24 * 60).Select(m => start + Duration.FromMinutes(m));
        var nearDst = Gen.Choose(0, Transitions.Length - 1).SelectMany(
            i => Gen.Choose(-90, 90).Select(m => Transitions[i] + Duration.FromMinutes(m)));
        var instants = Gen.OneOf(anywhere, nearDst).SelectMany(
            t => Gen.Choose(0, 59).Select(s => t + Duration.FromSeconds(s)));

        // Every schedule and user at each instant: the interesting cases are narrow, so make each draw count.
        Check.One(
            Config.QuickThrowOnFailure.WithMaxTest(150),
            Prop.ForAll(instants.ToArbitrary(), t => Cases.All(c => Holds(c.Schedule, c.User, t))));
    }

    private static bool Holds(Schedule schedule, string? user, Instant t)
    {
        var before = schedule.IsActive(t, user);
        var next = schedule.NextChange(t, user);
        var end = next ?? t + Schedule.Horizon;
        if (next is { } c && (c <= t || schedule.IsActive(c, user) == before))
            return false;

        var minute = Instant.FromUnixTimeSeconds((t.ToUnixTimeSeconds() / 60 + 1) * 60);
        var scanEnd = Instant.Min(end, t + Duration.FromHours(6));
        for (var m = minute; m < scanEnd; m += Duration.FromMinutes(1))
        {
            if (schedule.IsActive(m, user) != before)
                return false;
        }

        for (var k = 1; k < 100; k++)
        {
            var sample = t + (end - t) * k / 100.0;
            if (sample < end && schedule.IsActive(sample, user) != before)
                return false;
        }

        return next is null || schedule.IsActive(next.Value - Duration.Epsilon, user) == before;
    }
}
