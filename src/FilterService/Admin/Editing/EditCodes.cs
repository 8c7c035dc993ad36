using PolicyModel.Diagnostics;

namespace FilterService.Admin.Editing;

/// <summary>
/// The console's own diagnostic codes (FS013x), one code, one problem; everything else a console edit can meet is the
/// loader's own diagnostic (PMxxxx) or the live reload's statutory checks (FS0101-FS0104), exactly as a hand edit.
/// </summary>
internal static class EditCodes
{
    /// <summary>Every change needs a reason: the history records it.</summary>
    public const string ReasonRequired = "FS0130";

    /// <summary>A file path outside the policy directory, absolute, hidden or with <c>..</c>.</summary>
    public const string BadPath = "FS0131";

    /// <summary>The file changed on disk since the page read it (a hand edit, another admin): nothing written.</summary>
    public const string Conflict = "FS0132";

    /// <summary>A statutory list, or an edit that would weaken a statutory category: read only in the console.</summary>
    public const string Statutory = "FS0133";

    /// <summary>The files were written but the live reload refused them (or did not answer in time): rolled back.</summary>
    public const string NotLive = "FS0134";

    /// <summary>A value typed in a form that the loader would not accept (a list entry, a time, a date, a name).</summary>
    public const string BadValue = "FS0135";

    public static Diagnostic Error(string file, string code, string message, int line = 0, int column = 0) =>
        new(new SourceLocation(file, line, column), DiagnosticSeverity.Error, code, message);

    /// <summary>
    /// A reload problem line (<c>FILE: error CODE: message</c>, as <see cref="Policy.PolicyStore"/> writes them) as a
    /// diagnostic, so the page can show it like any other.
    /// </summary>
    public static Diagnostic FromLine(string line)
    {
        var marker = line.IndexOf(": error ", StringComparison.Ordinal);
        var severity = DiagnosticSeverity.Error;
        if (marker < 0)
        {
            marker = line.IndexOf(": warning ", StringComparison.Ordinal);
            severity = DiagnosticSeverity.Warning;
        }
        if (marker < 0)
        {
            return Error("policy.yaml", NotLive, line);
        }
        var where = line[..marker];
        var rest = line[(marker + (severity == DiagnosticSeverity.Error ? 8 : 10))..];
        var colon = rest.IndexOf(": ", StringComparison.Ordinal);
        var (code, message) = colon > 0 ? (rest[..colon], rest[(colon + 2)..]) : (NotLive, rest);
        var parts = where.Split(':');
        var location = parts.Length >= 3 && int.TryParse(parts[^2], out var l) && int.TryParse(parts[^1], out var c)
            ? new SourceLocation(string.Join(':', parts[..^2]), l, c)
            : new SourceLocation(where, 0, 0);
        return new Diagnostic(location, severity, code, message);
    }
}
