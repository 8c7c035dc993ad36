using FilterService.Admin.History;
using FilterService.Policy;
using PolicyModel.Diagnostics;
using PolicyModel.Documents;

namespace FilterService.Admin.Editing;

/// <summary>What became of a console edit: applied (live, recorded) or not, and every diagnostic to show by its field.</summary>
internal sealed record EditOutcome(bool Applied, IReadOnlyList<Diagnostic> Diagnostics, ChangeEntry? Entry = null, string? Version = null)
{
    public IEnumerable<Diagnostic> Errors => Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error);

    public static EditOutcome Refused(params Diagnostic[] diagnostics) => new(false, diagnostics);
}

/// <summary>
/// The one way the console changes the policy directory (issue 18, "one truth on disk"). A change is a set of whole
/// files (<see cref="FileChange"/>), applied as one:
/// <list type="number">
/// <item>the reason is required and every path must be a plain relative path inside the directory, not through a link;</item>
/// <item>under <see cref="PolicyDirectoryGate"/>, each file must still hold the <c>Before</c> text the edit was made
/// from (a hand edit or another admin meanwhile is a conflict, FS0132), and no statutory list may be touched (FS0133);</item>
/// <item>the directory is staged (<see cref="PolicyStaging"/>: links, not copies) and loaded by the same
/// <see cref="PolicyLoader"/> as a hand edit, with the same statutory checks as the live reload; any error and
/// nothing is written: the located diagnostics are returned;</item>
/// <item>each file is written atomically (<see cref="AtomicFile"/>), then the reload path SIGHUP uses
/// (<see cref="PolicyStore.Reload"/>) is run and awaited (bounded by <see cref="LiveTimeout"/>); a reload that refuses
/// the files (the statutory shrink guard, say) is rolled back to the <c>Before</c> texts and reported;</item>
/// <item>the live change is recorded in <see cref="IChangeHistory"/> with the new policy version, still under the gate,
/// so the hand-edit detector never mistakes it for a file edit.</item>
/// </list>
/// </summary>
internal sealed partial class PolicyWriter(
    PolicyStore store, PolicyDirectoryGate gate, IChangeHistory history, TimeProvider time, ILogger<PolicyWriter> logger)
{
    /// <summary>How long to wait for the reload to make the change live; a 1.4M-entry policy reloads in seconds.</summary>
    public TimeSpan LiveTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>The live policy directory.</summary>
    public string Directory => store.Directory;

    /// <summary>The text of one file of the policy directory now (null when absent): what an edit's <c>Before</c> is made from.</summary>
    public string? Read(string path) => AtomicFile.Read(Path.Combine(store.Directory, path));

    /// <summary>Applies <paramref name="change"/> as described on the class. Never throws for a bad edit.</summary>
    public async Task<EditOutcome> ApplyAsync(PolicyChange change, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(change.Reason))
        {
            return EditOutcome.Refused(EditCodes.Error("reason", EditCodes.ReasonRequired, "a reason is required: the change history records why"));
        }
        if (string.IsNullOrWhiteSpace(change.Who))
        {
            return EditOutcome.Refused(EditCodes.Error("reason", EditCodes.ReasonRequired, "the change has no author"));
        }
        var problems = change.Files.Select(f => (f.Path, Problem: EditPaths.Check(store.Directory, f.Path)))
            .Where(p => p.Problem is not null).Select(p => EditCodes.Error(p.Path, EditCodes.BadPath, p.Problem!)).ToArray();
        if (problems.Length > 0 || change.Files.Count == 0)
        {
            return EditOutcome.Refused(problems.Length > 0 ? problems : [EditCodes.Error("policy.yaml", EditCodes.BadValue, "the edit changes no file")]);
        }
        if (change.Files.GroupBy(f => f.Path, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            return EditOutcome.Refused(EditCodes.Error(twice.Key, EditCodes.BadPath, $"'{twice.Key}' is named twice in one change"));
        }

        using var held = await gate.EnterAsync(cancellationToken);
        var refusal = Conflicts(change).Concat(StatutoryFiles(change)).ToArray();
        if (refusal.Length > 0)
        {
            return EditOutcome.Refused(refusal);
        }

        var files = change.Files.ToDictionary(f => f.Path, f => f.After, StringComparer.Ordinal);
        var staged = Stage(files);
        if (staged.Any(d => d.Severity == DiagnosticSeverity.Error))
        {
            LogRefused(logger, staged.Count(d => d.Severity == DiagnosticSeverity.Error));
            return new EditOutcome(false, staged);
        }

        Write(change.Files, f => f.After);
        PolicyLoadReport report;
        try
        {
            report = await Task.Run(() => store.Reload("console"), cancellationToken).WaitAsync(LiveTimeout, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // The files are valid and on disk; the reload still runs and will make them live. Recorded as written.
            LogSlow(logger, LiveTimeout);
            var pending = await history.RecordAsync(change, time.GetUtcNow(), "pending", CancellationToken.None);
            return new EditOutcome(true, [.. staged, EditCodes.Error("policy.yaml", EditCodes.NotLive,
                $"written, but the reload did not finish within {LiveTimeout.TotalSeconds:0} s; it will apply when it does") with { Severity = DiagnosticSeverity.Warning }], pending);
        }

        if (!report.Succeeded)
        {
            // The live reload refused what the staged load accepted (the statutory shrink guard keeps its own state):
            // put the files back as they were and reload them, so disk and the live policy agree again.
            Write(change.Files, f => f.Before);
            await Task.Run(() => store.Reload("console rollback"), CancellationToken.None).WaitAsync(LiveTimeout, time, CancellationToken.None);
            LogRolledBack(logger, report.Diagnostics.Count);
            return new EditOutcome(false, [.. report.Diagnostics.Select(EditCodes.FromLine),
                EditCodes.Error("policy.yaml", EditCodes.NotLive, "the live reload refused the edit; the files were put back as they were")]);
        }

        var entry = await history.RecordAsync(change, time.GetUtcNow(), report.Version!, CancellationToken.None);
        LogApplied(logger, change.Files.Count, report.Version!, entry.Id);
        return new EditOutcome(true, staged, entry, report.Version);
    }

    private IEnumerable<Diagnostic> Conflicts(PolicyChange change)
    {
        foreach (var file in change.Files)
        {
            if (!string.Equals(Read(file.Path), file.Before, StringComparison.Ordinal))
            {
                yield return EditCodes.Error(file.Path, EditCodes.Conflict,
                    $"'{file.Path}' changed on disk after this page read it (a hand edit or another admin); nothing was written: reload the page and edit again");
            }
        }
    }

    /// <summary>Statutory lists are read only in the console: the law's lists are changed by their feed or by hand.</summary>
    private IEnumerable<Diagnostic> StatutoryFiles(PolicyChange change)
    {
        var policy = store.Current;
        var statutory = policy.Lists.Where(l => policy.Categories.Any(c => c.Statutory && c.Name == l.Category)).Select(l => l.Path).ToArray();
        foreach (var file in change.Files)
        {
            if (statutory.FirstOrDefault(s => file.Path == s || file.Path.StartsWith(s + "/", StringComparison.Ordinal)) is { } list)
            {
                yield return EditCodes.Error(file.Path, EditCodes.Statutory, $"'{list}' is a statutory list; it cannot be changed from the console");
            }
        }
    }

    /// <summary>The diagnostics of the staged directory: the loader's, then the live reload's statutory checks.</summary>
    private List<Diagnostic> Stage(IReadOnlyDictionary<string, string?> files)
    {
        using var stage = PolicyStaging.Create(store.Directory, files);
        var result = PolicyLoader.Load(stage.Directory, time);
        // A message that names the directory names the live one, not the private copy.
        var diagnostics = result.Diagnostics.Select(d => d with { Message = d.Message.Replace(stage.Directory, store.Directory, StringComparison.Ordinal) }).ToList();
        if (result.Snapshot is { } snapshot)
        {
            diagnostics.AddRange(PolicyStore.StatutoryProblems(snapshot, store.Current).Select(EditCodes.FromLine));
        }
        return diagnostics;
    }

    /// <summary>Lists and other files first, policy.yaml last: a reload racing the writes meets a new list before the policy that names it.</summary>
    private void Write(IEnumerable<FileChange> files, Func<FileChange, string?> text)
    {
        foreach (var file in files.OrderBy(f => f.Path == PolicyLoader.FileName ? 1 : 0))
        {
            AtomicFile.Put(Path.Combine(store.Directory, file.Path), text(file));
        }
    }

    [LoggerMessage(EventId = 1800, Level = LogLevel.Information, Message = "Console edit applied: {Files} file(s), policy version {Version}, history entry {Entry}")]
    private static partial void LogApplied(ILogger logger, int files, string version, long entry);

    [LoggerMessage(EventId = 1801, Level = LogLevel.Information, Message = "Console edit refused by the loader with {Errors} error(s); nothing written")]
    private static partial void LogRefused(ILogger logger, int errors);

    [LoggerMessage(EventId = 1802, Level = LogLevel.Error, Message = "Console edit refused by the live reload with {Count} diagnostic(s); the files were put back")]
    private static partial void LogRolledBack(ILogger logger, int count);

    [LoggerMessage(EventId = 1803, Level = LogLevel.Warning, Message = "Console edit written but the reload did not finish within {Timeout}")]
    private static partial void LogSlow(ILogger logger, TimeSpan timeout);
}
