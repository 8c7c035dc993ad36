namespace FilterService.Admin.History;

/// <summary>Who made a change: a console account, or a hand edit found at reload.</summary>
internal enum ChangeSource
{
    /// <summary>Made in the console by <see cref="PolicyChange.Who"/> (an admin account name).</summary>
    Console,
    /// <summary>A file in the policy directory changed outside the console; found at reload, <c>Who</c> is "file edit".</summary>
    FileEdit,
    /// <summary>A console revert of an earlier entry (<see cref="PolicyChange.Reverts"/>).</summary>
    Revert,
}

/// <summary>One file's content before and after a change, relative to the policy directory; null when absent.</summary>
internal sealed record FileChange(string Path, string? Before, string? After);

/// <summary>A change to the policy directory, as recorded: every file it touched, whole, before and after.</summary>
internal sealed record PolicyChange(
    string Who,
    string Reason,
    ChangeSource Source,
    IReadOnlyList<FileChange> Files,
    long? Reverts = null);

/// <summary>A recorded change with its place in the hash chain.</summary>
internal sealed record ChangeEntry(
    long Id,
    DateTimeOffset At,
    PolicyChange Change,
    string PolicyVersion,
    string PreviousHash,
    string Hash);

/// <summary>
/// The change history of the policy directory (issue 18): append-only and tamper-evident (each entry carries the hash
/// of the one before). SQLite (<see cref="ConsoleDatabase"/>) by default; a trust's central PostgreSQL can implement
/// the same interface.
/// </summary>
internal interface IChangeHistory
{
    /// <summary>Appends <paramref name="change"/> as applied at <paramref name="at"/>, giving policy version <paramref name="policyVersion"/>.</summary>
    Task<ChangeEntry> RecordAsync(PolicyChange change, DateTimeOffset at, string policyVersion, CancellationToken cancellationToken = default);

    Task<ChangeEntry?> GetAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Entries with <c>from &lt;= At &lt; until</c>, newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<ChangeEntry>> ListAsync(DateTimeOffset from, DateTimeOffset until, int limit, CancellationToken cancellationToken = default);
}
