namespace PolicyModel.Schedules;

/// <summary>
/// Diagnostic codes for schedules, term calendars and timetables (the PM03xx range). The same class of
/// problem has the same code wherever it is written (policy.yaml or a timetable CSV).
/// </summary>
internal static class ScheduleCodes
{
    public const string NothingToSchedule = "PM0301";
    public const string UnknownDay = "PM0302";
    public const string BadTime = "PM0303";
    public const string EmptyWindow = "PM0304";
    public const string Overlap = "PM0305";

    public const string CalendarNotFound = "PM0310";
    public const string CalendarSyntax = "PM0311";
    public const string CalendarShape = "PM0312";
    public const string BadDate = "PM0313";
    public const string EndBeforeStart = "PM0314";
    public const string TermsOverlap = "PM0315";
    public const string OutsideTerms = "PM0316";
    public const string UnknownDaysValue = "PM0317";
    public const string DaysWithoutCalendar = "PM0318";

    public const string TimetableNotFound = "PM0320";
    public const string TimetableHeader = "PM0321";
    public const string TimetableRow = "PM0322";
    public const string PeriodCrossesMidnight = "PM0323";
}
