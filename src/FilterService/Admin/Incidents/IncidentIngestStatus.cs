using System.Diagnostics.Metrics;

namespace FilterService.Admin.Incidents;

/// <summary>
/// How far the console's inbox is behind the alert outbox, for /health and the <c>FilterService.Incidents</c> meter:
/// <c>filterservice.incidents.ingest.pending</c> (outbox incidents not yet in console.db),
/// <c>filterservice.incidents.ingest.lag</c> (seconds since the oldest of them was recorded; 0 when none) and
/// <c>filterservice.incidents.ingest.failures</c> (attempts to write console.db that failed). No user or host is a tag.
/// Thread-safe.
/// </summary>
internal sealed class IncidentIngestStatus
{
    public const string MeterName = "FilterService.Incidents";

    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private int _pending;
    private DateTimeOffset? _oldestPending;
    private long _failures;
    private string? _lastError;
    private DateTimeOffset? _failingSince;
    private DateTimeOffset? _lastSuccess;

    public IncidentIngestStatus(TimeProvider time, IMeterFactory meters)
    {
        _time = time;
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("filterservice.incidents.ingest.pending", () => (long)Pending, "{incident}",
            "Alert outbox incidents not yet in the console's inbox (console.db)");
        meter.CreateObservableGauge("filterservice.incidents.ingest.lag", () => Lag.TotalSeconds, "s",
            "Age of the oldest incident not yet in the console's inbox; 0 when it is up to date");
        meter.CreateObservableCounter("filterservice.incidents.ingest.failures", () => Failures, "{attempt}",
            "Attempts to write incidents to console.db that failed (they stay in the outbox and are tried again)");
    }

    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _pending;
            }
        }
    }

    public TimeSpan Lag
    {
        get
        {
            lock (_lock)
            {
                return _oldestPending is { } oldest ? Max(TimeSpan.Zero, _time.GetUtcNow() - oldest) : TimeSpan.Zero;
            }
        }
    }

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>What /health lists: console.db failing while incidents wait for it.</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_lock)
            {
                return _failingSince is { } since && _pending > 0
                    ? [$"incidents: {_pending} alert(s) not yet in the console's inbox: console.db cannot be written since {since:u} ({_lastError}); they stay in the alert outbox and are tried again"]
                    : [];
            }
        }
    }

    /// <summary>The <c>incidents</c> object of /health.</summary>
    public object Health()
    {
        lock (_lock)
        {
            return new
            {
                pending = _pending,
                lagSeconds = Math.Round(Lag.TotalSeconds, 1),
                failures = Failures,
                failingSince = _failingSince,
                lastError = _lastError,
                lastSuccess = _lastSuccess,
            };
        }
    }

    internal void OnPending(int count, DateTimeOffset? oldest)
    {
        lock (_lock)
        {
            _pending = count;
            _oldestPending = oldest;
        }
    }

    internal void OnSuccess()
    {
        lock (_lock)
        {
            _pending = 0;
            _oldestPending = null;
            _failingSince = null;
            _lastError = null;
            _lastSuccess = _time.GetUtcNow();
        }
    }

    /// <summary>Returns true when this is the first failure of a run (logged at Error; later ones at Debug).</summary>
    internal bool OnFailure(string error)
    {
        Interlocked.Increment(ref _failures);
        lock (_lock)
        {
            _lastError = error;
            if (_failingSince is null)
            {
                _failingSince = _time.GetUtcNow();
                return true;
            }
            return false;
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
