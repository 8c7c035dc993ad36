using FilterService.Admin.History;

namespace FilterService.Admin.Editing;

/// <summary>What became of a revert: applied (the editing outcome has the new entry), or refused with why.</summary>
internal sealed record RevertOutcome(bool Applied, string? Refusal, EditOutcome? Edit = null);

/// <summary>
/// Reverts entry N: puts back the <c>Before</c> of every file it changed, through the editing feature's
/// <see cref="PolicyWriter"/> (staged and loaded by the loader, written atomically under the gate, recorded with
/// <see cref="ChangeSource.Revert"/> and <c>Reverts = N</c>, reloaded). Refused, naming the file, when a file changed
/// since N (a later change would be silently undone), when a file is kept by summary only (its text is not in the
/// history), and for the baseline (it would delete the policy).
/// </summary>
internal sealed class HistoryReverter(IChangeHistory history, PolicyWriter writer)
{
    public async Task<RevertOutcome> RevertAsync(long id, string who, string reason, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            return new RevertOutcome(false, "a reason is required: the change history records why");
        }
        if (await history.GetAsync(id, cancellationToken) is not { } entry)
        {
            return new RevertOutcome(false, $"entry {id} does not exist");
        }
        if (entry.Change.Source == ChangeSource.Baseline)
        {
            return new RevertOutcome(false, $"entry {id} is the baseline (the directory when the history started); it cannot be reverted");
        }
        var files = new List<FileChange>();
        foreach (var file in entry.Change.Files)
        {
            if (file.Tracking == FileTracking.Summary)
            {
                return new RevertOutcome(false, $"'{file.Path}' is kept in the history by its hash only, not its text; entry {id} cannot be reverted here (restore the file from a backup)");
            }
            var now = writer.Read(file.Path);
            if (!string.Equals(now, file.After, StringComparison.Ordinal))
            {
                return new RevertOutcome(false, $"'{file.Path}' changed since entry {id}; reverting it would undo the later change too: revert the later entries first, or edit it");
            }
            files.Add(new FileChange(file.Path, now, file.Before));
        }
        var outcome = await writer.ApplyAsync(new PolicyChange(who, reason, ChangeSource.Revert, files, id), cancellationToken);
        return outcome.Applied
            ? new RevertOutcome(true, null, outcome)
            : new RevertOutcome(false, string.Join("; ", outcome.Errors.Select(d => d.ToString())), outcome);
    }
}
