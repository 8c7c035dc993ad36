using System.Diagnostics.Metrics;

namespace FilterService.Admin.Decisions;

/// <summary>
/// The decision index's state for /health (<c>decisions</c>) and metrics (meter <c>FilterService.Decisions</c>): how
/// far behind the audit files it is, what it has indexed, and its failures. No person's name or address is ever in
/// it. A problem is reported when the last pass failed or the index has not caught up for <see cref="MaxLag"/>.
/// </summary>
internal sealed class DecisionIndexStatus
{
    public const string MeterName = "FilterService.Decisions";

    /// <summary>How long the index may go without catching up with the audit files before /health says so.</summary>
    public static readonly TimeSpan MaxLag = TimeSpan.FromMinutes(10);

    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _started;
    private DateTimeOffset? _caughtUpAt, _lastFailureAt;
    private string? _lastError;
    private long _records, _malformed, _failures, _lagBytes, _rowsDeleted, _total;

    public DecisionIndexStatus(TimeProvider time, string indexPath, IMeterFactory? meters = null)
    {
        _time = time;
        _started = time.GetUtcNow();
        IndexPath = indexPath;
        if (meters is not null)
        {
            Publish(meters.Create(MeterName));
        }
    }

    public string IndexPath { get; }

    /// <summary>Records a pass that finished: everything in the files when it started is indexed.</summary>
    public void Passed(DateTimeOffset startedAt, IndexPass pass, long totalRecords)
    {
        lock (_gate)
        {
            _caughtUpAt = startedAt;
            _lastError = null;
            _records += pass.Records;
            _malformed += pass.Malformed;
            _rowsDeleted += pass.RowsDeleted;
            _lagBytes = pass.LagBytes;
            _total = totalRecords;
        }
    }

    public void Failed(Exception error)
    {
        lock (_gate)
        {
            _failures++;
            _lastFailureAt = _time.GetUtcNow();
            _lastError = error.GetType().Name + ": " + error.Message;
        }
    }

    /// <summary>Time since the index last caught up with the audit files (since start, if it never has).</summary>
    public TimeSpan Lag
    {
        get
        {
            lock (_gate)
            {
                return _time.GetUtcNow() - (_caughtUpAt ?? _started);
            }
        }
    }

    public IEnumerable<string> Problems()
    {
        lock (_gate)
        {
            var lag = _time.GetUtcNow() - (_caughtUpAt ?? _started);
            if (_lastError is not null)
            {
                yield return $"decision index: the last pass failed at {_lastFailureAt:u} ({_lastError}); the console's decisions may be behind the audit log, which is complete";
            }
            else if (lag > MaxLag)
            {
                yield return $"decision index: {(int)lag.TotalMinutes} minutes behind the audit log ({_lagBytes} bytes to index); the console's decisions may be incomplete";
            }
        }
    }

    public object Health()
    {
        lock (_gate)
        {
            return new
            {
                path = IndexPath,
                caughtUpAt = _caughtUpAt,
                lagSeconds = Math.Round((_time.GetUtcNow() - (_caughtUpAt ?? _started)).TotalSeconds, 1),
                lagBytes = _lagBytes,
                records = _total,
                indexedSinceStart = _records,
                malformedLines = _malformed,
                rowsDeletedByRetention = _rowsDeleted,
                failures = _failures,
                lastError = _lastError,
                lastFailureAt = _lastFailureAt,
            };
        }
    }

    private long Read(Func<long> value)
    {
        lock (_gate)
        {
            return value();
        }
    }

    private void Publish(Meter meter)
    {
        meter.CreateObservableGauge("filterservice.decisions.index.lag", () => Lag.TotalSeconds, "s",
            "Seconds since the decision index last caught up with the audit files (a pass every few seconds when healthy).");
        meter.CreateObservableGauge("filterservice.decisions.index.lag.bytes", () => Read(() => _lagBytes), "By",
            "Bytes of audit files not yet in the decision index when its last pass ended.");
        meter.CreateObservableGauge("filterservice.decisions.index.records", () => Read(() => _total), "{record}",
            "Audit records in the decision index.");
        meter.CreateObservableCounter("filterservice.decisions.index.indexed", () => Read(() => _records), "{record}",
            "Audit records added to the decision index since start.");
        meter.CreateObservableCounter("filterservice.decisions.index.malformed", () => Read(() => _malformed), "{line}",
            "Audit lines the decision index could not read (a line torn by a crash), since start.");
        meter.CreateObservableCounter("filterservice.decisions.index.failures", () => Read(() => _failures), "{pass}",
            "Decision index passes that failed (database or file errors), since start; each is retried.");
    }
}
