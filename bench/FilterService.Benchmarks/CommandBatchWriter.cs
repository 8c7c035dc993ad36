using FilterService.Admin.Decisions;
using Microsoft.Data.Sqlite;

namespace FilterService.Benchmarks;

/// <summary>
/// The decision index's batch writer as it was at b2b5480 (statements prepared per batch through SqliteCommand, one
/// ExecuteNonQuery per row with parameters set as objects), kept for <c>index-cpu --compare</c> only.
/// </summary>
/// <remarks>The original's summary follows.</remarks>
/// <summary>
/// Appends records to the index in one transaction per batch, with prepared statements and interned strings. The
/// cache of term ids is bounded (<see cref="MaxCachedTerms"/>; emptied when full, then refilled from the database),
/// so months of distinct hosts never grow memory. One writer at a time: ids are assigned here, inside the
/// transaction, so a batch's rows form one id range (<see cref="DecisionIndexStore.AddSegment"/>).
/// </summary>
internal sealed class CommandBatchWriter : IDisposable
{
    public const int MaxCachedTerms = 100_000;

    private readonly SqliteConnection _connection;
    private readonly Dictionary<(TermKind, string), long> _terms = [];
    private SqliteTransaction? _transaction;
    private SqliteCommand? _insert, _findTerm, _addTerm;
    private long _nextId;
    private long _firstId;

    public CommandBatchWriter(SqliteConnection connection)
    {
        _connection = connection;
    }

    /// <summary>Rows added in the open batch.</summary>
    public int Count { get; private set; }

    public void Begin()
    {
        _transaction = _connection.BeginTransaction();
        _insert = Prepare("""
            INSERT INTO decisions (id, ts, user, name, roles, client, network, method, host, site, target, action, rule, category, status, ref)
            VALUES ($id, $ts, $user, $name, $roles, $client, $network, $method, $host, $site, $target, $action, $rule, $category, $status, $ref)
            """, "$id", "$ts", "$user", "$name", "$roles", "$client", "$network", "$method", "$host", "$site", "$target", "$action", "$rule", "$category", "$status", "$ref");
        _findTerm = Prepare("SELECT id FROM terms WHERE kind = $k AND text = $t", "$k", "$t");
        _addTerm = Prepare("INSERT INTO terms (kind, text) VALUES ($k, $t) RETURNING id", "$k", "$t");
        using var max = _connection.CreateCommand();
        max.Transaction = _transaction;
        max.CommandText = "SELECT IFNULL(MAX(id), 0) FROM decisions";
        _nextId = Convert.ToInt64(max.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) + 1;
        _firstId = _nextId;
        Count = 0;
    }

    public void Add(IndexedDecision d)
    {
        var p = _insert!.Parameters;
        p[0].Value = _nextId++;
        p[1].Value = d.TimeMs;
        p[2].Value = Term(TermKind.User, d.User?.ToLowerInvariant());
        p[3].Value = Term(TermKind.DisplayName, d.DisplayName);
        p[4].Value = Term(TermKind.Roles, d.Roles);
        p[5].Value = Term(TermKind.Client, d.Client);
        p[6].Value = Term(TermKind.Network, d.Network);
        p[7].Value = Term(TermKind.Method, d.Method);
        p[8].Value = Term(TermKind.Host, d.Host.Length == 0 ? null : d.Host);
        p[9].Value = Term(TermKind.Host, d.Site.Length == 0 ? null : d.Site); // sites are host names: the same terms
        p[10].Value = d.Target;
        p[11].Value = d.Blocked ? 1 : 0;
        p[12].Value = Term(TermKind.Rule, d.Rule);
        p[13].Value = Term(TermKind.Category, d.Category);
        p[14].Value = d.Status;
        p[15].Value = (object?)d.Reference ?? DBNull.Value;
        _insert.ExecuteNonQuery();
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
        _insert?.Dispose();
        _findTerm?.Dispose();
        _addTerm?.Dispose();
        _transaction?.Dispose();
        _insert = _findTerm = _addTerm = null;
        _transaction = null;
    }

    private object Term(TermKind kind, string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return DBNull.Value;
        }
        if (_terms.TryGetValue((kind, text), out var id))
        {
            return id;
        }
        _findTerm!.Parameters[0].Value = (int)kind;
        _findTerm.Parameters[1].Value = text;
        var found = _findTerm.ExecuteScalar();
        if (found is long existing)
        {
            id = existing;
        }
        else
        {
            _addTerm!.Parameters[0].Value = (int)kind;
            _addTerm.Parameters[1].Value = text;
            id = Convert.ToInt64(_addTerm.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        if (_terms.Count >= MaxCachedTerms)
        {
            _terms.Clear();
        }
        _terms[(kind, text)] = id;
        return id;
    }

    private SqliteCommand Prepare(string sql, params string[] names)
    {
        var command = _connection.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = sql;
        foreach (var name in names)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
        command.Prepare();
        return command;
    }

    public void Dispose()
    {
        if (_transaction is not null)
        {
            Rollback();
        }
    }
}
