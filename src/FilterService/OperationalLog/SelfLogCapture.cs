using Serilog.Debugging;

namespace FilterService.OperationalLog;

/// <summary>
/// Serilog's SelfLog (its own errors: a formatter that throws, a sink's internal fault) is process-wide and off by
/// default, so such errors would vanish. Here each is counted and the last kept for /health, and written to standard
/// error at most once a minute (with the count meanwhile), so a fault on every event cannot flood the console.
/// </summary>
internal static class SelfLogCapture
{
    private static readonly Lock Gate = new();
    private static long _messages;
    private static string? _last;
    private static long _lastPrintedAt = long.MinValue;
    private static long _unprinted;

    public static long Messages => Interlocked.Read(ref _messages);

    public static string? Last
    {
        get
        {
            lock (Gate)
            {
                return _last;
            }
        }
    }

    public static void Enable(TimeProvider time) => SelfLog.Enable(message => Write(message, time));

    private static void Write(string message, TimeProvider time)
    {
        Interlocked.Increment(ref _messages);
        string? print = null;
        lock (Gate)
        {
            _last = message.TrimEnd();
            long now = time.GetTimestamp();
            if (_lastPrintedAt == long.MinValue || time.GetElapsedTime(_lastPrintedAt, now) >= TimeSpan.FromMinutes(1))
            {
                print = _unprinted > 0 ? $"{_last} ({_unprinted} more Serilog self-log message(s) since the last)" : _last;
                _lastPrintedAt = now;
                _unprinted = 0;
            }
            else
            {
                _unprinted++;
            }
        }
        if (print is not null)
        {
            Console.Error.WriteLine("warning FS0020: operational log (Serilog): " + print);
        }
    }
}
