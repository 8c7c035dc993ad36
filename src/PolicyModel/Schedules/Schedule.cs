using NodaTime;
using PolicyModel.Documents;

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

/// <summary>
/// A compiled schedule: weekly windows, term calendar and per-user timetable, evaluated on the local
/// wall-clock time in the policy's time zone. Immutable and thread-safe.
/// </summary>
public sealed class Schedule
{
    public string Name => throw new NotImplementedException();

    /// <summary>Whether the schedule is active at <paramref name="at"/> for <paramref name="user"/> (null: no user known).</summary>
    public bool IsActive(Instant at, string? user) => throw new NotImplementedException();

    /// <summary>
    /// The first instant strictly after <paramref name="after"/> at which <see cref="IsActive"/> differs from its value at
    /// <paramref name="after"/>; null if it never changes within 400 days.
    /// </summary>
    public Instant? NextChange(Instant after, string? user) => throw new NotImplementedException();
}

public static class ScheduleCompiler
{
    /// <summary>
    /// Validates and compiles one schedule. Reports every problem (PM03xx) into <paramref name="diagnostics"/> and
    /// returns null if there were errors. Calendar and timetable paths are relative to <paramref name="policyDirectory"/>.
    /// </summary>
    public static Schedule? Compile(ScheduleSpec spec, string policyDirectory, DateTimeZone zone, DiagnosticBag diagnostics)
        => throw new NotImplementedException();
}
