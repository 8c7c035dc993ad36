using Microsoft.Data.Sqlite;

namespace FilterService.Admin.History;

/// <summary>
/// The change history in <c>console.db</c> (<see cref="ConsoleDatabase"/>): tables <c>change_history</c> (one row per
/// entry) and <c>change_history_files</c> (one row per file it touched, with its diff). Append-only: this class has no
/// update or delete, and triggers refuse both in the database; the hash chain (<see cref="EntryHash"/>) shows any row
/// changed behind its back, which <c>verify-history</c> (<see cref="HistoryVerifier"/>) checks. An entry is appended in
/// one <c>BEGIN IMMEDIATE</c> transaction that reads the last hash and writes the new rows, so two writers (two
/// processes included) never fork the chain. Thread-safe.
/// </summary>
internal sealed partial class SqliteChangeHistory : IChangeHistory
{
    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS change_history (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            who TEXT NOT NULL,
            reason TEXT NOT NULL,
            source TEXT NOT NULL,
            reverts INTEGER,
            policy_version TEXT NOT NULL,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS change_history_at ON change_history(at);
        CREATE TABLE IF NOT EXISTS change_history_files (
            entry_id INTEGER NOT NULL REFERENCES change_history(id),
            ordinal INTEGER NOT NULL,
            path TEXT NOT NULL,
            tracking TEXT NOT NULL,
            before TEXT,
            after TEXT,
            diff TEXT,
            PRIMARY KEY (entry_id, ordinal)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS change_history_files_path ON change_history_files(path, entry_id);
        CREATE TRIGGER IF NOT EXISTS change_history_no_update BEFORE UPDATE ON change_history
            BEGIN SELECT RAISE(ABORT, 'the change history is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS change_history_no_delete BEFORE DELETE ON change_history
            BEGIN SELECT RAISE(ABORT, 'the change history is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS change_history_files_no_update BEFORE UPDATE ON change_history_files
            BEGIN SELECT RAISE(ABORT, 'the change history is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS change_history_files_no_delete BEFORE DELETE ON change_history_files
            BEGIN SELECT RAISE(ABORT, 'the change history is append-only'); END;
        """;

    private const string EntryColumns = "id, at, who, reason, source, reverts, policy_version, previous_hash, hash";

    private readonly ConsoleDatabase _database;
    private readonly ILogger<SqliteChangeHistory> _logger;

    public SqliteChangeHistory(ConsoleDatabase database, ILogger<SqliteChangeHistory> logger)
    {
        _database = database;
        _logger = logger;
        database.EnsureSchema(Schema);
    }

    public Task<ChangeEntry> RecordAsync(PolicyChange change, DateTimeOffset at, string policyVersion, CancellationToken cancellationToken = default)
    {
        Validate(change, policyVersion);
        var files = change.Files
            .Select(f => new StoredFile(f.Path, EntryHash.TrackingName(f.Tracking), f.Before, f.After, FileDiff.Render(f)))
            .ToList();
        using var connection = _database.Open();
        using var transaction = connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: the last hash cannot move under us
        var (lastId, lastHash) = Last(connection, transaction);
        if (change.Reverts is { } reverted && (reverted < 1 || reverted > lastId))
        {
            throw new ArgumentException($"entry {reverted} does not exist; a revert must name a recorded entry", nameof(change));
        }
        var stored = new StoredEntry(lastId + 1, EntryHash.FormatTime(at), change.Who, change.Reason, EntryHash.SourceName(change.Source),
            change.Reverts, policyVersion, lastHash, "", files);
        stored = stored with { Hash = EntryHash.Compute(stored) };
        Insert(connection, transaction, stored);
        cancellationToken.ThrowIfCancellationRequested();
        transaction.Commit();
        // The newest hash in the operational log too: an anchor outside the database, so that cutting entries off the
        // end of the chain (which a chain alone cannot show) can be seen against the log.
        LogRecorded(_logger, stored.Id, stored.Source, stored.Hash);
        return Task.FromResult(ToEntry(stored));
    }

    public Task<ChangeEntry?> GetAsync(long id, CancellationToken cancellationToken = default)
    {
        using var connection = _database.Open();
        var entries = Read(connection, $"SELECT {EntryColumns} FROM change_history WHERE id = $id", c => c.Parameters.AddWithValue("$id", id));
        return Task.FromResult(entries.Count == 0 ? null : ToEntry(entries[0]));
    }

    public Task<IReadOnlyList<ChangeEntry>> ListAsync(DateTimeOffset from, DateTimeOffset until, int limit, CancellationToken cancellationToken = default)
    {
        using var connection = _database.Open();
        var entries = Read(connection, $"SELECT {EntryColumns} FROM change_history WHERE at >= $from AND at < $until ORDER BY id DESC LIMIT $limit", c =>
        {
            c.Parameters.AddWithValue("$from", EntryHash.FormatTime(from));
            c.Parameters.AddWithValue("$until", EntryHash.FormatTime(until));
            c.Parameters.AddWithValue("$limit", Math.Max(0, limit));
        });
        return Task.FromResult<IReadOnlyList<ChangeEntry>>(entries.Select(ToEntry).ToList());
    }

    public Task<IReadOnlyList<ChangeEntry>> PageAsync(long? beforeId, int limit, CancellationToken cancellationToken = default)
    {
        using var connection = _database.Open();
        var entries = Read(connection, $"SELECT {EntryColumns} FROM change_history WHERE id < $before ORDER BY id DESC LIMIT $limit", c =>
        {
            c.Parameters.AddWithValue("$before", beforeId ?? long.MaxValue);
            c.Parameters.AddWithValue("$limit", Math.Max(0, limit));
        });
        return Task.FromResult<IReadOnlyList<ChangeEntry>>(entries.Select(ToEntry).ToList());
    }

    public Task<IReadOnlyDictionary<string, RecordedFile>> LatestFilesAsync(CancellationToken cancellationToken = default)
    {
        using var connection = _database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT f.path, f.entry_id, f.after, f.tracking FROM change_history_files f
            JOIN (SELECT path, MAX(entry_id) AS id FROM change_history_files GROUP BY path) m ON f.path = m.path AND f.entry_id = m.id
            """;
        var latest = new Dictionary<string, RecordedFile>(StringComparer.Ordinal);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            latest[reader.GetString(0)] = new RecordedFile(reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                EntryHash.ParseTracking(reader.GetString(3)) ?? FileTracking.Summary);
        }
        return Task.FromResult<IReadOnlyDictionary<string, RecordedFile>>(latest);
    }

    /// <summary>Every entry, oldest first, exactly as stored, one at a time (for <see cref="HistoryVerifier"/>).</summary>
    internal static IEnumerable<StoredEntry> ReadAll(ConsoleDatabase database)
    {
        using var connection = database.Open();
        long after = 0;
        while (true)
        {
            var batch = Read(connection, $"SELECT {EntryColumns} FROM change_history WHERE id > $after ORDER BY id LIMIT 100",
                c => c.Parameters.AddWithValue("$after", after));
            foreach (var entry in batch)
            {
                yield return entry;
            }
            if (batch.Count < 100)
            {
                yield break;
            }
            after = batch[^1].Id;
        }
    }

    private static void Validate(PolicyChange change, string policyVersion)
    {
        if (string.IsNullOrWhiteSpace(change.Reason))
        {
            throw new ArgumentException("a change needs a reason", nameof(change));
        }
        if (string.IsNullOrWhiteSpace(change.Who))
        {
            throw new ArgumentException("a change needs who made it", nameof(change));
        }
        if (string.IsNullOrWhiteSpace(policyVersion))
        {
            throw new ArgumentException("a change needs the policy version it gave", nameof(policyVersion));
        }
        if (change.Files.Count == 0)
        {
            throw new ArgumentException("a change needs at least one file", nameof(change));
        }
        if ((change.Source == ChangeSource.Revert) != (change.Reverts is not null))
        {
            throw new ArgumentException("a revert, and only a revert, names the entry it reverts", nameof(change));
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in change.Files)
        {
            if (string.IsNullOrEmpty(file.Path) || Path.IsPathRooted(file.Path) || file.Path.Split('/', '\\').Contains("..") || !seen.Add(file.Path))
            {
                throw new ArgumentException($"'{file.Path}' is not a relative path inside the policy directory, or is given twice", nameof(change));
            }
        }
    }

    private static (long Id, string Hash) Last(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT id, hash FROM change_history ORDER BY id DESC LIMIT 1";
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetString(1)) : (0, EntryHash.Genesis);
    }

    private static void Insert(SqliteConnection connection, SqliteTransaction transaction, StoredEntry e)
    {
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"INSERT INTO change_history ({EntryColumns}) VALUES ($id, $at, $who, $reason, $source, $reverts, $version, $previous, $hash)";
            command.Parameters.AddWithValue("$id", e.Id);
            command.Parameters.AddWithValue("$at", e.At);
            command.Parameters.AddWithValue("$who", e.Who);
            command.Parameters.AddWithValue("$reason", e.Reason);
            command.Parameters.AddWithValue("$source", e.Source);
            command.Parameters.AddWithValue("$reverts", (object?)e.Reverts ?? DBNull.Value);
            command.Parameters.AddWithValue("$version", e.PolicyVersion);
            command.Parameters.AddWithValue("$previous", e.PreviousHash);
            command.Parameters.AddWithValue("$hash", e.Hash);
            command.ExecuteNonQuery();
        }
        for (int i = 0; i < e.Files.Count; i++)
        {
            var f = e.Files[i];
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO change_history_files (entry_id, ordinal, path, tracking, before, after, diff) VALUES ($id, $ordinal, $path, $tracking, $before, $after, $diff)";
            command.Parameters.AddWithValue("$id", e.Id);
            command.Parameters.AddWithValue("$ordinal", i);
            command.Parameters.AddWithValue("$path", f.Path);
            command.Parameters.AddWithValue("$tracking", f.Tracking);
            command.Parameters.AddWithValue("$before", (object?)f.Before ?? DBNull.Value);
            command.Parameters.AddWithValue("$after", (object?)f.After ?? DBNull.Value);
            command.Parameters.AddWithValue("$diff", (object?)f.Diff ?? DBNull.Value);
            command.ExecuteNonQuery();
        }
    }

    private static List<StoredEntry> Read(SqliteConnection connection, string sql, Action<SqliteCommand> parameters)
    {
        var entries = new List<StoredEntry>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = sql;
            parameters(command);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                entries.Add(new StoredEntry(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetInt64(5), reader.GetString(6), reader.GetString(7), reader.GetString(8), []));
            }
        }
        if (entries.Count == 0)
        {
            return entries;
        }
        var files = new Dictionary<long, List<StoredFile>>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT entry_id, path, tracking, before, after, diff FROM change_history_files WHERE entry_id BETWEEN $low AND $high ORDER BY entry_id, ordinal";
            command.Parameters.AddWithValue("$low", entries.Min(e => e.Id));
            command.Parameters.AddWithValue("$high", entries.Max(e => e.Id));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var id = reader.GetInt64(0);
                if (!files.TryGetValue(id, out var list))
                {
                    files[id] = list = [];
                }
                list.Add(new StoredFile(reader.GetString(1), reader.GetString(2), Text(reader, 3), Text(reader, 4), Text(reader, 5)));
            }
        }
        return entries.Select(e => e with { Files = files.TryGetValue(e.Id, out var f) ? f : [] }).ToList();
    }

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static ChangeEntry ToEntry(StoredEntry e) => new(
        e.Id,
        EntryHash.ParseTime(e.At),
        new PolicyChange(e.Who, e.Reason, EntryHash.ParseSource(e.Source) ?? ChangeSource.FileEdit,
            e.Files.Select(f => new FileChange(f.Path, f.Before, f.After, EntryHash.ParseTracking(f.Tracking) ?? FileTracking.Summary) { Diff = f.Diff }).ToList(),
            e.Reverts),
        e.PolicyVersion,
        e.PreviousHash,
        e.Hash);

    [LoggerMessage(EventId = 2450, Level = LogLevel.Information, Message = "Change history entry {Id} recorded ({Source}), hash {Hash}")]
    private static partial void LogRecorded(ILogger logger, long id, string source, string hash);
}
