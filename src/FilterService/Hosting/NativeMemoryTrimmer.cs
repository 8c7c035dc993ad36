using System.Runtime.InteropServices;

namespace FilterService.Hosting;

/// <summary>
/// Gives the memory glibc's malloc holds free back to the OS every ten seconds, and after each policy load. The
/// runtime's native allocations (the JIT above all, which compiles hot methods a second time, optimised, in the
/// first minutes under load) leave the malloc arenas mostly free but resident: after the load benchmark about 13 of
/// 18 MB. A trim takes 0.3-0.65 ms. Linux with glibc only; elsewhere, or on a libc without <c>malloc_trim</c>, it
/// stops at the first call. Measured in bench/load/README.md.
/// </summary>
internal sealed partial class NativeMemoryTrimmer(ILogger<NativeMemoryTrimmer> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private static int s_unavailable;

    /// <summary>Trims now; false (and never again) where malloc_trim does not exist.</summary>
    public static bool Trim()
    {
        if (!OperatingSystem.IsLinux() || Volatile.Read(ref s_unavailable) != 0)
        {
            return false;
        }
        try
        {
            MallocTrim(0);
            return true;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            Volatile.Write(ref s_unavailable, 1);
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Trim())
        {
            LogUnavailable(logger);
            return;
        }
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            Trim();
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    [LoggerMessage(EventId = 1500, Level = LogLevel.Debug, Message = "malloc_trim is not available here; native memory is left to the allocator")]
    private static partial void LogUnavailable(ILogger logger);
}
