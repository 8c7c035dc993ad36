using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PolicyModel.Matching;

/// <summary>
/// Large lookup arrays on 2 MB pages where the OS allows it. The matcher's cost is random reads into tens of MB;
/// with 4 KB pages most of them also miss the TLB, and a page walk under virtualisation costs as much as the read.
/// On Linux with transparent huge pages in <c>madvise</c> mode (the common default) an array is allocated pinned and
/// uninitialised, advised as <c>MADV_HUGEPAGE</c> before its first touch, then written. Elsewhere, or if the call
/// fails, it is an ordinary array: only speed differs, never contents. The arrays stay ordinary managed memory
/// (pinned heap), freed by the GC like any other.
/// </summary>
internal static partial class HugePageArrays
{
    private const int HugePage = 2 << 20;
    private const int MadvHugePage = 14;

    /// <summary>Below this an array spans no whole huge page worth advising.</summary>
    private const int MinBytes = 2 * HugePage;

    /// <summary>Off: ordinary arrays everywhere (for the benchmarks' comparison).</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>A zeroed array of <paramref name="length"/> elements.</summary>
    public static T[] Allocate<T>(int length) where T : unmanaged
    {
        long bytes = (long)length * Unsafe.SizeOf<T>();
        if (!Enabled || bytes < MinBytes || !OperatingSystem.IsLinux())
            return new T[length];
        var array = GC.AllocateUninitializedArray<T>(length, pinned: true);
        Advise(array, bytes);
        Array.Clear(array);
        return array;
    }

    private static unsafe void Advise<T>(T[] array, long bytes) where T : unmanaged
    {
        nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        nint first = (start + HugePage - 1) & ~(nint)(HugePage - 1);
        nint last = (start + (nint)bytes) & ~(nint)(HugePage - 1);
        if (last <= first)
            return;
        try
        {
            _ = madvise(first, (nuint)(last - first), MadvHugePage);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc/musl: ordinary pages.
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(nint address, nuint length, int advice);
}
