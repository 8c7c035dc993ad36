using PolicyModel.Diagnostics;
using PolicyModel.Files;
using PolicyModel.Schedules;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>
/// The <c>schedules</c> section: each named schedule's YAML into a <see cref="ScheduleSpec"/>, compiled by
/// <see cref="ScheduleCompiler"/> (which reads calendars and timetables through the loader's reader). Fills the
/// context's schedules; a schedule with errors is there as null, so a rule naming it is not also "unknown".
/// </summary>
internal static class ScheduleSectionCompiler
{
    public static void Compile(CompileContext cx, YamlNode? node)
    {
        if (node is null)
        {
            return;
        }

        foreach (var (key, value) in cx.Src.Entries(node, "schedules"))
        {
            var name = key.Value!;
            if (cx.Schedules.ContainsKey(name))
            {
                cx.Src.Error(key, Messages.DuplicateSchedule, name);
                continue;
            }

            var e = cx.Src.Entries(value, $"schedule '{name}'", ["weekly", "calendar", "days", "timetable", "description"]);
            var weekly = new List<WeeklySpec>();
            if (YamlSource.Get(e, "weekly") is { } weeklyNode)
            {
                foreach (var (days, times) in cx.Src.Entries(weeklyNode, $"the weekly windows of '{name}'"))
                {
                    if (cx.Src.Scalar(times, "a time range") is { } t)
                    {
                        weekly.Add(new WeeklySpec(days.Value!, cx.Src.At(days), t, cx.Src.At(times)));
                    }
                }
            }

            var calendarNode = YamlSource.Get(e, "calendar");
            var daysNode = YamlSource.Get(e, "days");
            var timetableNode = YamlSource.Get(e, "timetable");
            var spec = new ScheduleSpec(
                name,
                cx.Src.At(key),
                weekly,
                cx.Src.Scalar(calendarNode, "calendar"),
                calendarNode is null ? default : cx.Src.At(calendarNode),
                cx.Src.Scalar(daysNode, "days"),
                daysNode is null ? default : cx.Src.At(daysNode),
                cx.Src.Scalar(timetableNode, "timetable"),
                timetableNode is null ? default : cx.Src.At(timetableNode));
            cx.Schedules[name] = ScheduleCompiler.Compile(spec, cx.Directory, cx.Zone, cx.Diagnostics, cx.Files.Observe);
        }
    }
}
