using NodaTime;
using PolicyModel.Diagnostics;

namespace PolicyModel.Schedules;

public static class ScheduleCompiler
{
    private static readonly string[] DayFilters = ["school", "working", "holiday"];

    /// <summary>
    /// Validates and compiles one schedule. Reports every problem (PM03xx) into <paramref name="diagnostics"/> and
    /// returns null if there were errors. Calendar and timetable paths are relative to <paramref name="policyDirectory"/>.
    /// </summary>
    public static Schedule? Compile(ScheduleSpec spec, string policyDirectory, DateTimeZone zone, DiagnosticBag diagnostics)
    {
        // Failure is decided from what each part returned, not by counting errors: a file shared with another
        // schedule reports its problems only once.
        var weekly = spec.Weekly.Count > 0 ? CompileWeekly(spec.Weekly, policyDirectory, diagnostics) : null;
        var failed = spec.Weekly.Count > 0 && weekly is null;

        var filter = DayFilter.Working;
        if (spec.Days is not null)
        {
            switch (spec.Days.Trim().ToLowerInvariant())
            {
                case "school": filter = DayFilter.School; break;
                case "working": filter = DayFilter.Working; break;
                case "holiday": filter = DayFilter.Holiday; break;
                default:
                    failed = true;
                    diagnostics.Error(spec.DaysAt, Messages.UnknownDaysValue, spec.Days, Suggestions.DidYouMean(spec.Days.Trim(), DayFilters, "; expected school, working or holiday"));
                    break;
            }

            if (spec.Calendar is null)
            {
                failed = true;
                diagnostics.Error(spec.DaysAt, Messages.DaysWithoutCalendar);
            }
        }

        var calendar = spec.Calendar is null ? null : TermCalendarReader.Read(spec.Calendar, spec.CalendarAt, policyDirectory, diagnostics);
        var timetable = spec.Timetable is null ? null : TimetableReader.Read(spec.Timetable, spec.TimetableAt, policyDirectory, diagnostics);
        failed |= (spec.Calendar is not null && calendar is null) || (spec.Timetable is not null && timetable is null);

        if (spec.Weekly.Count == 0 && spec.Calendar is null && spec.Timetable is null)
        {
            failed = true;
            diagnostics.Error(spec.At, Messages.NothingToSchedule, spec.Name);
        }

        return failed ? null : new Schedule(spec.Name, zone, weekly, calendar, filter, timetable);
    }

    private static WeekTable? CompileWeekly(IReadOnlyList<WeeklySpec> lines, string policyDirectory, DiagnosticBag diagnostics)
    {
        var ok = true;
        var builder = new WeekTable.Builder();
        var origins = new List<(TimeWindow Window, SourceLocation At)>();
        var source = new ScalarLocator(policyDirectory);
        foreach (var line in lines)
        {
            var daysOk = DaySet.TryParse(line.Days, out var days, out var dayError, out var dayOffset);
            if (!daysOk)
                diagnostics.Error(source.Locate(line.DaysAt, line.Days, dayOffset), dayError!.Value);

            if (!TimeWindow.TryParseList(line.Times, out var windows, out var timeError, out var timeOffset))
            {
                diagnostics.Error(source.Locate(line.TimesAt, line.Times, timeOffset), timeError!.Value);
                ok = false;
                continue;
            }

            foreach (var (window, offset) in windows)
            {
                var at = source.Locate(line.TimesAt, line.Times, offset);
                if (window.Start == window.End)
                {
                    diagnostics.Error(at, Messages.EmptyWindow, window);
                    ok = false;
                    continue;
                }

                if (!daysOk)
                    continue;
                origins.Add((window, at));
                foreach (var day in days.Days)
                    builder.Add(day, window, origins.Count - 1);
            }

            ok &= daysOk;
        }

        var table = builder.Build((a, aDay, b, bDay) =>
        {
            ok = false;
            var (first, second) = (origins[a], origins[b]);
            diagnostics.Error(second.At, Messages.WindowsOverlap, DaySet.Name(aDay), first.Window, first.At, DaySet.Name(bDay), second.Window, second.At);
        });
        return ok ? table : null;
    }
}
