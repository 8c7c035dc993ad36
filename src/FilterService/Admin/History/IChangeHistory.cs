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
    /// <summary>The policy directory as first recorded (an empty history at start): every tracked file, <c>Before</c> null.</summary>
    Baseline,
}

/// <summary>How a file is kept in the history (History/README.md, "What is tracked").</summary>
internal enum FileTracking
{
    /// <summary><c>Before</c> and <c>After</c> are the file's whole text; the diff is a unified diff; it can be reverted.</summary>
    Content,
    /// <summary>
    /// <c>Before</c> and <c>After</c> are a <see cref="FileSummary"/> (SHA-256, bytes, entries or lines), never the text:
    /// big and feed-managed lists, statutory lists, users files and timetables. It cannot be reverted from the history.
    /// </summary>
    Summary,
}

/// <summary>One file's content before and after a change, relative to the policy directory; null when absent.</summary>
internal sealed record FileChange(string Path, string? Before, string? After, FileTracking Tracking = FileTracking.Content)
{
    /// <summary>
    /// The diff as recorded (and hashed): set by the store when it reads an entry; whatever a caller sets is ignored by
    /// <see cref="IChangeHistory.RecordAsync"/>, which renders it from <c>Before</c> and <c>After</c> (<see cref="FileDiff"/>).
    /// </summary>
    public string? Diff { get; init; }
}

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

    /// <summary>Entries with <c>Id &lt; <paramref name="beforeId"/></c> (all when null), newest first, at most <paramref name="limit"/>: the history's pages.</summary>
    async Task<IReadOnlyList<ChangeEntry>> PageAsync(long? beforeId, int limit, CancellationToken cancellationToken = default) =>
        (await ListAsync(DateTimeOffset.MinValue, DateTimeOffset.MaxValue, int.MaxValue, cancellationToken))
            .Where(e => beforeId is null || e.Id < beforeId).OrderByDescending(e => e.Id).Take(limit).ToList();

    /// <summary>
    /// The last recorded state of every file the history has seen: its newest <c>After</c> (null: deleted), with the
    /// entry that recorded it. The hand-edit detector compares the directory with it; a revert checks it.
    /// </summary>
    async Task<IReadOnlyDictionary<string, RecordedFile>> LatestFilesAsync(CancellationToken cancellationToken = default)
    {
        var latest = new Dictionary<string, RecordedFile>(StringComparer.Ordinal);
        foreach (var entry in (await ListAsync(DateTimeOffset.MinValue, DateTimeOffset.MaxValue, int.MaxValue, cancellationToken)).OrderBy(e => e.Id))
        {
            foreach (var file in entry.Change.Files)
            {
                latest[file.Path] = new RecordedFile(entry.Id, file.After, file.Tracking);
            }
        }
        return latest;
    }
}

/// <summary>A file's last recorded state: its text (or summary; null when deleted) as of entry <paramref name="EntryId"/>.</summary>
internal sealed record RecordedFile(long EntryId, string? Content, FileTracking Tracking);
