using System.Collections.Concurrent;
using FilterService.Notifications;
using FilterService.Runtime;

namespace FilterService.Admin.Incidents;

/// <summary>
/// Copies incidents from the alert outbox into the console's inbox (<see cref="IncidentStore.Ingest"/>), off the request
/// path: the block response and the alert never wait for console.db, and a console.db that cannot be written delays
/// only the inbox. Woken by each new alert (as the delivery loops are), and every <c>IngestInterval</c> for repeats and
/// summaries. While console.db fails the incidents stay in the outbox, which keeps them through compactions
/// (<see cref="Outbox.Retain"/>) until they are in; the attempt is retried with backoff up to <c>MaxRetryDelay</c>, the
/// first failure of a run logged at Error (1530), recovery at Information (1531), and <see cref="IncidentIngestStatus"/>
/// shows pending, lag and failures in /health and the metrics. Applying an event twice is harmless (the store skips it),
/// so a restart simply hands everything in the outbox again.
/// </summary>
internal sealed partial class IncidentIngester : BackgroundService
{
    private readonly Outbox _outbox;
    private readonly IncidentRecorder _recorder;
    private readonly IncidentStore _store;
    private readonly IncidentIngestStatus _status;
    private readonly IncidentOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<IncidentIngester> _logger;

    // Ids applied by this process; pruned to what the outbox still holds. Read by the outbox's compaction under its lock.
    private readonly ConcurrentDictionary<string, byte> _applied = new(StringComparer.Ordinal);
    private bool _failing;

    public IncidentIngester(Outbox outbox, IncidentRecorder recorder, IncidentStore store, IncidentIngestStatus status, IncidentOptions options,
        TimeProvider time, ILogger<IncidentIngester> logger)
    {
        _outbox = outbox;
        _recorder = recorder;
        _store = store;
        _status = status;
        _options = options;
        _time = time;
        _logger = logger;
        outbox.Retain(i => !_applied.ContainsKey(i.Id));
    }

    /// <summary>Applies what the outbox holds that this process has not applied; true when the inbox is up to date.</summary>
    internal bool IngestOnce()
    {
        var all = _outbox.Incidents();
        var todo = all.Where(i => !_applied.ContainsKey(i.Id)).ToList();
        if (todo.Count == 0)
        {
            _status.OnPending(0, null);
            return true;
        }
        _status.OnPending(todo.Count, todo.Min(i => i.At));
        try
        {
            _store.Ingest(todo);
        }
        catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            _failing = true;
            if (_status.OnFailure(ex.Message))
            {
                LogFailed(_logger, ex, todo.Count);
            }
            else
            {
                LogStillFailing(_logger, todo.Count, ex.Message);
            }
            return false;
        }
        bool wasFailing = _failing;
        _failing = false;
        foreach (var i in todo)
        {
            _applied[i.Id] = 0;
        }
        var held = all.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var id in _applied.Keys.Where(k => !held.Contains(k)))
        {
            _applied.TryRemove(id, out _);
        }
        _status.OnSuccess();
        if (wasFailing)
        {
            LogRecovered(_logger, todo.Count);
        }
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var wake = new SemaphoreSlim(0, 1);
        _recorder.Subscribe(wake);
        try
        {
            var delay = _options.IngestInterval;
            while (!stoppingToken.IsCancellationRequested)
            {
                delay = IngestOnce() ? _options.IngestInterval : Min(delay * 2, _options.MaxRetryDelay);
                try
                {
                    await wake.WaitAsync(delay, _time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
        finally
        {
            _recorder.Unsubscribe(wake);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    [LoggerMessage(EventId = 1530, Level = LogLevel.Error,
        Message = "Incidents: console.db cannot be written; {Count} alert(s) wait in the alert outbox for the DSL's inbox and are tried again (alerts are still delivered)")]
    private static partial void LogFailed(ILogger logger, Exception ex, int count);

    [LoggerMessage(EventId = 1531, Level = LogLevel.Information, Message = "Incidents: console.db written again; {Count} waiting alert(s) now in the inbox")]
    private static partial void LogRecovered(ILogger logger, int count);

    [LoggerMessage(EventId = 1532, Level = LogLevel.Debug, Message = "Incidents: console.db still failing ({Error}); {Count} alert(s) waiting")]
    private static partial void LogStillFailing(ILogger logger, int count, string error);
}
