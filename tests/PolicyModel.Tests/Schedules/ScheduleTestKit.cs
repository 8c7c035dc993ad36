using NodaTime.Text;
using NodaTime;
using PolicyModel.Diagnostics;
using PolicyModel.Documents;
using PolicyModel.Schedules;

namespace PolicyModel.Tests.Schedules;

/// <summary>Builds schedule specs the way the policy.yaml parser would, and compiles them against the fixtures.</summary>
internal static class ScheduleTestKit
{
    public static readonly DateTimeZone London = DateTimeZoneProviders.Tzdb["Europe/London"];

    public static readonly string PolicyDirectory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "schedules");

    /// <summary>A weekly line as if written at <c>policy.yaml:line:5</c> (days) and <c>policy.yaml:line:20</c> (times).</summary>
    public static WeeklySpec Line(string days, string times, int line = 3) =>
        new(days, new SourceLocation("policy.yaml", line, 5), times, new SourceLocation("policy.yaml", line, 20));

    public static ScheduleSpec Spec(
        string name = "test",
        IReadOnlyList<WeeklySpec>? weekly = null,
        string? calendar = null,
        string? days = null,
        string? timetable = null) =>
        new(name, new SourceLocation("policy.yaml", 2, 3),
            weekly ?? [],
            calendar, new SourceLocation("policy.yaml", 2, 30),
            days, new SourceLocation("policy.yaml", 2, 60),
            timetable, new SourceLocation("policy.yaml", 2, 40));

    public static ScheduleSpec Weekly(params (string Days, string Times)[] lines) =>
        Spec(weekly: lines.Select((l, i) => Line(l.Days, l.Times, 3 + i)).ToList());

    /// <summary>Compiles and fails the test if there were any diagnostics at all.</summary>
    public static Schedule Compile(ScheduleSpec spec, DateTimeZone? zone = null)
    {
        var bag = new DiagnosticBag();
        var schedule = ScheduleCompiler.Compile(spec, PolicyDirectory, zone ?? London, bag);
        Assert.Empty(bag.Items.Select(d => d.ToString()));
        Assert.NotNull(schedule);
        return schedule;
    }

    /// <summary>Compiles expecting failure; returns every diagnostic as printed. <paramref name="subdirectory"/> of the fixtures is the policy directory.</summary>
    public static string[] Diagnose(ScheduleSpec spec, string? subdirectory = null)
    {
        var bag = new DiagnosticBag();
        var directory = subdirectory is null ? PolicyDirectory : Path.Combine(PolicyDirectory, subdirectory);
        var schedule = ScheduleCompiler.Compile(spec, directory, London, bag);
        Assert.Null(schedule);
        return bag.Items.Select(d => d.ToString()).ToArray();
    }

    /// <summary>Every diagnostic, warnings included, from a compile that may succeed.</summary>
    public static (Schedule? Schedule, string[] Diagnostics) CompileWithDiagnostics(ScheduleSpec spec)
    {
        var bag = new DiagnosticBag();
        var schedule = ScheduleCompiler.Compile(spec, PolicyDirectory, London, bag);
        return (schedule, bag.Items.Select(d => d.ToString()).ToArray());
    }

    /// <summary>An instant from ISO UTC text: <c>2026-03-29T00:30:00Z</c>.</summary>
    public static Instant Utc(string text) => InstantPattern.General.Parse(text).GetValueOrThrow();

    /// <summary>An instant from London wall-clock text (<c>2026-11-16T10:00</c>); must be unambiguous.</summary>
    public static Instant LondonTime(string localText) =>
        LocalDateTimePattern.CreateWithInvariantCulture("uuuu-MM-dd'T'HH:mm").Parse(localText).GetValueOrThrow().InZoneStrictly(London).ToInstant();
}
