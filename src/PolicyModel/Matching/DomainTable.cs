using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace PolicyModel.Matching;

/// <summary>
/// The domain (subtree and exact) entries of every list: an open-addressing hash table over one byte blob.
/// Immutable after construction; reads need no locks. See Matching/README.md for the layout and invariants.
/// </summary>
internal sealed class DomainTable
{
    /// <summary>Bytes before the name in a blob record: length (1), tag (2, little-endian).</summary>
    private const int RecordHeader = 3;

    /// <summary>Linear probing stays short (about 2-6 slots for a miss, i.e. one or two cache lines) up to here.</summary>
    private const double MaxLoad = 0.7;

    private const ulong Seed = 0xcbf29ce484222325;
    private const ulong Prime = 0x100000001b3;

    /// <summary>Each slot: fingerprint (high 32 bits, never 0) and blob offset (low 32 bits); 0 = empty.</summary>
    private readonly ulong[] _slots;
    private readonly int _slotMask;
    private readonly byte[] _blob;

    public int Count { get; }

    public DomainTable(IReadOnlyCollection<KeyValuePair<string, int>> namesAndTags)
    {
        Count = namesAndTags.Count;
        int capacity = 8;
        while (capacity * MaxLoad < Count)
            capacity <<= 1;
        _slots = new ulong[capacity];
        _slotMask = capacity - 1;

        long blobLength = 0;
        foreach (var (name, _) in namesAndTags)
            blobLength += RecordHeader + name.Length;
        if (blobLength > int.MaxValue)
            throw new InvalidOperationException("The domain lists are larger than 2 GB.");
        _blob = GC.AllocateUninitializedArray<byte>((int)blobLength);

        int offset = 0;
        foreach (var (name, tag) in namesAndTags)
        {
            _blob[offset] = (byte)name.Length;
            Unsafe.WriteUnaligned(ref _blob[offset + 1], (ushort)tag);
            Encoding.ASCII.GetBytes(name, _blob.AsSpan(offset + RecordHeader, name.Length));
            Insert(HashName(name), offset);
            offset += RecordHeader + name.Length;
        }
    }

    /// <summary>Bytes held by the table (slots and blob), for the resident-size figures.</summary>
    public long ResidentBytes => (long)_slots.Length * sizeof(ulong) + _blob.Length;

    /// <summary>
    /// ORs into a mask the categories of the entries matching <paramref name="host"/>: for the whole host
    /// <paramref name="fullMask"/>[tag] (subtree and exact entries), for each parent suffix at a label
    /// boundary <paramref name="subtreeMask"/>[tag]. One right-to-left pass computes every suffix hash.
    /// </summary>
    public ulong Match(ReadOnlySpan<char> host, ulong[] fullMask, ulong[] subtreeMask)
    {
        int n = host.Length;
        // Names longer than 255 never equal a record, but their parent suffixes still can: no length cut-off here.
        if (Count == 0 || n == 0)
            return 0;

        ulong mask = 0;
        ref char h0 = ref MemoryMarshal.GetReference(host);
        if (!IsLiteral(host))
        {
            ulong h = Seed;
            for (int i = n - 1; i >= 0; i--)
            {
                char c = Unsafe.Add(ref h0, i);
                if (c == '.')
                {
                    int tag = Find(Finish(h, n - 1 - i), host.Slice(i + 1));
                    if (tag >= 0)
                        mask |= subtreeMask[tag];
                }
                h = (h ^ c) * Prime;
            }
            int whole = Find(Finish(h, n), host);
            if (whole >= 0)
                mask |= fullMask[whole];
            return mask;
        }

        int literal = Find(HashName(host), host);
        return literal >= 0 ? fullMask[literal] : 0;
    }

    /// <summary>
    /// Every entry matching <paramref name="host"/>, most specific (longest) first: (matched name, tag, whole host?).
    /// Allocates; for explanations only.
    /// </summary>
    public List<(string Name, int Tag, bool WholeHost)> FindAll(ReadOnlySpan<char> host)
    {
        var hits = new List<(string, int, bool)>();
        if (Count == 0 || host.IsEmpty)
            return hits;
        int whole = Find(HashName(host), host);
        if (whole >= 0)
            hits.Add((host.ToString(), whole, true));
        if (IsLiteral(host))
            return hits;
        for (int i = 0; i < host.Length; i++)
        {
            if (host[i] != '.')
                continue;
            var suffix = host[(i + 1)..];
            int tag = Find(HashName(suffix), suffix);
            if (tag >= 0)
                hits.Add((suffix.ToString(), tag, false));
        }
        return hits;
    }

    /// <summary>IP literals match only as a whole: their "suffixes" (<c>0.1</c>) are not parent domains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsLiteral(ReadOnlySpan<char> host) =>
        (char.IsAsciiDigit(host[^1]) && HostName.IsDottedQuad(host)) || host.Contains(':');

    private static ulong HashName(ReadOnlySpan<char> name)
    {
        ulong h = Seed;
        for (int i = name.Length - 1; i >= 0; i--)
            h = (h ^ name[i]) * Prime;
        return Finish(h, name.Length);
    }

    /// <summary>MurmurHash3's 64-bit finaliser, so that the cheap FNV-style chain spreads over slots and fingerprints.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Finish(ulong h, int length)
    {
        h ^= (ulong)length;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccd;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53;
        h ^= h >> 33;
        return h;
    }

    private void Insert(ulong hash, int offset)
    {
        ulong fingerprint = (hash >> 32) | 1;
        int index = (int)hash & _slotMask;
        while (_slots[index] != 0)
            index = (index + 1) & _slotMask;
        _slots[index] = (fingerprint << 32) | (uint)offset;
    }

    /// <summary>The tag of <paramref name="name"/>, or -1. Compares the fingerprint first, bytes only on a fingerprint hit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Find(ulong hash, ReadOnlySpan<char> name)
    {
        uint fingerprint = (uint)(hash >> 32) | 1;
        int index = (int)hash & _slotMask;
        ref ulong s0 = ref MemoryMarshal.GetArrayDataReference(_slots);
        ref byte b0 = ref MemoryMarshal.GetArrayDataReference(_blob);
        while (true)
        {
            ulong slot = Unsafe.Add(ref s0, index);
            if (slot == 0)
                return -1;
            if ((uint)(slot >> 32) == fingerprint)
            {
                int offset = (int)(uint)slot;
                ref byte record = ref Unsafe.Add(ref b0, offset);
                if (record == name.Length
                    && Ascii.Equals(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref record, RecordHeader), name.Length), name))
                {
                    return Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref record, 1));
                }
            }
            index = (index + 1) & _slotMask;
        }
    }
}
