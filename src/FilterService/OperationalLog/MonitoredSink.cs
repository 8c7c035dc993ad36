using Serilog.Core;
using Serilog.Events;

namespace FilterService.OperationalLog;

/// <summary>
/// Wraps a sink (the console's, the rolling file's) behind its queue: counts each event written, and turns every
/// failure into a count and a message in its <see cref="SinkState"/>, never an exception. Serilog.Sinks.File reports
/// a file it cannot open through <see cref="ILoggingFailureListener"/> (this class) and throws on a failed write (a
/// full disk); both end here. Called only by the queue's one worker thread.
/// </summary>
internal sealed class MonitoredSink : ILogEventSink, IDisposable, ILoggingFailureListener
{
    private readonly ILogEventSink _inner;
    private readonly SinkState _state;
    private bool _lost;

    public MonitoredSink(ILogEventSink inner, SinkState state)
    {
        _inner = inner;
        _state = state;
        (inner as ISetLoggingFailureListener)?.SetFailureListener(this);
    }

    public void Emit(LogEvent logEvent)
    {
        _lost = false;
        try
        {
            _inner.Emit(logEvent);
        }
        catch (Exception ex)
        {
            _state.OnError(ex.Message, lost: true);
            return;
        }
        if (!_lost)
        {
            _state.OnWritten();
        }
    }

    public void OnLoggingFailed(object sender, LoggingFailureKind kind, string message, IReadOnlyCollection<LogEvent>? events, Exception? exception)
    {
        bool lost = events is { Count: > 0 };
        _lost |= lost;
        _state.OnError(exception is null ? message : $"{message}: {exception.Message}", lost);
    }

    public void Dispose()
    {
        try
        {
            // Closing flushes: on a full disk that throws, and a stopping service must not fail for its log.
            (_inner as IDisposable)?.Dispose();
        }
        catch (Exception ex)
        {
            _state.OnError(ex.Message, lost: true);
        }
    }
}
