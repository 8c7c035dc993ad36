using System.Runtime.InteropServices;

namespace FilterService.Runtime;

/// <summary>
/// Every ten seconds gives back memory the process holds free: the GC's, when it keeps more than
/// <see cref="GcSlack"/> committed beyond its live heap, and glibc malloc's (also after each policy load).
/// <list type="bullet">
/// <item>The GC keeps emptied regions and the gen0 budget committed after a burst of allocation; a compacting
/// collection in <see cref="GCCollectionMode.Aggressive"/> mode returns them, at most every ten seconds and only
/// after allocation has left that much slack. RSS after the downloads step 106-107 -> 99-100 MB; GC pause per 1,000
/// new tunnels 0.5-0.6 -> 2.6-5.0 ms, about 0.3-0.5% of the time at that load (bench/load/README.md).</item>
/// <item>The runtime's native allocations (the JIT above all, which compiles hot methods a second time, optimised,
/// in the first minutes under load) leave the malloc arenas mostly free but resident: after the load benchmark
/// about 13 of 18 MB. A trim takes 0.3-0.65 ms. Linux with glibc only; elsewhere, or on a libc without
/// <c>malloc_trim</c>, it is skipped from the first call.</item>
/// </list>
/// </summary>
internal sealed partial class MemoryTrimmer(ILogger<MemoryTrimmer> logger, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private const long GcSlack = 4 << 20;
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

    /// <summary>A compacting collection that decommits, when the GC holds more than <see cref="GcSlack"/> free; true if it ran.</summary>
    public static bool TrimManaged()
    {
        var info = GC.GetGCMemoryInfo();
        if (info.TotalCommittedBytes - info.HeapSizeBytes <= GcSlack)
        {
            return false;
        }
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        bool native = Trim();
        if (!native)
        {
            LogUnavailable(logger);
        }
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            TrimManaged();
            if (native)
            {
                Trim();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LoggerMessage(EventId = 1500, Level = LogLevel.Debug, Message = "malloc_trim is not available here; native memory is left to the allocator")]
    private static partial void LogUnavailable(ILogger logger);
}
