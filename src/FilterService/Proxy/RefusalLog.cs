using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;

namespace FilterService.Proxy;

/// <summary>
/// The operational log of refused connections and tunnels, aggregated: each refusal is counted under its reason (and
/// logged with its client at Debug), and one line per <c>Proxy:RefusalLogInterval</c> gives the counts, so a flood of
/// refused tunnels writes one line, not one per tunnel (the audit log keeps every record). The line is a Warning when
/// it counts a reason an operator must look at (<see cref="IsWarning"/>), else Information. Counting is lock-free and
/// allocation-free after a reason's first use, so the tunnel loop's thread may call <see cref="Note"/>.
/// </summary>
internal sealed partial class RefusalLog : IDisposable
{
    /// <summary>Reasons that were single Warning lines before aggregation: a misconfiguration or an attack.</summary>
    internal const string TooManyConnections = "too-many-connections", NotAClient = "not-a-client", AddressRefused = "upstream-address-refused",
        Loop = "upstream-loop";

    private readonly ConcurrentDictionary<string, StrongBox<long>> _counts = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly TimeSpan _interval;
    private readonly ITimer _timer;

    public RefusalLog(TimeProvider time, TimeSpan interval, ILogger<RefusalLog> logger)
    {
        _logger = logger;
        _interval = interval;
        _timer = time.CreateTimer(static state => ((RefusalLog)state!).Flush(), this, interval, interval);
    }

    /// <summary>Counts one refusal under <paramref name="reason"/> (a rule name, never a host or user).</summary>
    public void Note(string reason, IPAddress? client)
    {
        var box = _counts.GetOrAdd(reason, static _ => new StrongBox<long>());
        Interlocked.Increment(ref box.Value);
        LogRefused(_logger, reason, client);
    }

    /// <summary>Writes the counts since the last line, if any, and starts counting afresh.</summary>
    public void Flush()
    {
        StringBuilder? text = null;
        long total = 0;
        bool warning = false;
        foreach (var reason in _counts.Keys.Order(StringComparer.Ordinal))
        {
            long n = Interlocked.Exchange(ref _counts[reason].Value, 0);
            if (n == 0)
            {
                continue;
            }
            text = text is null ? new StringBuilder() : text.Append(", ");
            text.Append(reason).Append('=').Append(n);
            total += n;
            warning |= IsWarning(reason);
        }
        if (text is null)
        {
            return;
        }
        if (warning)
        {
            LogSummaryWarning(_logger, total, (long)_interval.TotalSeconds, text.ToString());
        }
        else
        {
            LogSummary(_logger, total, (long)_interval.TotalSeconds, text.ToString());
        }
    }

    internal static bool IsWarning(string reason) => reason is TooManyConnections or NotAClient or AddressRefused or Loop;

    public void Dispose()
    {
        _timer.Dispose();
        Flush();
    }

    [LoggerMessage(EventId = 1205, Level = LogLevel.Debug, Message = "Refused {Client}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason, IPAddress? client);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Information, Message = "Refused {Total} connections or tunnels in the last {Seconds} s: {Counts}")]
    private static partial void LogSummary(ILogger logger, long total, long seconds, string counts);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Warning, Message = "Refused {Total} connections or tunnels in the last {Seconds} s: {Counts}")]
    private static partial void LogSummaryWarning(ILogger logger, long total, long seconds, string counts);
}
