using System.Runtime.InteropServices;

namespace FilterService.Runtime;

/// <summary>
/// The CPU time the calling thread has used (user and system), for pacing a background thread on the work it did
/// rather than on the wall clock, which under load also counts the time the thread waited for a core (at nice 19,
/// most of it). Linux: <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c> (nanoseconds, through the vDSO); Windows:
/// <c>GetThreadTimes</c> (100 ns units, updated at the scheduler's tick). Elsewhere, or where the call fails, null
/// from the first failure on: the caller falls back to the wall clock.
/// </summary>
internal static partial class ThreadCpuTime
{
    private const int ClockThreadCpuTimeId = 3;
    private static int s_unavailable = OperatingSystem.IsLinux() || OperatingSystem.IsWindows() ? 0 : 1;

    /// <summary>CPU time used so far by the calling thread, or null where it cannot be read.</summary>
    public static TimeSpan? Now()
    {
        if (Volatile.Read(ref s_unavailable) != 0)
        {
            return null;
        }
        try
        {
            if (OperatingSystem.IsLinux())
            {
                if (clock_gettime(ClockThreadCpuTimeId, out var spec) == 0)
                {
                    return TimeSpan.FromTicks(spec.Seconds * TimeSpan.TicksPerSecond + spec.Nanoseconds / 100);
                }
            }
            else if (GetThreadTimes(GetCurrentThread(), out _, out _, out long kernel, out long user))
            {
                return TimeSpan.FromTicks(kernel + user);
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
        }
        Volatile.Write(ref s_unavailable, 1);
        return null;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public nint Seconds;
        public nint Nanoseconds;
    }

    [LibraryImport("libc")]
    private static partial int clock_gettime(int clock, out TimeSpec spec);

    [LibraryImport("kernel32")]
    private static partial nint GetCurrentThread();

    [LibraryImport("kernel32")]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool GetThreadTimes(nint thread, out long creation, out long exit, out long kernel, out long user);
}
