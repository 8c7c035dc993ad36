using System.Collections.Frozen;
using NodaTime;

namespace PolicyModel.Schedules;

/// <summary>Which days of a term calendar a schedule's <c>days:</c> selects.</summary>
internal enum DayFilter
{
    /// <summary>Pupils in: a weekday in a term that is neither a holiday nor an INSET day.</summary>
    School,

    /// <summary>Staff working days: school days plus INSET days. The default when a calendar is given.</summary>
    Working,

    /// <summary>Every day that is not a working day, weekends included.</summary>
    Holiday,
}

/// <summary>
/// A school's term dates reduced to two sets of dates: school days and INSET days. Everything else is a
/// holiday. Term, holiday and INSET dates include both ends. Immutable and thread-safe.
/// </summary>
internal sealed class TermCalendar
{
    private readonly FrozenSet<LocalDate> _schoolDays;
    private readonly FrozenSet<LocalDate> _insetDays;

    public TermCalendar(IEnumerable<LocalDate> schoolDays, IEnumerable<LocalDate> insetDays)
    {
        _schoolDays = schoolDays.ToFrozenSet();
        _insetDays = insetDays.ToFrozenSet();
    }

    public bool IsSchoolDay(LocalDate date) => _schoolDays.Contains(date);

    public bool IsInsetDay(LocalDate date) => _insetDays.Contains(date);

    public bool Matches(LocalDate date, DayFilter filter) => filter switch
    {
        DayFilter.School => IsSchoolDay(date),
        DayFilter.Working => IsSchoolDay(date) || IsInsetDay(date),
        _ => !IsSchoolDay(date) && !IsInsetDay(date),
    };
}
