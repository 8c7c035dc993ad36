namespace PolicyModel.Documents;

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
/// Codes: PM01xx policy document, PM02xx lists, PM03xx schedules and calendars, PM04xx rules and exceptions,
/// PM05xx identity (networks, users, bindings).
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

    public void Error(SourceLocation at, string code, string message)
    {
        HasErrors = true;
        _items.Add(new Diagnostic(at, DiagnosticSeverity.Error, code, message));
    }

    public void Warning(SourceLocation at, string code, string message) =>
        _items.Add(new Diagnostic(at, DiagnosticSeverity.Warning, code, message));

    public void AddRange(IEnumerable<Diagnostic> diagnostics)
    {
        foreach (var d in diagnostics)
        {
            _items.Add(d);
            HasErrors |= d.Severity == DiagnosticSeverity.Error;
        }
    }
}
