using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace FilterService.Admin.Decisions;

/// <summary>
/// Appends records to the index in one transaction per batch, with interned strings. The cache of term ids is bounded
/// (<see cref="MaxCachedTerms"/>; emptied when full, then refilled from the database), so months of distinct hosts
/// never grow memory. One writer at a time: ids are assigned here, inside the transaction, so a batch's rows form one
/// id range (<see cref="DecisionIndexStore.AddSegment"/>).
/// </summary>
/// <remarks>
/// The row insert and the term lookups are SQLite statements prepared once per writer (one per pass of the indexer,
/// reused by every batch) and driven through SQLitePCL.raw: bound by position, stepped and reset. Through
/// <see cref="SqliteCommand"/> each row cost a data reader, a lookup of every parameter by name and a boxed value per
/// column; this is most of the indexer's CPU after SQLite's own work on the rows and their indexes
/// (bench/results/index-cpu.md). The statements run inside the batch's <see cref="SqliteTransaction"/>.
/// </remarks>
internal sealed class DecisionBatchWriter : IDisposable
{
    public const int MaxCachedTerms = 100_000;

    private const int PreparePersistent = 0x01;
    private static readonly string[] Columns = ["id", "ts", "user", "name", "roles", "client", "network", "method", "host", "site", "target", "action", "rule", "category", "status", "ref"];

    private readonly SqliteConnection _connection;
    private readonly Dictionary<(TermKind, string), long> _terms = [];
    private readonly sqlite3_stmt _insert, _findTerm, _addTerm;
    private byte[] _text = new byte[1024];
    private SqliteTransaction? _transaction;
    private long _nextId;
    private long _firstId;

    public DecisionBatchWriter(SqliteConnection connection)
    {
        _connection = connection;
        _insert = Prepare($"INSERT INTO decisions ({string.Join(", ", Columns)}) VALUES ({string.Join(", ", Columns.Select((_, i) => "?" + (i + 1)))})");
        _findTerm = Prepare("SELECT id FROM terms WHERE kind = ?1 AND text = ?2");
        _addTerm = Prepare("INSERT INTO terms (kind, text) VALUES (?1, ?2) RETURNING id");
    }

    /// <summary>Rows added in the open batch.</summary>
    public int Count { get; private set; }

    public void Begin()
    {
        _transaction = _connection.BeginTransaction();
        using var max = _connection.CreateCommand();
        max.Transaction = _transaction;
        max.CommandText = "SELECT IFNULL(MAX(id), 0) FROM decisions";
        _nextId = Convert.ToInt64(max.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) + 1;
        _firstId = _nextId;
        Count = 0;
    }

    public void Add(IndexedDecision d)
    {
        if (_transaction is null)
        {
            throw new InvalidOperationException("Add outside a batch (Begin first)");
        }
        var s = _insert;
        Check(raw.sqlite3_bind_int64(s, 1, _nextId));
        Check(raw.sqlite3_bind_int64(s, 2, d.TimeMs));
        BindTerm(s, 3, TermKind.User, d.User is null ? null : LowerUser(d.User));
        BindTerm(s, 4, TermKind.DisplayName, d.DisplayName);
        BindTerm(s, 5, TermKind.Roles, d.Roles);
        BindTerm(s, 6, TermKind.Client, d.Client);
        BindTerm(s, 7, TermKind.Network, d.Network);
        BindTerm(s, 8, TermKind.Method, d.Method);
        BindTerm(s, 9, TermKind.Host, d.Host);
        BindTerm(s, 10, TermKind.Host, d.Site); // sites are host names: the same terms
        BindText(s, 11, d.Target);
        Check(raw.sqlite3_bind_int(s, 12, d.Blocked ? 1 : 0));
        BindTerm(s, 13, TermKind.Rule, d.Rule);
        BindTerm(s, 14, TermKind.Category, d.Category);
        Check(raw.sqlite3_bind_int(s, 15, d.Status));
        if (d.Reference is null)
        {
            Check(raw.sqlite3_bind_null(s, 16));
        }
        else
        {
            BindText(s, 16, d.Reference);
        }
        Step(s, raw.SQLITE_DONE);
        _nextId++;
        Count++;
    }

    /// <summary>Commits the batch with the day's new position; the rows' id range is recorded as the day's.</summary>
    public void Commit(IndexedFile file)
    {
        if (Count > 0)
        {
            DecisionIndexStore.AddSegment(_connection, _transaction!, file.Name, _firstId, _nextId - 1);
        }
        DecisionIndexStore.SaveFile(_connection, _transaction!, file);
        _transaction!.Commit();
        EndBatch();
    }

    public void Rollback()
    {
        try
        {
            raw.sqlite3_reset(_insert);
            raw.sqlite3_reset(_findTerm);
            raw.sqlite3_reset(_addTerm);
            _transaction?.Rollback();
        }
        finally
        {
            EndBatch();
            _terms.Clear(); // ids of terms added in the batch are gone with it
        }
    }

    private void EndBatch()
    {
        _transaction?.Dispose();
        _transaction = null;
    }

    /// <summary>User names are matched in lower case; most already are, and those are not copied.</summary>
    private static string LowerUser(string user)
    {
        foreach (var c in user)
        {
            if (char.IsUpper(c) || c > 0x7f)
            {
                return user.ToLowerInvariant();
            }
        }
        return user;
    }

    private void BindTerm(sqlite3_stmt statement, int index, TermKind kind, string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            Check(raw.sqlite3_bind_null(statement, index));
        }
        else
        {
            Check(raw.sqlite3_bind_int64(statement, index, Term(kind, text)));
        }
    }

    private long Term(TermKind kind, string text)
    {
        if (_terms.TryGetValue((kind, text), out var id))
        {
            return id;
        }
        Check(raw.sqlite3_bind_int(_findTerm, 1, (int)kind));
        BindText(_findTerm, 2, text);
        if (Step(_findTerm, raw.SQLITE_ROW, raw.SQLITE_DONE) == raw.SQLITE_ROW)
        {
            id = raw.sqlite3_column_int64(_findTerm, 0);
            raw.sqlite3_reset(_findTerm);
        }
        else
        {
            Check(raw.sqlite3_bind_int(_addTerm, 1, (int)kind));
            BindText(_addTerm, 2, text);
            Step(_addTerm, raw.SQLITE_ROW, raw.SQLITE_ROW);
            id = raw.sqlite3_column_int64(_addTerm, 0);
            Step(_addTerm, raw.SQLITE_DONE); // RETURNING: the insert is complete at its last step
        }
        if (_terms.Count >= MaxCachedTerms)
        {
            _terms.Clear();
        }
        _terms[(kind, text)] = id;
        return id;
    }

    /// <summary>Binds a string as UTF-8 from one reused buffer (SQLite copies it), not a new array per value.</summary>
    private void BindText(sqlite3_stmt statement, int index, string text)
    {
        int most = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (most > _text.Length)
        {
            _text = new byte[Math.Max(most, _text.Length * 2)];
        }
        int length = Encoding.UTF8.GetBytes(text, _text);
        Check(raw.sqlite3_bind_text(statement, index, _text.AsSpan(0, length)));
    }

    /// <summary>
    /// One step; <paramref name="expected"/> (or <paramref name="alternative"/>) is returned, anything else throws as
    /// <see cref="SqliteCommand"/> would. A statement that is done is reset for its next use.
    /// </summary>
    private int Step(sqlite3_stmt statement, int expected, int alternative = -1)
    {
        int rc = raw.sqlite3_step(statement);
        if (rc != expected && rc != alternative)
        {
            raw.sqlite3_reset(statement);
            Check(rc == raw.SQLITE_ROW || rc == raw.SQLITE_DONE ? raw.SQLITE_MISUSE : rc);
        }
        if (rc == raw.SQLITE_DONE)
        {
            raw.sqlite3_reset(statement);
        }
        return rc;
    }

    private void Check(int rc) => SqliteException.ThrowExceptionForRC(rc, _connection.Handle);

    private sqlite3_stmt Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v3(_connection.Handle, sql, PreparePersistent, out var statement));
        return statement;
    }

    public void Dispose()
    {
        try
        {
            if (_transaction is not null)
            {
                Rollback();
            }
        }
        finally
        {
            _insert.Dispose();
            _findTerm.Dispose();
            _addTerm.Dispose();
        }
    }
}
