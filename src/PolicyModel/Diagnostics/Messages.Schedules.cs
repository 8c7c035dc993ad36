namespace PolicyModel.Diagnostics;

/// <summary>PM03xx: schedules, term calendars and timetables.</summary>
internal static partial class Messages
{
    // PM0301 schedule with neither `weekly`, `calendar` nor `timetable`
    public static readonly DiagnosticMessage NothingToSchedule = new("PM0301", "schedule '{0}' needs at least one of 'weekly', 'calendar' or 'timetable'");

    // PM0302 unknown day (with a suggestion)
    public static readonly DiagnosticMessage EmptyDayName = new("PM0302", "empty day name in '{0}'");
    public static readonly DiagnosticMessage UnknownDay = new("PM0302", "unknown day '{0}'{1}");

    // PM0303 bad time
    public static readonly DiagnosticMessage BadTimeRange = new("PM0303", "bad time range '{0}'; expected HH:MM-HH:MM (24-hour), several separated by commas, or 'all day'");
    public static readonly DiagnosticMessage BadTimetableTime = new("PM0303", "bad time '{0}'; expected HH:MM (24-hour)");

    // PM0304 empty window or period: start equals end
    public static readonly DiagnosticMessage EmptyPeriod = new("PM0304", "empty period '{0}': start equals end");
    public static readonly DiagnosticMessage EmptyWindow = new("PM0304", "empty window '{0}': start equals end");

    // PM0305 windows or timetable periods overlap
    public static readonly DiagnosticMessage PeriodsOverlap = new("PM0305", "periods overlap for '{0}': {1} {2} ({3}) and {4} {5} ({6})");
    public static readonly DiagnosticMessage WindowsOverlap = new("PM0305", "windows overlap: {0} {1} ({2}) and {3} {4} ({5})");

    // PM0310 term calendar not found or unreadable
    public static readonly DiagnosticMessage CalendarUnreadable = new("PM0310", "cannot read term calendar '{0}': {1}");

    // PM0311 term calendar YAML syntax error
    public static readonly DiagnosticMessage CalendarSyntax = new("PM0311", "cannot parse term calendar: {0}");

    // PM0312 term calendar of the wrong shape (missing `terms`, unknown key, a range without its dates)
    public static readonly DiagnosticMessage CalendarDateAndRange = new("PM0312", "{0} '{1}' has both 'date' and 'start'/'end'; use one or the other");
    public static readonly DiagnosticMessage CalendarKeyNotAList = new("PM0312", "'{0}' must be a list");
    public static readonly DiagnosticMessage CalendarNeedsTerms = new("PM0312", "a term calendar needs 'terms:'");
    public static readonly DiagnosticMessage CalendarNeedsTermsHolidaysInset = new("PM0312", "a term calendar needs 'terms:' (and optionally 'holidays:' and 'inset:')");
    public static readonly DiagnosticMessage CalendarRangeNeedsDateOrDates = new("PM0312", "{0} '{1}' needs 'date', or 'start' and 'end'");
    public static readonly DiagnosticMessage CalendarRangeNeedsDates = new("PM0312", "{0} '{1}' needs 'start' and 'end'");
    public static readonly DiagnosticMessage CalendarWrongShape = new("PM0312", "expected a {0} as {1}");
    public static readonly DiagnosticMessage InsetNeedsDate = new("PM0312", "an INSET day needs 'date'");
    public static readonly DiagnosticMessage UnknownCalendarEntryKey = new("PM0312", "unknown key '{0}' in {1}{2}");
    public static readonly DiagnosticMessage UnknownCalendarKey = new("PM0312", "unknown key '{0}' in term calendar{1}");

    // PM0313 bad date in a term calendar
    public static readonly DiagnosticMessage BadDate = new("PM0313", "bad date '{0}'; expected YYYY-MM-DD");

    // PM0314 term, holiday or INSET range ends before it starts
    public static readonly DiagnosticMessage EndBeforeStart = new("PM0314", "{0} '{1}' ends on {2:uuuu-MM-dd}, before it starts on {3:uuuu-MM-dd}");

    // PM0315 terms overlap
    public static readonly DiagnosticMessage TermsOverlap = new("PM0315", "term '{0}' ({1}) overlaps term '{2}' ({3})");

    // PM0316 holiday or INSET day outside every term (warning)
    public static readonly DiagnosticMessage HolidayOutsideTerms = new("PM0316", "holiday '{0}' ({1}) is outside every term; it has no effect");
    public static readonly DiagnosticMessage InsetOutsideTerms = new("PM0316", "INSET day {0:uuuu-MM-dd} is outside every term; it still counts as a working day");

    // PM0317 unknown `days` value (with a suggestion)
    public static readonly DiagnosticMessage UnknownDaysValue = new("PM0317", "unknown days '{0}'{1}");

    // PM0318 `days` without a `calendar`
    public static readonly DiagnosticMessage DaysWithoutCalendar = new("PM0318", "'days' needs a 'calendar' (a term calendar file)");

    // PM0320 timetable not found or unreadable
    public static readonly DiagnosticMessage TimetableUnreadable = new("PM0320", "cannot read timetable '{0}': {1}");

    // PM0321 bad or missing timetable header
    public static readonly DiagnosticMessage BadTimetableHeader = new("PM0321", "bad timetable header '{0}'; expected 'user,day,start,end' or 'user,day,start,end,label'");
    public static readonly DiagnosticMessage TimetableEmpty = new("PM0321", "timetable is empty; expected a header 'user,day,start,end' or 'user,day,start,end,label'");

    // PM0322 malformed timetable row
    public static readonly DiagnosticMessage TimetableEmptyUser = new("PM0322", "empty user");
    public static readonly DiagnosticMessage TimetableFieldCount = new("PM0322", "expected 4 or 5 fields (user,day,start,end[,label]), found {0}");

    // PM0323 timetable period crosses midnight
    public static readonly DiagnosticMessage PeriodCrossesMidnight = new("PM0323", "period '{0}' ends before it starts; timetable periods cannot cross midnight");
}
