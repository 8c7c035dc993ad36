using PolicyModel.Documents;
using YamlDotNet.RepresentationModel;

namespace FilterService.Admin.Editing;

/// <summary>A schedule as the page shows it: its weekly windows (days to times) and the rest of its parts, as written.</summary>
internal sealed record ScheduleView(string Name, IReadOnlyList<(string Days, string Times)> Weekly, string? Calendar, string? Days, string? Timetable);

/// <summary>
/// Weekly schedules (one line each in <c>schedules:</c>) and the term calendar files they name (terms, holidays,
/// INSET days). A schedule's line is rewritten whole, keeping its <c>calendar</c>, <c>days</c> and <c>timetable</c>;
/// a calendar item is added after the last of its section or removed with its comments. Overlapping windows, bad
/// times and bad dates are the loader's diagnostics (PM03xx), shown by the field they point at.
/// </summary>
internal sealed class ScheduleEditor(PolicyWriter writer)
{
    private static readonly object[] Path = ["schedules"];

    /// <summary>The calendar sections the console edits, in the order the file reference gives them.</summary>
    public static readonly IReadOnlyList<string> CalendarSections = ["terms", "holidays", "inset"];

    public IReadOnlyList<ScheduleView> List()
    {
        if (Layout(PolicyLoader.FileName)?.Get(Path) is not YamlMappingNode map)
        {
            return [];
        }
        return map.Children.Where(c => c.Key is YamlScalarNode).Select(c => new ScheduleView(
            ((YamlScalarNode)c.Key).Value!,
            PolicyEdits.Scalar(c.Value, "weekly") is null && c.Value is YamlMappingNode m && m.Children.FirstOrDefault(e => e.Key is YamlScalarNode { Value: "weekly" }).Value is YamlMappingNode weekly
                ? weekly.Children.Select(w => (((YamlScalarNode)w.Key).Value ?? "", (w.Value as YamlScalarNode)?.Value ?? "")).ToList()
                : [],
            PolicyEdits.Scalar(c.Value, "calendar"), PolicyEdits.Scalar(c.Value, "days"), PolicyEdits.Scalar(c.Value, "timetable"))).ToList();
    }

    /// <summary>The calendar files the schedules name.</summary>
    public IReadOnlyList<string> CalendarFiles() => List().Select(s => s.Calendar).OfType<string>().Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Sets schedule <paramref name="name"/>'s weekly windows (new or existing), keeping its other parts.</summary>
    public Task<FormOutcome> SetWeeklyAsync(string name, IReadOnlyList<(string Days, string Times)> windows, string who, string reason, CancellationToken cancellationToken = default)
    {
        name = name.Trim();
        var rows = windows.Where(w => !string.IsNullOrWhiteSpace(w.Days) || !string.IsNullOrWhiteSpace(w.Times)).ToList();
        if (name.Length == 0)
        {
            return Task.FromResult(FormOutcome.Refused(EditCodes.Error("name", EditCodes.BadValue, "the schedule needs a name")));
        }
        return PolicyEdits.EditYamlAsync(writer, who, reason, PolicyLoader.FileName, layout =>
        {
            var existing = layout.Get([.. Path, name]);
            var map = YamlMap.Of(
                ("weekly", rows.Count > 0 ? new YamlMap(rows.Select(r => new KeyValuePair<string, object>(r.Days.Trim(), r.Times.Trim())).ToList()) : null),
                ("calendar", PolicyEdits.Scalar(existing, "calendar")),
                ("days", PolicyEdits.Scalar(existing, "days")),
                ("timetable", PolicyEdits.Scalar(existing, "timetable")));
            if (map.Entries.Count == 0)
            {
                return YamlEdit.Refuse("weekly", "give at least one window (days and times)");
            }
            return layout.Get(Path) is YamlMappingNode ? layout.SetEntry(Path, name, map) : layout.SetEntry([], "schedules", YamlMap.Of((name, map)));
        }, layout => layout.Get([.. Path, name]), cancellationToken: cancellationToken);
    }

    public Task<FormOutcome> RemoveAsync(string name, string who, string reason, CancellationToken cancellationToken = default) =>
        PolicyEdits.EditYamlAsync(writer, who, reason, PolicyLoader.FileName, layout =>
            layout.Get([.. Path, name]) is null ? YamlEdit.Refuse("name", $"no schedule named '{name}'") : layout.SetEntry(Path, name, null),
            cancellationToken: cancellationToken);

    /// <summary>The items of one calendar section, as written (a term, a holiday range or date, an INSET date).</summary>
    public IReadOnlyList<YamlNode> CalendarItems(string file, string section) =>
        Layout(file)?.Get(section) is YamlSequenceNode s ? s.Children.ToList() : [];

    /// <summary>Adds a term (<paramref name="name"/>, start, end), a holiday (a date, or start and end) or an INSET day.</summary>
    public Task<FormOutcome> AddCalendarAsync(string file, string section, string? name, string? start, string? end, string who, string reason, CancellationToken cancellationToken = default)
    {
        if (!CalendarFiles().Contains(file) || !CalendarSections.Contains(section))
        {
            return Task.FromResult(FormOutcome.Refused(EditCodes.Error("section", EditCodes.BadValue, $"no calendar section '{section}' in '{file}' the console edits")));
        }
        var single = string.IsNullOrWhiteSpace(end) || section == "inset";
        var map = section == "terms"
            ? YamlMap.Of(("name", name?.Trim()), ("start", start?.Trim()), ("end", end?.Trim()))
            : single ? YamlMap.Of(("name", name?.Trim()), ("date", start?.Trim())) : YamlMap.Of(("name", name?.Trim()), ("start", start?.Trim()), ("end", end?.Trim()));
        return PolicyEdits.EditYamlAsync(writer, who, reason, file, layout =>
        {
            var count = layout.Get(section) is YamlSequenceNode s ? s.Children.Count : 0;
            return layout.InsertItem([section], count, map);
        }, layout => layout.Get(section) is YamlSequenceNode s && s.Children.Count > 0 ? s.Children[^1] : null, cancellationToken: cancellationToken);
    }

    public Task<FormOutcome> RemoveCalendarAsync(string file, string section, int index, string who, string reason, CancellationToken cancellationToken = default) =>
        PolicyEdits.EditYamlAsync(writer, who, reason, file, layout =>
            CalendarFiles().Contains(file) && layout.Get(section) is YamlSequenceNode s && index >= 0 && index < s.Children.Count
                ? layout.RemoveItem([section], index)
                : YamlEdit.Refuse("section", $"no item {index} in '{section}' of '{file}'"),
            cancellationToken: cancellationToken);

    private YamlLayout? Layout(string file)
    {
        try
        {
            return YamlLayout.Parse(writer.Read(file) ?? "");
        }
        catch (YamlDotNet.Core.YamlException)
        {
            return null;
        }
    }
}
