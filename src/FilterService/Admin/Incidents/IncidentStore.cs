using System.Text.Json;
using FilterService.Notifications;
using Microsoft.Data.Sqlite;

namespace FilterService.Admin.Incidents;

/// <summary>
/// The DSL's incidents in <c>console.db</c> (tables <c>incidents</c>, <c>incident_events</c>, <c>incident_steps</c>).
/// Fed only by <see cref="IncidentIngester"/> from the alert outbox, never from the request path. Every outbox event is
/// applied once (<c>incident_events</c> holds its id): an alert opens an incident; a folded repeat adds an attempt and
/// moves its last time; a summary ("N further attempts") raises the attempts to 1 + N if the repeats were not all seen.
/// Changes (<see cref="AcknowledgeAsync"/> and the rest, in IncidentStore.Changes.cs) write the incident and its step in
/// one transaction. Times are stored as Unix milliseconds (UTC). Thread-safe: a connection per operation.
/// </summary>
internal sealed partial class IncidentStore : IIncidentReader
{
    /// <summary>The <see cref="IncidentStep.Who"/> of what the filter recorded itself.</summary>
    public const string Filter = "filter";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS incidents (
            id TEXT PRIMARY KEY,
            at_ms INTEGER NOT NULL,
            user TEXT, display_name TEXT, roles TEXT NOT NULL, client TEXT NOT NULL, network TEXT,
            method TEXT NOT NULL, target TEXT NOT NULL, host TEXT NOT NULL, category TEXT, rule TEXT NOT NULL,
            severity TEXT NOT NULL, reference TEXT, policy_version TEXT,
            attempts INTEGER NOT NULL, last_ms INTEGER NOT NULL,
            state TEXT NOT NULL, assigned_to TEXT, action TEXT, outcome TEXT);
        CREATE INDEX IF NOT EXISTS incidents_at ON incidents(at_ms);
        CREATE INDEX IF NOT EXISTS incidents_state_at ON incidents(state, at_ms);
        CREATE TABLE IF NOT EXISTS incident_events (
            event_id TEXT PRIMARY KEY,
            incident_id TEXT NOT NULL REFERENCES incidents(id));
        CREATE TABLE IF NOT EXISTS incident_steps (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            incident_id TEXT NOT NULL REFERENCES incidents(id),
            at_ms INTEGER NOT NULL, who TEXT NOT NULL, what TEXT NOT NULL,
            from_state TEXT NOT NULL, to_state TEXT NOT NULL, detail TEXT);
        CREATE INDEX IF NOT EXISTS incident_steps_incident ON incident_steps(incident_id, seq);
        """;

    private const string Columns = "id, at_ms, user, display_name, roles, client, network, target, category, rule, severity, attempts, state, assigned_to, action, outcome";

    private readonly Func<ConsoleDatabase> _open;
    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private ConsoleDatabase? _ready;

    public IncidentStore(ConsoleDatabase database, TimeProvider time)
        : this(() => database, time)
    {
    }

    /// <summary>
    /// Opens console.db and creates the tables on first use, not here: a console.db that cannot be opened must not stop
    /// the service (and the proxy) from starting. Each operation tries again until it succeeds.
    /// </summary>
    public IncidentStore(Func<ConsoleDatabase> database, TimeProvider time)
    {
        _open = database;
        _time = time;
    }

    private ConsoleDatabase Database
    {
        get
        {
            lock (_lock)
            {
                if (_ready is null)
                {
                    var database = _open();
                    database.EnsureSchema(Schema);
                    _ready = database;
                }
                return _ready;
            }
        }
    }

    /// <summary>
    /// Applies outbox incidents, oldest first, in one transaction: all or none. Events already applied are skipped, so
    /// the ingester can hand the same incidents again after a failure or a restart. Throws when console.db cannot be
    /// written (the caller keeps them and retries).
    /// </summary>
    public void Ingest(IReadOnlyList<Incident> incidents)
    {
        using var connection = Database.Open();
        using var transaction = connection.BeginTransaction();
        foreach (var incident in incidents)
        {
            var key = incident.Kind == IncidentKind.Alert ? incident.Id : incident.FoldOf ?? incident.Id;
            // An incident whose first alert never reached the store (an outbox older than the inbox) opens on this event.
            if (Exec(connection, transaction, """
                INSERT OR IGNORE INTO incidents (id, at_ms, user, display_name, roles, client, network, method, target, host, category,
                    rule, severity, reference, policy_version, attempts, last_ms, state)
                VALUES ($id, $at, $user, $name, $roles, $client, $network, $method, $target, $host, $category, $rule, $severity,
                    $reference, $policy, 0, $at, 'New')
                """, ("$id", key), ("$at", Ms(incident.At)), ("$user", incident.User), ("$name", incident.DisplayName),
                ("$roles", JsonSerializer.Serialize(incident.Roles)), ("$client", incident.Client), ("$network", incident.Network),
                ("$method", incident.Method), ("$target", incident.Target), ("$host", incident.Host), ("$category", incident.Category),
                ("$rule", incident.Rule), ("$severity", incident.Severity.ToString()), ("$reference", incident.Reference),
                ("$policy", incident.PolicyVersion)) == 1)
            {
                AddStep(connection, transaction, key, incident.At, Filter, "raised", IncidentState.New, IncidentState.New,
                    $"{incident.Severity} alert: {incident.Category ?? incident.Rule}, {incident.Host}");
            }
            if (Exec(connection, transaction, "INSERT OR IGNORE INTO incident_events (event_id, incident_id) VALUES ($e, $id)",
                ("$e", incident.Id), ("$id", key)) == 0)
            {
                continue;
            }
            var last = Ms(incident.LastAt ?? incident.At);
            if (incident.Kind == IncidentKind.Summary)
            {
                Exec(connection, transaction, "UPDATE incidents SET attempts = max(attempts, 1 + $n), last_ms = max(last_ms, $last) WHERE id = $id",
                    ("$n", incident.Count), ("$last", last), ("$id", key));
                var state = StateOf(connection, transaction, key);
                AddStep(connection, transaction, key, incident.LastAt ?? incident.At, Filter, "repeats", state, state,
                    $"{incident.Count} further attempt(s) within the fold window");
            }
            else
            {
                Exec(connection, transaction, "UPDATE incidents SET attempts = attempts + 1, last_ms = max(last_ms, $last) WHERE id = $id",
                    ("$last", last), ("$id", key));
            }
        }
        transaction.Commit();
    }

    public Task<IReadOnlyList<IncidentSummary>> ListAsync(DateTimeOffset from, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        using var connection = Database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM incidents WHERE at_ms >= $from AND at_ms < $until ORDER BY at_ms, id";
        command.Parameters.AddWithValue("$from", Ms(from));
        command.Parameters.AddWithValue("$until", Ms(until));
        return Task.FromResult<IReadOnlyList<IncidentSummary>>(ReadSummaries(command, cancellationToken));
    }

    /// <summary>Incidents first seen with <c>from &lt;= At &lt; until</c>, oldest first, with what the CSV export needs.</summary>
    public Task<IReadOnlyList<IncidentExportRow>> ExportAsync(DateTimeOffset from, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        using var connection = Database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {Columns}, last_ms, (SELECT who FROM incident_steps s WHERE s.incident_id = incidents.id AND s.who <> $filter ORDER BY seq DESC LIMIT 1)
            FROM incidents WHERE at_ms >= $from AND at_ms < $until ORDER BY at_ms, id
            """;
        command.Parameters.AddWithValue("$from", Ms(from));
        command.Parameters.AddWithValue("$until", Ms(until));
        command.Parameters.AddWithValue("$filter", Filter);
        using var reader = command.ExecuteReader();
        var rows = new List<IncidentExportRow>();
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            rows.Add(new IncidentExportRow(ReadSummary(reader), At(reader.GetInt64(16)), NullableString(reader, 17)));
        }
        return Task.FromResult<IReadOnlyList<IncidentExportRow>>(rows);
    }

    /// <summary>The inbox: incidents in <paramref name="state"/> (all when null), newest first, <paramref name="size"/> from <paramref name="skip"/>.</summary>
    public Task<IncidentPage> PageAsync(IncidentState? state, int skip, int size, CancellationToken cancellationToken = default)
    {
        using var connection = Database.Open();
        using var command = connection.CreateCommand();
        var where = state is null ? "" : "WHERE state = $state";
        command.CommandText = $"SELECT {Columns} FROM incidents {where} ORDER BY at_ms DESC, id DESC LIMIT $size OFFSET $skip";
        command.Parameters.AddWithValue("$state", state?.ToString() ?? "");
        command.Parameters.AddWithValue("$size", Math.Clamp(size, 1, 500));
        command.Parameters.AddWithValue("$skip", Math.Max(0, skip));
        var items = ReadSummaries(command, cancellationToken);
        var counts = Enum.GetValues<IncidentState>().ToDictionary(s => s, _ => 0);
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT state, count(*) FROM incidents GROUP BY state";
        using (var reader = count.ExecuteReader())
        {
            while (reader.Read())
            {
                counts[Enum.Parse<IncidentState>(reader.GetString(0))] = reader.GetInt32(1);
            }
        }
        var total = state is { } s ? counts[s] : counts.Values.Sum();
        return Task.FromResult(new IncidentPage(items, total, counts));
    }

    /// <summary>One incident with its history (oldest step first), or null.</summary>
    public Task<IncidentDetails?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        using var connection = Database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns}, method, host, reference, policy_version, last_ms FROM incidents WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return Task.FromResult<IncidentDetails?>(null);
        }
        var summary = ReadSummary(reader);
        var details = new IncidentDetails(summary, reader.GetString(16), reader.GetString(17), NullableString(reader, 18), NullableString(reader, 19),
            At(reader.GetInt64(20)), Steps(connection, id));
        return Task.FromResult<IncidentDetails?>(details);
    }

    private static List<IncidentStep> Steps(SqliteConnection connection, string id)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, at_ms, who, what, from_state, to_state, detail FROM incident_steps WHERE incident_id = $id ORDER BY seq";
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        var steps = new List<IncidentStep>();
        while (reader.Read())
        {
            steps.Add(new IncidentStep(reader.GetInt64(0), At(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3),
                Enum.Parse<IncidentState>(reader.GetString(4)), Enum.Parse<IncidentState>(reader.GetString(5)), NullableString(reader, 6)));
        }
        return steps;
    }

    private static List<IncidentSummary> ReadSummaries(SqliteCommand command, CancellationToken cancellationToken)
    {
        using var reader = command.ExecuteReader();
        var list = new List<IncidentSummary>();
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            list.Add(ReadSummary(reader));
        }
        return list;
    }

    private static IncidentSummary ReadSummary(SqliteDataReader r) => new(
        r.GetString(0), At(r.GetInt64(1)), NullableString(r, 2), NullableString(r, 3),
        JsonSerializer.Deserialize<string[]>(r.GetString(4)) ?? [], r.GetString(5), NullableString(r, 6), r.GetString(7),
        NullableString(r, 8), r.GetString(9), r.GetString(10), r.GetInt32(11), Enum.Parse<IncidentState>(r.GetString(12)),
        NullableString(r, 13), NullableString(r, 14), NullableString(r, 15));

    private static IncidentState StateOf(SqliteConnection connection, SqliteTransaction transaction, string id)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT state FROM incidents WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return command.ExecuteScalar() is string s ? Enum.Parse<IncidentState>(s) : IncidentState.New;
    }

    private static void AddStep(SqliteConnection connection, SqliteTransaction transaction, string id, DateTimeOffset at, string who, string what,
        IncidentState from, IncidentState to, string? detail) =>
        Exec(connection, transaction, """
            INSERT INTO incident_steps (incident_id, at_ms, who, what, from_state, to_state, detail)
            VALUES ($id, $at, $who, $what, $from, $to, $detail)
            """, ("$id", id), ("$at", Ms(at)), ("$who", who), ("$what", what), ("$from", from.ToString()), ("$to", to.ToString()), ("$detail", detail));

    private static int Exec(SqliteConnection connection, SqliteTransaction transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command.ExecuteNonQuery();
    }

    private static string? NullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static long Ms(DateTimeOffset at) => at.ToUnixTimeMilliseconds();

    private static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
