using System.Runtime.InteropServices;

namespace FilterService.Admin.Decisions;

/// <summary>
/// Runs the <see cref="DecisionIndexer"/> in the service: a pass every <see cref="Interval"/> on a thread of its own
/// at the lowest priority (nice 19 on Linux), paced so that catching up months of files takes at most about half of one
/// core. Never on a request's thread, and the proxy never waits for it: it only reads the audit files. A failed pass
/// is counted and logged (<see cref="DecisionIndexStatus"/>, /health) and retried after <see cref="RetryDelay"/>. Both
/// pauses are waited on the injected clock, so a test drives the passes with the fake one.
/// </summary>
internal sealed partial class DecisionIndexService(DecisionIndexer indexer, DecisionIndexStatus status, TimeProvider time,
    ILogger<DecisionIndexService> logger) : IHostedService, IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Thread? _thread;
    private bool _disposed;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "Decision index", Priority = ThreadPriority.Lowest };
        _thread.Start();
        return Task.CompletedTask;
    }

    private void Run()
    {
        LowerPriority();
        bool failing = false;
        while (!_stop.IsCancellationRequested)
        {
            var started = time.GetUtcNow();
            try
            {
                var pass = indexer.RunPass(_stop.Token);
                status.Passed(started, pass, pass.TotalRecords);
                if (failing)
                {
                    failing = false;
                    LogRecovered(logger);
                }
                if (pass.DaysDeleted > 0)
                {
                    LogRetention(logger, pass.DaysDeleted, pass.RowsDeleted);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                status.Failed(ex);
                if (!failing)
                {
                    failing = true;
                    LogFailed(logger, ex, indexer.AuditDirectory);
                }
                Pause(RetryDelay);
                continue;
            }
            Pause(Interval);
        }
    }

    /// <summary>Waits on the injected clock, on this thread of the index's own; a stop cuts the wait short.</summary>
    private void Pause(TimeSpan delay)
    {
        try
        {
            Task.Delay(delay, time, _stop.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>nice 19 for this thread (Linux: setpriority on its thread id); .NET's thread priority does nothing there.</summary>
    private static void LowerPriority()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        try
        {
            _ = setpriority(0 /* PRIO_PROCESS */, gettid(), 19);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, int who, int priority);

    [LibraryImport("libc")]
    private static partial int gettid();

    public Task StopAsync(CancellationToken cancellationToken)
    {
        StopThread();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops the thread first if no one did (a host whose start failed disposes without stopping). Safe after a stop
    /// and twice: the token source is disposed once, and only when the thread that reads it has ended, so neither a
    /// later call nor the thread meets a disposed source. A thread still in a pass after <see cref="StopWait"/> keeps
    /// it (it holds no timer; the GC has it).
    /// </summary>
    public void Dispose()
    {
        bool ended = StopThread();
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        if (ended)
        {
            _stop.Dispose();
        }
    }

    /// <summary>Cancels the pass and the pause and waits for the thread; true when it has ended (or never started).</summary>
    private bool StopThread()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return false;
            }
            _stop.Cancel();
        }
#pragma warning disable RS0030 // bounds a disposal in real time: it must end even while a test's fake clock stands still
        return _thread?.Join(StopWait) ?? true;
#pragma warning restore RS0030
    }

    [LoggerMessage(EventId = 1800, Level = LogLevel.Error, Message = "Cannot bring the decision index up to date with the audit files in {Directory}; retrying every 5 s (the audit files are complete; the console's decisions may be behind)")]
    private static partial void LogFailed(ILogger logger, Exception ex, string directory);

    [LoggerMessage(EventId = 1801, Level = LogLevel.Warning, Message = "The decision index is being brought up to date again")]
    private static partial void LogRecovered(ILogger logger);

    [LoggerMessage(EventId = 1802, Level = LogLevel.Information, Message = "The decision index dropped {Days} day(s) of records ({Rows} rows) whose audit files retention deleted")]
    private static partial void LogRetention(ILogger logger, int days, long rows);
}
