using PolicyModel.Diagnostics;

namespace PolicyModel.Schedules;

/// <summary>One <c>day-range: "times"</c> line of a schedule's <c>weekly:</c> map, with where it was written.</summary>
public sealed record WeeklySpec(string Days, SourceLocation DaysAt, string Times, SourceLocation TimesAt);

/// <summary>
/// A schedule as written in <c>policy.yaml</c>, before validation. Every present part must hold for the
/// schedule to be active: <see cref="Weekly"/> windows (none = all day), the <see cref="Calendar"/> day filter
/// (<see cref="Days"/>: school, working or holiday) and the per-user <see cref="Timetable"/>.
/// </summary>
public sealed record ScheduleSpec(
    string Name,
    SourceLocation At,
    IReadOnlyList<WeeklySpec> Weekly,
    string? Calendar,
    SourceLocation CalendarAt,
    string? Days,
    SourceLocation DaysAt,
    string? Timetable,
    SourceLocation TimetableAt);
