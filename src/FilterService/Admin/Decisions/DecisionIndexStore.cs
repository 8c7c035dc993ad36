using Microsoft.Data.Sqlite;

namespace FilterService.Admin.Decisions;

/// <summary>
/// The decision index's database (<c>decisions.db</c> beside <c>console.db</c> in <c>Console:DataPath</c>): derived
/// from the audit files, which stay the record, so it can be deleted and rebuilt (<c>decisions reindex</c>). SQLite in
/// WAL mode, its own file so its size and writes never touch the console's database.
/// </summary>
/// <remarks>
/// <para>
/// <c>decisions</c> holds one row per audit record; repeated strings (user, roles, client address, network, method,
/// host, rule, category) are interned in <c>terms</c> and stored as small integers, which keeps rows and indexes
/// small at 10M+ records. Every filter the search offers is served by an index whose leading columns are the filter
/// and whose next columns are the time and id, so a page newest first is a walk down one index range that stops after
/// a page (keyset paging, never OFFSET); the columns after those let other filters be checked in the index before the
/// row is read (<see cref="DecisionSearch"/>).
/// </para>
/// <para>
/// <c>files</c> has, per audit day (<c>audit-YYYYMMDD.json</c>, plain or gzipped), how many bytes of its content are
/// indexed; <c>segments</c> the id ranges of its rows, so the rows of a day deleted by retention are deleted by id range.
/// </para>
/// </remarks>
internal sealed class DecisionIndexStore
{
    public const string FileName = "decisions.db";

    private const string Tables = """
        CREATE TABLE IF NOT EXISTS terms (id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, text TEXT NOT NULL, UNIQUE (kind, text));
        CREATE TABLE IF NOT EXISTS decisions (
            id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, user INTEGER, name INTEGER, roles INTEGER, client INTEGER NOT NULL,
            network INTEGER, method INTEGER NOT NULL, host INTEGER, site INTEGER, target TEXT NOT NULL, action INTEGER NOT NULL,
            rule INTEGER NOT NULL, category INTEGER, status INTEGER NOT NULL, ref TEXT);
        CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, position INTEGER NOT NULL, gz_length INTEGER NOT NULL,
            records INTEGER NOT NULL, malformed INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS segments (file TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_segments ON segments (file, last);
        """;

    /// <summary>The search's indexes (<see cref="DecisionSearch"/> names them in INDEXED BY). action: 0 allow, 1 block.</summary>
    private const string Indexes = """
        CREATE INDEX IF NOT EXISTS ix_time ON decisions (ts, id);
        CREATE INDEX IF NOT EXISTS ix_action ON decisions (action, ts, id);
        CREATE INDEX IF NOT EXISTS ix_user ON decisions (user, ts, id, action, category, site, host, roles) WHERE user IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ix_client ON decisions (client, ts, id, action, category, site, host);
        CREATE INDEX IF NOT EXISTS ix_host ON decisions (host, action, ts, id, category) WHERE host IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ix_site ON decisions (site, action, ts, id, category) WHERE site IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ix_category ON decisions (category, action, ts, id) WHERE category IS NOT NULL;
        """;

    private static readonly string[] IndexNames = ["ix_time", "ix_action", "ix_user", "ix_client", "ix_host", "ix_site", "ix_category"];

    private readonly string _connectionString;
    private readonly object _createGate = new();
    private bool _created;

    /// <summary>Nothing is touched on disk until the first <see cref="Open"/>, so an unwritable directory fails a pass (counted, in /health), not the service's start.</summary>
    public DecisionIndexStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>
    /// A new open connection. Derived data: synchronous=NORMAL (a crash loses at most the last batches, which the
    /// indexer reads again from the files: positions are committed with their rows). The page cache is bounded.
    /// </summary>
    public SqliteConnection Open(int cacheMegabytes = 16)
    {
        if (!Volatile.Read(ref _created))
        {
            lock (_createGate)
            {
                if (!_created)
                {
                    Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
                    using var first = new SqliteConnection(_connectionString);
                    first.Open();
                    Execute(first, "PRAGMA busy_timeout=10000; PRAGMA journal_mode=WAL;");
                    Execute(first, Tables + Indexes);
                    Volatile.Write(ref _created, true);
                }
            }
        }
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, $"PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-{cacheMegabytes * 1024}; PRAGMA temp_store=FILE;");
        return connection;
    }

    /// <summary>Creates the search's indexes (after a bulk load, <see cref="DropIndexes"/>); a no-op when they exist.</summary>
    public void CreateIndexes(SqliteConnection connection)
    {
        Execute(connection, Indexes);
        Execute(connection, "PRAGMA analysis_limit=1000; ANALYZE;");
    }

    /// <summary>Drops the search's indexes, so a bulk load (<c>decisions reindex</c>) appends rows without updating them.</summary>
    public void DropIndexes(SqliteConnection connection)
    {
        foreach (var name in IndexNames)
        {
            Execute(connection, $"DROP INDEX IF EXISTS {name};");
        }
    }

    /// <summary>Whether the search's indexes exist (not during a bulk load).</summary>
    public bool HasIndexes()
    {
        using var connection = Open(1);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('ix_time','ix_action','ix_user','ix_client','ix_host','ix_site','ix_category')";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == IndexNames.Length;
    }

    /// <summary>The indexed days, by name (<c>audit-YYYYMMDD.json</c>).</summary>
    public Dictionary<string, IndexedFile> Files(SqliteConnection connection)
    {
        var files = new Dictionary<string, IndexedFile>(StringComparer.Ordinal);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, position, gz_length, records, malformed FROM files";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            files[reader.GetString(0)] = new IndexedFile(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
        }
        return files;
    }

    /// <summary>Records how far a day is indexed (in the transaction of its rows).</summary>
    public static void SaveFile(SqliteConnection connection, SqliteTransaction transaction, IndexedFile file)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO files (name, position, gz_length, records, malformed) VALUES ($n, $p, $g, $r, $m)
            ON CONFLICT (name) DO UPDATE SET position = $p, gz_length = $g, records = $r, malformed = $m
            """;
        command.Parameters.AddWithValue("$n", file.Name);
        command.Parameters.AddWithValue("$p", file.Position);
        command.Parameters.AddWithValue("$g", file.GzLength);
        command.Parameters.AddWithValue("$r", file.Records);
        command.Parameters.AddWithValue("$m", file.Malformed);
        command.ExecuteNonQuery();
    }

    /// <summary>Records that ids <paramref name="first"/>..<paramref name="last"/> came from <paramref name="file"/>, extending its last range when adjacent.</summary>
    public static void AddSegment(SqliteConnection connection, SqliteTransaction transaction, string file, long first, long last)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE segments SET last = $l WHERE file = $f AND last = $p";
        command.Parameters.AddWithValue("$f", file);
        command.Parameters.AddWithValue("$l", last);
        command.Parameters.AddWithValue("$p", first - 1);
        if (command.ExecuteNonQuery() == 0)
        {
            command.CommandText = "INSERT INTO segments (file, first, last) VALUES ($f, $s, $l)";
            command.Parameters.AddWithValue("$s", first);
            command.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Deletes the rows of one day (its file was deleted by retention, or replaced), at most
    /// <paramref name="rowsPerTransaction"/> rows per transaction so the console's readers and the indexer's next batch
    /// are never held up long; the day's <c>files</c> row goes last. Returns the rows deleted.
    /// </summary>
    public long DeleteFile(SqliteConnection connection, string file, int rowsPerTransaction = 20_000, CancellationToken cancel = default)
    {
        long deleted = 0;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            using var transaction = connection.BeginTransaction();
            using var find = connection.CreateCommand();
            find.Transaction = transaction;
            find.CommandText = "SELECT rowid, first, last FROM segments WHERE file = $f ORDER BY first LIMIT 1";
            find.Parameters.AddWithValue("$f", file);
            long segment, first, last;
            using (var reader = find.ExecuteReader())
            {
                if (!reader.Read())
                {
                    using var done = connection.CreateCommand();
                    done.Transaction = transaction;
                    done.CommandText = "DELETE FROM files WHERE name = $f";
                    done.Parameters.AddWithValue("$f", file);
                    done.ExecuteNonQuery();
                    transaction.Commit();
                    return deleted;
                }
                (segment, first, last) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
            }
            long upTo = Math.Min(last, first + rowsPerTransaction - 1);
            using var delete = connection.CreateCommand();
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM decisions WHERE id BETWEEN $a AND $b";
            delete.Parameters.AddWithValue("$a", first);
            delete.Parameters.AddWithValue("$b", upTo);
            deleted += delete.ExecuteNonQuery();
            delete.Parameters.Clear();
            delete.CommandText = upTo == last ? "DELETE FROM segments WHERE rowid = $s" : "UPDATE segments SET first = $b WHERE rowid = $s";
            delete.Parameters.AddWithValue("$s", segment);
            delete.Parameters.AddWithValue("$b", upTo + 1);
            delete.ExecuteNonQuery();
            transaction.Commit();
        }
    }

    /// <summary>Records indexed in total (from <c>files</c>, cheap).</summary>
    public static long TotalRecords(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT IFNULL(SUM(records), 0) FROM files";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Hands the connection's page cache back (the pool keeps a connection, and with it its cache, until the next use).</summary>
    public static void ReleaseCache(SqliteConnection connection) => Execute(connection, "PRAGMA shrink_memory;");

    internal static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

/// <summary>
/// How far one audit day is indexed: <see cref="Position"/> bytes of its content (plain, or decompressed once gzipped:
/// the same bytes), and the size of its <c>.gz</c> when that was read to the end (-1 until then), so a finished
/// gzipped day is not decompressed again.
/// </summary>
internal sealed record IndexedFile(string Name, long Position, long GzLength, long Records, long Malformed);
