using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace PolicyModel.Matching;

// How a name is hashed, label by label from the right so every suffix's hash falls out of one pass, and which bits of the hash are the slot, the key and the fingerprint.
internal sealed partial class DomainTable
{
    /// <summary>The hash <see cref="Match"/> computes for <paramref name="name"/> as a whole.</summary>
    private static ulong HashName(ReadOnlySpan<char> name)
    {
        ref char n0 = ref MemoryMarshal.GetReference(name);
        ulong suffix = Seed;
        int end = name.Length;
        while (true)
        {
            int dot = name.Slice(0, end).LastIndexOf('.');
            suffix = Extend(suffix, LabelHash(ref Unsafe.Add(ref n0, dot + 1), end - dot - 1));
            if (dot < 0)
                return Finish(suffix);
            end = dot;
        }
    }

    private static int LabelCount(ReadOnlySpan<char> name) => name.Count('.') + 1;

    /// <summary>
    /// Hash of one label, four UTF-16 characters (one <c>ulong</c>) per step from its right end; the 1-3 left-over
    /// characters make one more step. Multiply-rotate so that high bits reach the low (index) bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong LabelHash(ref char start, int length)
    {
        ulong h = Seed ^ (ulong)length;
        int end = length;
        while (end >= 4)
        {
            ulong chunk = Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<char, byte>(ref Unsafe.Add(ref start, end - 4)));
            h = BitOperations.RotateLeft((h ^ chunk) * Multiplier, 31);
            end -= 4;
        }
        if (end > 0)
        {
            ulong rest = start;
            for (int i = 1; i < end; i++)
                rest = (rest << 16) | Unsafe.Add(ref start, i);
            h = BitOperations.RotateLeft((h ^ rest) * Multiplier, 31);
        }
        return h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Extend(ulong suffix, ulong label) => BitOperations.RotateLeft((suffix ^ label) * Prime, 27) + label;

    /// <summary>MurmurHash3's 64-bit finaliser, so that every bit of the suffix state reaches index and fingerprint.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Finish(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccd;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53;
        h ^= h >> 33;
        return h;
    }

    /// <summary>The high 8 bits of the hash (the index uses the low bits), with 0 reserved for empty slots.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte FingerprintOf(ulong hash) => Math.Max((byte)1, (byte)(hash >> 56));

    /// <summary>Bits 24-55 of the hash: what a record holds besides its tag.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint KeyOf(ulong hash) => (uint)(hash >> KeyShift);
}
