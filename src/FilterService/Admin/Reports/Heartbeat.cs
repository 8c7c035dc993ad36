using FilterService.Audit;
using FilterService.Identity;

namespace FilterService.Admin.Reports;

/// <summary>What a heartbeat row is: the service started, is running, or stopped cleanly.</summary>
internal enum BeatKind
{
    Start,
    Beat,
    Stop,
}

/// <summary>
/// One row of <c>service_heartbeat</c>: the time, the run (one id per process start) and the run's counters so far of
/// decisions made in a degraded mode: sign-ins given the network's default role while the directory was down
/// (<c>on_directory_down: cached_then_default</c>), requests let through without an audit record
/// (<c>Audit:OnWriteFailure=AllowAndCount</c>) and requests refused because the audit log could not take records.
/// </summary>
internal sealed record Heartbeat(DateTimeOffset At, BeatKind Kind, string Run, long DirectoryDefaultRole, long AuditDropped, long AuditRefused);

/// <summary>
/// The heartbeat table in console.db (Admin/README.md: each feature owns its tables). The weekly report reads it to
/// say when the filter was down (no row for over <see cref="HeartbeatWriter.DownAfter"/>) and when it failed open.
/// </summary>
internal sealed class HeartbeatStore
{
    private readonly ConsoleDatabase _db;

    public HeartbeatStore(ConsoleDatabase db)
    {
        _db = db;
        db.EnsureSchema("""
            CREATE TABLE IF NOT EXISTS service_heartbeat (
                at_ms INTEGER NOT NULL,
                kind TEXT NOT NULL,
                run TEXT NOT NULL,
                directory_default_role INTEGER NOT NULL,
                audit_dropped INTEGER NOT NULL,
                audit_refused INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS service_heartbeat_at ON service_heartbeat (at_ms);
            """);
    }

    public void Append(Heartbeat beat)
    {
        using var connection = _db.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO service_heartbeat VALUES ($at, $kind, $run, $dir, $dropped, $refused)";
        command.Parameters.AddWithValue("$at", beat.At.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$kind", beat.Kind.ToString().ToLowerInvariant());
        command.Parameters.AddWithValue("$run", beat.Run);
        command.Parameters.AddWithValue("$dir", beat.DirectoryDefaultRole);
        command.Parameters.AddWithValue("$dropped", beat.AuditDropped);
        command.Parameters.AddWithValue("$refused", beat.AuditRefused);
        command.ExecuteNonQuery();
    }

    /// <summary>Rows with <c>from &lt;= At &lt; until</c>, oldest first.</summary>
    public IReadOnlyList<Heartbeat> List(DateTimeOffset from, DateTimeOffset until)
    {
        using var connection = _db.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT at_ms, kind, run, directory_default_role, audit_dropped, audit_refused FROM service_heartbeat "
            + "WHERE at_ms >= $from AND at_ms < $until ORDER BY at_ms, rowid";
        command.Parameters.AddWithValue("$from", from.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$until", until.ToUnixTimeMilliseconds());
        using var reader = command.ExecuteReader();
        var rows = new List<Heartbeat>();
        while (reader.Read())
        {
            rows.Add(new Heartbeat(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), Enum.Parse<BeatKind>(reader.GetString(1), ignoreCase: true),
                reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)));
        }
        return rows;
    }

    /// <summary>Drops rows before <paramref name="before"/> (a year and a month are kept: the review pack covers a year).</summary>
    public void Prune(DateTimeOffset before)
    {
        using var connection = _db.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM service_heartbeat WHERE at_ms < $before";
        command.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
        command.ExecuteNonQuery();
    }
}

/// <summary>
/// Writes a heartbeat row when the service starts, every <see cref="Interval"/> while it runs, and when it stops
/// cleanly. A gap of more than <see cref="DownAfter"/> between rows is reported as downtime. Runs on the injected
/// <see cref="TimeProvider"/>; a failed write is logged and retried at the next beat (the gap then shows, which errs on
/// the side of reporting downtime). console.db is opened at the first beat, not at start-up: a data directory that
/// cannot be written never stops the filter.
/// </summary>
internal sealed partial class HeartbeatWriter(Func<HeartbeatStore> openStore, TimeProvider time, AuditLog audit, LdapDirectory? directory,
    ILogger<HeartbeatWriter> logger, ReportMetrics? metrics = null) : BackgroundService
{
    private HeartbeatStore? _store;

    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan DownAfter = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Keep = TimeSpan.FromDays(400);

    private readonly string _run = Guid.NewGuid().ToString("N")[..12];

    public Heartbeat Beat(BeatKind kind)
    {
        var fallbacks = directory?.Fallbacks ?? default;
        var beat = new Heartbeat(time.GetUtcNow(), kind, _run, fallbacks.DefaultRole, audit.DroppedRecords, audit.RefusedRequests);
        try
        {
            (_store ??= openStore()).Append(beat);
        }
        catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            metrics?.HeartbeatFailed();
            LogBeatFailed(logger, ex.Message);
        }
        return beat;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            (_store ??= openStore()).Prune(time.GetUtcNow() - Keep);
        }
        catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            LogBeatFailed(logger, ex.Message);
        }
        Beat(BeatKind.Start);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(Interval, time, stoppingToken);
                Beat(BeatKind.Beat);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Beat(BeatKind.Stop);
    }

    [LoggerMessage(EventId = 1900, Level = LogLevel.Warning, Message = "Heartbeat not recorded in console.db: {Error}; the weekly report will show this minute as down")]
    private static partial void LogBeatFailed(ILogger logger, string error);
}
