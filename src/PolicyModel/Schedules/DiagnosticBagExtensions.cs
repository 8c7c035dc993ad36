using PolicyModel.Documents;

namespace PolicyModel.Schedules;

/// <summary>
/// Reporting problems found inside a calendar or timetable file. Several schedules may name the same file and
/// each compiles it; the file's problems are reported once, not once per schedule.
/// </summary>
internal static class DiagnosticBagExtensions
{
    public static void ErrorOnce(this DiagnosticBag bag, SourceLocation at, string code, string message)
    {
        if (!Contains(bag, at, DiagnosticSeverity.Error, code, message))
            bag.Error(at, code, message);
    }

    public static void WarningOnce(this DiagnosticBag bag, SourceLocation at, string code, string message)
    {
        if (!Contains(bag, at, DiagnosticSeverity.Warning, code, message))
            bag.Warning(at, code, message);
    }

    private static bool Contains(DiagnosticBag bag, SourceLocation at, DiagnosticSeverity severity, string code, string message)
    {
        var wanted = new Diagnostic(at, severity, code, message);
        foreach (var d in bag.Items)
        {
            if (d == wanted)
                return true;
        }

        return false;
    }
}
