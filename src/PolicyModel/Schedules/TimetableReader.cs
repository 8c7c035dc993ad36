using NodaTime;
using PolicyModel.Diagnostics;
using PolicyModel.Files;

namespace PolicyModel.Schedules;

/// <summary>
/// Reads a timetable CSV: header <c>user,day,start,end[,label]</c>, then one period per row, e.g.
/// <c>staff1,mon,10:40,11:40,P3 non-contact</c>. Blank lines and lines starting with <c>#</c> are skipped; fields are
/// not quoted, so a label cannot contain a comma. Every problem is reported at <c>file:line:column</c> of the bad field;
/// returns null if there were errors.
/// </summary>
internal static class TimetableReader
{
    private sealed record Period(string User, IsoDayOfWeek Day, TimeWindow Window, SourceLocation At);

    public static Timetable? Read(string file, SourceLocation at, string policyDirectory, DiagnosticBag diagnostics)
    {
        var text = PolicyFiles.ReadText(policyDirectory, file, at, Messages.TimetableUnreadable, "timetable", diagnostics);
        if (text is null)
        {
            return null;
        }

        var lines = text.ReplaceLineEndings("\n").Split('\n');
        var failed = false;
        void Error(int line, int column, DiagnosticMessage message, params object?[] args)
        {
            failed = true;
            diagnostics.ErrorOnce(new SourceLocation(file, line, column), message, args);
        }

        var periods = new List<Period>();
        var sawHeader = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var lineNumber = i + 1;
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#'))
                continue;

            var fields = Fields(line);
            if (!sawHeader)
            {
                sawHeader = true;
                var names = fields.Select(f => f.Text.ToLowerInvariant()).ToArray();
                if (!(names is ["user", "day", "start", "end"] or ["user", "day", "start", "end", "label"]))
                {
                    Error(lineNumber, 1, Messages.BadTimetableHeader, line.Trim());
                    break;
                }

                continue;
            }

            if (fields.Count is < 4 or > 5)
            {
                Error(lineNumber, 1, Messages.TimetableFieldCount, fields.Count);
                continue;
            }

            var (user, userColumn) = fields[0];
            if (user.Length == 0)
            {
                Error(lineNumber, userColumn, Messages.TimetableEmptyUser);
                continue;
            }

            if (!DaySet.TryParse(fields[1].Text, out var days, out var dayError, out var dayOffset))
            {
                Error(lineNumber, fields[1].Column + dayOffset, dayError!.Value.Message, dayError.Value.Args);
                continue;
            }

            var startOk = TimeWindow.TryParseTime(fields[2].Text, allow2400: false, out var start);
            if (!startOk)
                Error(lineNumber, fields[2].Column, Messages.BadTimetableTime, fields[2].Text);
            var endOk = TimeWindow.TryParseTime(fields[3].Text, allow2400: true, out var end);
            if (!endOk)
                Error(lineNumber, fields[3].Column, Messages.BadTimetableTime, fields[3].Text);
            if (!startOk || !endOk)
                continue;

            var window = new TimeWindow(start, end);
            if (start == end)
            {
                Error(lineNumber, fields[2].Column, Messages.EmptyPeriod, window);
                continue;
            }

            if (end < start)
            {
                Error(lineNumber, fields[3].Column, Messages.PeriodCrossesMidnight, window);
                continue;
            }

            foreach (var day in days.Days)
                periods.Add(new Period(user, day, window, new SourceLocation(file, lineNumber, userColumn)));
        }

        if (!sawHeader)
        {
            Error(1, 1, Messages.TimetableEmpty);
        }

        var users = new Dictionary<string, WeekTable>(StringComparer.OrdinalIgnoreCase);
        foreach (var group in periods.GroupBy(p => p.User, StringComparer.OrdinalIgnoreCase))
        {
            var list = group.ToList();
            var builder = new WeekTable.Builder();
            for (var i = 0; i < list.Count; i++)
                builder.Add(list[i].Day, list[i].Window, i);
            users[group.Key] = builder.Build((a, aDay, b, bDay) =>
            {
                var (first, second) = (list[a], list[b]);
                failed = true;
                diagnostics.ErrorOnce(second.At, Messages.PeriodsOverlap, second.User, DaySet.Name(aDay), first.Window, first.At, DaySet.Name(bDay), second.Window, second.At);
            });
        }

        return failed ? null : new Timetable(users);
    }

    private static List<(string Text, int Column)> Fields(string line)
    {
        var fields = new List<(string, int)>();
        var start = 0;
        while (true)
        {
            var comma = line.IndexOf(',', start);
            var raw = comma < 0 ? line[start..] : line[start..comma];
            var leading = raw.Length - raw.TrimStart().Length;
            fields.Add((raw.Trim(), start + leading + 1));
            if (comma < 0)
                return fields;
            start = comma + 1;
        }
    }
}
