using System.Globalization;
using Microsoft.Extensions.Hosting.Systemd;

namespace FilterService.Hosting;

/// <summary>
/// Keeps systemd's watchdog fed (<c>WatchdogSec=</c> in the unit): sends <c>WATCHDOG=1</c> through the
/// notify socket at half the interval systemd gives in <c>WATCHDOG_USEC</c>, as sd_watchdog_enabled(3) reads it
/// (ignored when <c>WATCHDOG_PID</c> names another process). Microsoft.Extensions.Hosting.Systemd 10.0 sends
/// READY=1 and STOPPING=1 but has no watchdog; this uses its notifier for the one missing message.
/// The ping runs on the thread pool, so a process whose pool is starved or deadlocked stops pinging and systemd
/// restarts it (the unit says Restart=on-failure); a process that merely exits is restarted anyway.
/// </summary>
internal sealed partial class SystemdWatchdog(ISystemdNotifier notifier, TimeSpan interval, TimeProvider time, ILogger<SystemdWatchdog> logger)
    : BackgroundService
{
    private static readonly ServiceState Ping = new("WATCHDOG=1");

    /// <summary>The interval systemd asks for, or null when the watchdog is off for this process.</summary>
    public static TimeSpan? Requested()
    {
        if (Environment.GetEnvironmentVariable("WATCHDOG_PID") is { Length: > 0 } pid
            && (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p != Environment.ProcessId))
        {
            return null;
        }
        return Environment.GetEnvironmentVariable("WATCHDOG_USEC") is { Length: > 0 } usec
            && long.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out long us) && us > 0
            ? TimeSpan.FromMicroseconds(us)
            : null;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = interval / 2;
        Started(logger, interval.TotalSeconds);
        using var timer = new PeriodicTimer(period, time);
        notifier.Notify(Ping);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                notifier.Notify(Ping);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 1510, Level = LogLevel.Information, Message = "systemd watchdog on: {Seconds} s; pinging at half that")]
    private static partial void Started(ILogger logger, double seconds);
}
