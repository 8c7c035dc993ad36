using Serilog.Sinks.Async;

namespace FilterService.OperationalLog;

/// <summary>
/// What one sink (console or file) has done: events written, dropped at its full queue, errors, and whether its last
/// write failed. Written by the sink's one queue worker (<see cref="MonitoredSink"/>) and by Serilog.Sinks.Async's
/// inspector; read by /health and the metrics. Thread-safe.
/// </summary>
internal sealed class SinkState(string name, string format, string? path, TimeProvider time) : IAsyncLogEventSinkMonitor
{
    private readonly Lock _gate = new();
    private long _written;
    private long _errors;
    private bool _failing;
    private string? _lastError;
    private string? _cause;
    private DateTimeOffset? _lastErrorAt;
    private IAsyncLogEventSinkInspector? _queue;

    public string Name { get; } = name;
    public string Format { get; } = format;
    public string? Path { get; } = path;

    public long Written => Interlocked.Read(ref _written);
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Events refused by the full queue (Logging:QueueCapacity): the request's thread never waits for a sink.</summary>
    public long Dropped => Volatile.Read(ref _queue)?.DroppedMessagesCount ?? 0;

    public int Queued => Volatile.Read(ref _queue)?.Count ?? 0;

    public int Capacity => Volatile.Read(ref _queue)?.BufferSize ?? 0;

    /// <summary>True from an event the sink could not write until one it writes.</summary>
    public bool Failing
    {
        get
        {
            lock (_gate)
            {
                return _failing;
            }
        }
    }

    /// <summary>While <see cref="Failing"/>, the error that began the failure (later ones may only repeat that it goes on).</summary>
    public string? Cause
    {
        get
        {
            lock (_gate)
            {
                return _failing ? _cause : null;
            }
        }
    }

    public (string? Message, DateTimeOffset? At) LastError
    {
        get
        {
            lock (_gate)
            {
                return (_lastError, _lastErrorAt);
            }
        }
    }

    public void OnWritten()
    {
        Interlocked.Increment(ref _written);
        if (Volatile.Read(ref _failing))
        {
            lock (_gate)
            {
                _failing = false;
            }
        }
    }

    /// <param name="lost">Whether an event was not written (else a side failure: a locked file skipped, an old file not deleted).</param>
    public void OnError(string message, bool lost)
    {
        Interlocked.Increment(ref _errors);
        lock (_gate)
        {
            _lastError = message;
            _lastErrorAt = time.GetUtcNow();
            if (lost && !_failing)
            {
                _failing = true;
                _cause = message;
            }
        }
    }

    void IAsyncLogEventSinkMonitor.StartMonitoring(IAsyncLogEventSinkInspector inspector) => Volatile.Write(ref _queue, inspector);

    void IAsyncLogEventSinkMonitor.StopMonitoring(IAsyncLogEventSinkInspector inspector)
    {
        // Keep the last counts readable after shutdown.
    }
}
