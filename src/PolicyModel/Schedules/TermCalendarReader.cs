using System.Text.RegularExpressions;
using NodaTime.Text;
using NodaTime;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Schedules;

/// <summary>
/// Reads a term calendar file (<c>terms:</c>, <c>holidays:</c>, <c>inset:</c>) into a <see cref="TermCalendar"/>,
/// reporting every problem with the file's own line and column. Returns null if there were errors.
/// </summary>
internal sealed partial class TermCalendarReader
{
    private static readonly string[] TopKeys = ["terms", "holidays", "inset"];
    private static readonly string[] TermKeys = ["name", "start", "end"];
    private static readonly string[] HolidayKeys = ["name", "date", "start", "end"];
    private static readonly string[] InsetKeys = ["name", "date"];

    private readonly string _file;
    private readonly DiagnosticBag _diagnostics;
    private bool _failed;

    private TermCalendarReader(string file, DiagnosticBag diagnostics)
    {
        _file = file;
        _diagnostics = diagnostics;
    }

    private sealed record Span(string Name, LocalDate Start, LocalDate End, YamlNode Node)
    {
        public bool Overlaps(Span other) => Start <= other.End && other.Start <= End;

        public string Dates => Start == End ? $"{Start:uuuu-MM-dd}" : $"{Start:uuuu-MM-dd} to {End:uuuu-MM-dd}";
    }

    /// <param name="file">The path as written in policy.yaml, relative to <paramref name="policyDirectory"/>; used in diagnostics.</param>
    /// <param name="at">Where the path was written, for a file that cannot be read.</param>
    public static TermCalendar? Read(string file, SourceLocation at, string policyDirectory, DiagnosticBag diagnostics)
    {
        var text = PolicyFiles.ReadText(policyDirectory, file, at, Messages.CalendarUnreadable, "term calendar", diagnostics, PolicyFiles.MaxYamlBytes);
        if (text is null)
        {
            return null;
        }

        return new TermCalendarReader(file, diagnostics).Parse(text);
    }

    private TermCalendar? Parse(string text)
    {
        var stream = YamlSource.Load(_file, text, Error, Messages.CalendarSyntax,
            e => MarkPrefix().Replace(e.Message, ""));
        if (stream is null)
        {
            return null;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var where = stream.Documents.Count == 0 ? new SourceLocation(_file, 1, 1) : At(stream.Documents[0].RootNode);
            Error(where, Messages.CalendarNeedsTermsHolidaysInset);
            return null;
        }

        var terms = new List<Span>();
        var holidays = new List<Span>();
        var inset = new List<(LocalDate Date, YamlNode Node)>();
        var sawTerms = false;
        foreach (var (keyNode, value) in root.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            switch (key)
            {
                case "terms":
                    sawTerms = true;
                    foreach (var item in Items(value, "terms"))
                    {
                        if (ReadSpan(item, "term", terms.Count + 1, TermKeys, allowDate: false) is { } term)
                            terms.Add(term);
                    }

                    break;
                case "holidays":
                    foreach (var item in Items(value, "holidays"))
                    {
                        if (ReadSpan(item, "holiday", holidays.Count + 1, HolidayKeys, allowDate: true) is { } holiday)
                            holidays.Add(holiday);
                    }

                    break;
                case "inset":
                    foreach (var item in Items(value, "inset"))
                    {
                        var dateNode = item;
                        if (item is YamlMappingNode m)
                        {
                            CheckKeys(m, "INSET day", InsetKeys);
                            dateNode = Child(m, "date");
                            if (dateNode is null)
                            {
                                Error(At(item), Messages.InsetNeedsDate);
                                continue;
                            }
                        }

                        if (ReadDate(dateNode) is { } date)
                            inset.Add((date, dateNode));
                    }

                    break;
                default:
                    Error(At(keyNode), Messages.UnknownCalendarKey, key, Suggestions.DidYouMean(key, TopKeys, "; expected terms, holidays or inset"));
                    break;
            }
        }

        if (!sawTerms)
            Error(At(root), Messages.CalendarNeedsTerms);

        var sorted = terms.OrderBy(t => t.Start).ToList();
        for (var i = 1; i < sorted.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (sorted[i].Overlaps(sorted[j]))
                {
                    var (earlier, later) = Order(sorted[i], sorted[j]);
                    Error(At(later.Node), Messages.TermsOverlap, later.Name, later.Dates, earlier.Name, earlier.Dates);
                }
            }
        }

        foreach (var holiday in holidays.Where(h => !terms.Any(h.Overlaps)))
        {
            _diagnostics.WarningOnce(At(holiday.Node), Messages.HolidayOutsideTerms, holiday.Name, holiday.Dates);
        }

        foreach (var (date, node) in inset.Where(d => !terms.Any(t => t.Start <= d.Date && d.Date <= t.End)))
        {
            _diagnostics.WarningOnce(At(node), Messages.InsetOutsideTerms, date);
        }

        if (_failed)
            return null;

        var insetDays = inset.Select(d => d.Date).ToHashSet();
        var schoolDays = new List<LocalDate>();
        foreach (var term in terms)
        {
            for (var d = term.Start; d <= term.End; d = d.PlusDays(1))
            {
                if (d.DayOfWeek < IsoDayOfWeek.Saturday && !insetDays.Contains(d) && !holidays.Any(h => h.Start <= d && d <= h.End))
                    schoolDays.Add(d);
            }
        }

        return new TermCalendar(schoolDays, insetDays);
    }

    private (Span Earlier, Span Later) Order(Span a, Span b) =>
        a.Node.Start.Index <= b.Node.Start.Index ? (a, b) : (b, a);

    private Span? ReadSpan(YamlNode item, string kind, int number, string[] keys, bool allowDate)
    {
        if (item is not YamlMappingNode m)
        {
            var shape = allowDate ? "{ name: ..., date: YYYY-MM-DD } or { name: ..., start: YYYY-MM-DD, end: YYYY-MM-DD }" : "{ name: ..., start: YYYY-MM-DD, end: YYYY-MM-DD }";
            Error(At(item), Messages.CalendarWrongShape, kind, shape);
            return null;
        }

        CheckKeys(m, kind, keys);
        var name = (Child(m, "name") as YamlScalarNode)?.Value is { Length: > 0 } n ? n : $"{kind} {number}";
        var dateNode = allowDate ? Child(m, "date") : null;
        var startNode = Child(m, "start");
        var endNode = Child(m, "end");
        if (dateNode is not null)
        {
            if (startNode is not null || endNode is not null)
            {
                Error(At(dateNode), Messages.CalendarDateAndRange, kind, name);
                return null;
            }

            return ReadDate(dateNode) is { } date ? new Span(name, date, date, m) : null;
        }

        if (startNode is null || endNode is null)
        {
            Error(At(m), allowDate ? Messages.CalendarRangeNeedsDateOrDates : Messages.CalendarRangeNeedsDates, kind, name);
            return null;
        }

        var start = ReadDate(startNode);
        var end = ReadDate(endNode);
        if (start is null || end is null)
            return null;
        if (end < start)
        {
            Error(At(endNode), Messages.EndBeforeStart, kind, name, end, start);
            return null;
        }

        return new Span(name, start.Value, end.Value, m);
    }

    private LocalDate? ReadDate(YamlNode node)
    {
        var text = (node as YamlScalarNode)?.Value ?? "";
        var result = LocalDatePattern.Iso.Parse(text.Trim());
        if (result.Success)
            return result.Value;
        Error(At(node), Messages.BadDate, text);
        return null;
    }

    private IEnumerable<YamlNode> Items(YamlNode value, string key)
    {
        if (value is YamlSequenceNode sequence)
            return sequence.Children;
        if (value is YamlScalarNode { Value: null or "" or "~" or "null" })
            return []; // "holidays:" with nothing after it
        Error(At(value), Messages.CalendarKeyNotAList, key);
        return [];
    }

    private void CheckKeys(YamlMappingNode m, string kind, string[] keys)
    {
        foreach (var keyNode in m.Children.Keys)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            if (!keys.Contains(key))
            {
                Error(At(keyNode), Messages.UnknownCalendarEntryKey, key, kind, Suggestions.DidYouMean(key, keys, $"; expected {string.Join(", ", keys)}"));
            }
        }
    }

    private static YamlNode? Child(YamlMappingNode m, string key) =>
        m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    private SourceLocation At(YamlNode node) => Location(node.Start);

    private SourceLocation Location(Mark mark) => new(_file, (int)mark.Line, (int)mark.Column);

    private void Error(SourceLocation at, DiagnosticMessage message, params object?[] args)
    {
        _failed = true;
        _diagnostics.ErrorOnce(at, message, args);
    }

    // YamlDotNet prefixes messages with "(Line: 3, Col: 5, Idx: 40) - (Line: 3, Col: 6, Idx: 41): "; we print the location ourselves.
    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarkPrefix();
}
