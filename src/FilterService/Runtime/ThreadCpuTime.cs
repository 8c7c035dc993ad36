using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FilterService.Runtime;

/// <summary>
/// The CPU time the calling thread has used (user and system), for pacing a background thread on the work it did
/// rather than on the wall clock, which under load also counts the time it waited for a core. Linux:
/// <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>, nanosecond resolution, about 50 ns a call through the vDSO.
/// Elsewhere, or where that call fails, <see cref="Available"/> is false and <see cref="Now"/> is the process's CPU
/// time: still not the wall clock, and the same for a thread that does nearly all of the process's background work.
/// </summary>
internal static partial class ThreadCpuTime
{
    private const int ClockThreadCpuTimeId = 3;
    private static int s_unavailable = OperatingSystem.IsLinux() ? 0 : 1;

    /// <summary>Whether <see cref="Now"/> is this thread's own CPU time (Linux), not the process's.</summary>
    public static bool Available
    {
        get
        {
            _ = Now();
            return Volatile.Read(ref s_unavailable) == 0;
        }
    }

    /// <summary>CPU time used so far by the calling thread (the process, where a thread's own is not available).</summary>
    public static TimeSpan Now()
    {
        if (Volatile.Read(ref s_unavailable) == 0)
        {
            try
            {
                if (clock_gettime(ClockThreadCpuTimeId, out var spec) == 0)
                {
                    return TimeSpan.FromTicks(spec.Seconds * TimeSpan.TicksPerSecond + spec.Nanoseconds / 100);
                }
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
            }
            Volatile.Write(ref s_unavailable, 1);
        }
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public nint Seconds;
        public nint Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int clock_gettime(int clock, out TimeSpec spec);
}
