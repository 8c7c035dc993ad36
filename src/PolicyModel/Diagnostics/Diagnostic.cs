namespace PolicyModel.Diagnostics;

/// <summary>How serious a <see cref="Diagnostic"/> is. Errors reject a policy; warnings are reported and the policy still loads.</summary>
public enum DiagnosticSeverity
{
    Error,
    Warning,
}

/// <summary>
/// A place in a policy file. <see cref="File"/> is relative to the policy directory
/// (<c>policy.yaml</c>, <c>lists/social.txt</c>); line and column are 1-based, 0 when unknown.
/// </summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}" : File;
}

/// <summary>
/// One problem found while loading a policy, printed as
/// <c>policy.yaml:12:5: error PM0103: unknown role 'staf'; did you mean 'staff'?</c>.
/// Codes and messages come from one table, <see cref="Messages"/> (one code, one problem); the FS codes of the
/// service's own checks are built directly.
/// </summary>
public sealed record Diagnostic(SourceLocation Location, DiagnosticSeverity Severity, string Code, string Message)
{
    public override string ToString() =>
        $"{Location}: {(Severity == DiagnosticSeverity.Error ? "error" : "warning")} {Code}: {Message}";
}

/// <summary>Collects every problem instead of stopping at the first. Not thread-safe.</summary>
public sealed class DiagnosticBag
{
    private readonly List<Diagnostic> _items = new();

    public IReadOnlyList<Diagnostic> Items => _items;

    public bool HasErrors { get; private set; }

    /// <summary>Reports <paramref name="message"/> (from <see cref="Messages"/>) at <paramref name="at"/> as an error.</summary>
    public void Error(SourceLocation at, DiagnosticMessage message, params object?[] args) =>
        Add(new Diagnostic(at, DiagnosticSeverity.Error, message.Code, message.Format(args)));

    /// <summary>Reports <paramref name="message"/> (from <see cref="Messages"/>) at <paramref name="at"/> as a warning.</summary>
    public void Warning(SourceLocation at, DiagnosticMessage message, params object?[] args) =>
        Add(new Diagnostic(at, DiagnosticSeverity.Warning, message.Code, message.Format(args)));

    /// <summary>Reports a parser's <paramref name="problem"/> at <paramref name="at"/> as an error.</summary>
    public void Error(SourceLocation at, Problem problem) => Error(at, problem.Message, problem.Args);

    /// <summary>Reports a parser's <paramref name="problem"/> unless the same diagnostic is already here.</summary>
    public void ErrorOnce(SourceLocation at, Problem problem) => ErrorOnce(at, problem.Message, problem.Args);

    /// <summary>Reports <paramref name="message"/> unless the same diagnostic is already here: a file several schedules share is reported once.</summary>
    public void ErrorOnce(SourceLocation at, DiagnosticMessage message, params object?[] args) =>
        AddOnce(new Diagnostic(at, DiagnosticSeverity.Error, message.Code, message.Format(args)));

    /// <summary>As <see cref="ErrorOnce"/>, for a warning.</summary>
    public void WarningOnce(SourceLocation at, DiagnosticMessage message, params object?[] args) =>
        AddOnce(new Diagnostic(at, DiagnosticSeverity.Warning, message.Code, message.Format(args)));

    public void Add(Diagnostic diagnostic)
    {
        _items.Add(diagnostic);
        HasErrors |= diagnostic.Severity == DiagnosticSeverity.Error;
    }

    private void AddOnce(Diagnostic diagnostic)
    {
        if (!_items.Contains(diagnostic))
        {
            Add(diagnostic);
        }
    }

    public void AddRange(IEnumerable<Diagnostic> diagnostics)
    {
        foreach (var d in diagnostics)
        {
            Add(d);
        }
    }
}
