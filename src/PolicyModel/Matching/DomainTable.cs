using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PolicyModel.Matching;

/// <summary>
/// The domain (subtree and exact) entries of every list: an open-addressing hash table whose records hold 32 bits
/// of each name's 64-bit hash and its tag, not its text. Immutable after construction; reads need no locks. See Matching/README.md for
/// the layout and invariants.
/// </summary>
internal sealed partial class DomainTable
{
    /// <summary>
    /// A record is a 32-bit key, bits 24-55 of the name's hash (<see cref="KeyOf"/>), and a 16-bit tag, in two
    /// parallel arrays. The key shares no bit with the fingerprint (bits 56-63) nor, up to 2^24 slots (11.7M
    /// names), with the slot index (the low bits): a probe compares 40 bits that the slot has not already fixed.
    /// </summary>
    private const int KeyShift = 24;

    /// <summary>Linear probing stays short (about 2-6 slots for a miss, i.e. one or two cache lines) up to here.</summary>
    private const double MaxLoad = 0.7;

    private const ulong Seed = 0xcbf29ce484222325;
    private const ulong Prime = 0x100000001b3;
    private const ulong Multiplier = 0x9e3779b97f4a7c15;

    /// <summary>Slots a probe step compares at once (one <c>Vector128&lt;byte&gt;</c>); also the copies of the first
    /// slots kept after the last one, so a step never wraps.</summary>
    private const int Mirror = 16;

    /// <summary>Slots per block; each block has one base offset into the blob.</summary>
    private const int BlockShift = 3;

    /// <summary>
    /// Per slot, 8 bits of the name's hash (never 0; 0 = empty slot). A miss, the common case, reads only this
    /// array: 1 byte per slot, 2 MB for 1.4M names, small enough to stay in cache. Measured: 16-bit fingerprints
    /// (4 MB) made lookups about 20% slower; the extra false matches of 8 bits (about 1 probe in 100 reads a
    /// record it did not need) cost far less than the cache misses saved.
    /// </summary>
    private readonly byte[] _fingerprints;

    /// <summary>
    /// Records are stored in slot order, so a slot's record is its block's first record plus one per occupied slot
    /// before it in the block (at most 7). This holds the index of each block's first record: 4 bytes per 8 slots
    /// instead of an offset per slot, and a hit stays one uncached read (the record).
    /// </summary>
    private readonly int[] _blockBases;
    private readonly int _slotMask;
    private readonly uint[] _keys;
    private readonly ushort[] _tags;

    /// <summary>Bit k set when some name has k labels (bit 63: 63 or more); other suffix lengths are not probed.</summary>
    private readonly ulong _labelCounts;

    public int Count { get; }

    public DomainTable(List<KeyValuePair<string, int>> namesAndTags)
    {
        Count = namesAndTags.Count;
        if (Count > 200_000_000)
            throw new InvalidOperationException("The domain lists hold more than 200 million names.");
        int capacity = 1 << BlockShift;
        while (capacity * MaxLoad < Count)
            capacity <<= 1;
        _fingerprints = HugePageArrays.Allocate<byte>(capacity + Mirror);
        _slotMask = capacity - 1;

        // Pass 1, in name order: place every name; remember each name's slot.
        var slotOfName = new int[Count];
        for (int i = 0; i < Count; i++)
        {
            string name = namesAndTags[i].Key;
            ulong hash = HashName(name);
            int index = (int)hash & _slotMask;
            while (_fingerprints[index] != 0)
                index = (index + 1) & _slotMask;
            _fingerprints[index] = FingerprintOf(hash);
            slotOfName[i] = index;
            _labelCounts |= 1UL << Math.Min(LabelCount(name), 63);
        }
        _fingerprints.AsSpan(0, Mirror).CopyTo(_fingerprints.AsSpan(capacity));

        // Pass 2, in slot order: each occupied slot's record index (a running count) and the block bases.
        var recordOfSlot = new int[capacity];
        _blockBases = HugePageArrays.Allocate<int>(capacity >> BlockShift);
        int records = 0;
        for (int slot = 0; slot < capacity; slot++)
        {
            if ((slot & ((1 << BlockShift) - 1)) == 0)
                _blockBases[slot >> BlockShift] = records;
            recordOfSlot[slot] = records;
            if (_fingerprints[slot] != 0)
                records++;
        }

        // Pass 3, in name order again (reading names in slot order would chase a pointer per record).
        _keys = HugePageArrays.Allocate<uint>(Count);
        _tags = HugePageArrays.Allocate<ushort>(Count);
        for (int i = 0; i < Count; i++)
        {
            var (name, tag) = namesAndTags[i];
            int record = recordOfSlot[slotOfName[i]];
            _keys[record] = KeyOf(HashName(name));
            _tags[record] = checked((ushort)tag);
        }
    }

    /// <summary>Bytes held by the table (fingerprints, block bases, keys, tags), for the resident-size figures.</summary>
    public long ResidentBytes =>
        (long)_fingerprints.Length + (long)_blockBases.Length * sizeof(int) + (long)_keys.Length * sizeof(uint)
        + (long)_tags.Length * sizeof(ushort);

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

        ref char h0 = ref MemoryMarshal.GetReference(host);
        // Hosts up to 64 characters (nearly all) find their dots with a few vector compares, once.
        bool short64 = n <= 64;
        bool colon = false;
        ulong dots = short64 ? ScanDots(ref h0, n, out colon) : 0;
        if (short64 ? colon || (char.IsAsciiDigit(host[^1]) && HostName.IsDottedQuad(host)) : IsLiteral(host))
            return Find(HashName(host), fullMask, null);

        // Right to left, one label at a time: the hash of each suffix extends the previous one by one label, so
        // every suffix costs one label's hashing. Suffixes with a label count no entry has are not probed.
        // All probe addresses are computed and prefetched first, then probed: the probes are independent, so
        // their cache misses overlap instead of queueing one after another.
        Probes probes = default;
        ulong mask = 0;
        ulong labelCounts = _labelCounts;
        ulong suffix = Seed;
        int end = n, labels = 0, pending = 0;
        while (true)
        {
            int dot = short64 ? LastDot(dots, end) : host.Slice(0, end).LastIndexOf('.');
            int start = dot + 1;
            suffix = Extend(suffix, LabelHash(ref Unsafe.Add(ref h0, start), end - start));
            labels++;
            if (((labelCounts >> Math.Min(labels, 63)) & 1) != 0)
            {
                ulong hash = Finish(suffix);
                Prefetch((int)hash & _slotMask);
                probes.Hashes[pending] = hash;
                probes.Starts[pending] = start;
                if (++pending == Probes.Capacity)
                {
                    mask |= ProbeAll(ref probes, pending, fullMask, subtreeMask);
                    pending = 0;
                }
            }
            if (dot < 0)
                return mask | ProbeAll(ref probes, pending, fullMask, subtreeMask);
            end = dot;
        }
    }

    /// <summary>Bit i set where <c>host[i]</c> is a dot (<paramref name="n"/> at most 64); also whether any is a colon.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ScanDots(ref char h0, int n, out bool colon)
    {
        ulong dots = 0;
        uint colons = 0;
        if (Vector128.IsHardwareAccelerated && n >= Vector128<ushort>.Count)
        {
            ref ushort u0 = ref Unsafe.As<char, ushort>(ref h0);
            var dot = Vector128.Create((ushort)'.');
            var colonChar = Vector128.Create((ushort)':');
            // Whole vectors, then one more ending at the last character (overlapping bits are simply set twice).
            for (int i = 0; ; i += Vector128<ushort>.Count)
            {
                int at = Math.Min(i, n - Vector128<ushort>.Count);
                var v = Vector128.LoadUnsafe(ref u0, (nuint)at);
                dots |= (ulong)Vector128.Equals(v, dot).ExtractMostSignificantBits() << at;
                colons |= Vector128.Equals(v, colonChar).ExtractMostSignificantBits();
                if (at == n - Vector128<ushort>.Count)
                    break;
            }
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                char c = Unsafe.Add(ref h0, i);
                dots |= (c == '.' ? 1UL : 0) << i;
                colons |= c == ':' ? 1u : 0;
            }
        }
        colon = colons != 0;
        return dots;
    }

    /// <summary>Position of the last dot before <paramref name="end"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int LastDot(ulong dots, int end)
    {
        ulong before = end >= 64 ? dots : dots & ((1UL << end) - 1);
        return 63 - BitOperations.LeadingZeroCount(before);
    }

    /// <summary>Suffix hashes waiting to be probed; 8 covers all but the longest hosts, which probe in batches.</summary>
    [SkipLocalsInit]
    private struct Probes
    {
        public const int Capacity = 8;
        public HashBuffer Hashes;
        public StartBuffer Starts;
    }

    [InlineArray(Probes.Capacity)]
    private struct HashBuffer
    {
        private ulong _first;
    }

    [InlineArray(Probes.Capacity)]
    private struct StartBuffer
    {
        private int _first;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ProbeAll(ref Probes probes, int count, ulong[] fullMask, ulong[] subtreeMask)
    {
        ulong mask = 0;
        for (int i = 0; i < count; i++)
            mask |= Find(probes.Hashes[i], probes.Starts[i] == 0 ? fullMask : subtreeMask, null);
        return mask;
    }

    /// <summary>Asks for the slot's fingerprint line and its block base, the two reads a probe starts with.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void Prefetch(int index)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_fingerprints), index)));
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_blockBases), index >> BlockShift)));
        }
    }

    /// <summary>
    /// Every entry matching <paramref name="host"/>, most specific (longest) first, into <paramref name="hits"/> (cleared
    /// first): where the matched name starts (it is <c>host[Start..]</c>), its tag, and whether it is the whole host.
    /// <paramref name="tags"/> is scratch. Allocates nothing once the lists have grown: the block page's explanation
    /// asks this for every blocked request.
    /// </summary>
    public void FindAll(ReadOnlySpan<char> host, List<(int Start, int Tag, bool WholeHost)> hits, List<int> tags)
    {
        hits.Clear();
        if (Count == 0 || host.IsEmpty)
            return;
        tags.Clear();
        Find(HashName(host), null, tags);
        foreach (int tag in tags)
            hits.Add((0, tag, true));
        if (IsLiteral(host))
            return;
        int labels = LabelCount(host);
        for (int i = 0; i < host.Length; i++)
        {
            if (host[i] != '.')
                continue;
            // As Match: a suffix with a label count no name has is not probed.
            if (((_labelCounts >> Math.Min(--labels, 63)) & 1) == 0)
                continue;
            tags.Clear();
            Find(HashName(host[(i + 1)..]), null, tags);
            foreach (int tag in tags)
                hits.Add((i + 1, tag, false));
        }
    }

    /// <summary>IP literals match only as a whole: their "suffixes" (<c>0.1</c>) are not parent domains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsLiteral(ReadOnlySpan<char> host) =>
        (char.IsAsciiDigit(host[^1]) && HostName.IsDottedQuad(host)) || host.Contains(':');

    /// <summary>The whole 64-bit hash of <paramref name="name"/> (for the tests of the mixing).</summary>
    internal static ulong HashOf(string name) => HashName(name);

    /// <summary>How many records a lookup of <paramref name="name"/> as a whole agrees with: 1 for a listed name
    /// when no other name in its probe run shares its fingerprint and key (for the tests).</summary>
    internal int RecordsAgreeingWith(string name)
    {
        var tags = new List<int>();
        Find(HashName(name), null, tags);
        return tags.Count;
    }

    /// <summary>
    /// Every record for <paramref name="hash"/>: the OR of <paramref name="masks"/>[tag] over them, and with
    /// <paramref name="tags"/> their tags. A record is for the hash when it lies in the hash's probe run (from its
    /// slot to the first empty one) and its fingerprint (bits 56-63) and key (bits 24-55) agree. Every record that
    /// agrees counts, not only the first: if two listed names in one run share those 40 bits, a lookup of either
    /// gets the categories of both, so a listed name is never let through, and the only possible error is an
    /// unlisted name taken for a listed one (about one chance in 2 x 10^11 per probe at the table's load;
    /// Matching/README.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Find(ulong hash, ulong[]? masks, List<int>? tags)
    {
        // Sixteen slots per step: one compare finds the fingerprint matches before the first empty slot, so the
        // usual miss is one load and two compares, with no branch per slot. The mirror after the last slot
        // lets a step that starts near the end read past it.
        var target = Vector128.Create(FingerprintOf(hash));
        uint key = KeyOf(hash);
        ulong mask = 0;
        int index = (int)hash & _slotMask;
        ref byte f0 = ref MemoryMarshal.GetArrayDataReference(_fingerprints);
        while (true)
        {
            var slots = Vector128.LoadUnsafe(ref f0, (nuint)index);
            uint empty = Vector128.Equals(slots, Vector128<byte>.Zero).ExtractMostSignificantBits();
            uint matches = Vector128.Equals(slots, target).ExtractMostSignificantBits() & ((empty & (0u - empty)) - 1);
            while (matches != 0)
            {
                int record = RecordAt((index + BitOperations.TrailingZeroCount(matches)) & _slotMask);
                if (Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_keys), record) == key)
                {
                    int tag = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tags), record);
                    if (masks is not null)
                        mask |= masks[tag];
                    tags?.Add(tag);
                }
                matches &= matches - 1;
            }
            if (empty != 0)
                return mask;
            index = (index + Mirror) & _slotMask;
        }
    }

    /// <summary>The record index of an occupied slot: its block's first record, then one per occupied slot before it.</summary>
    private int RecordAt(int index)
    {
        ref byte f0 = ref MemoryMarshal.GetArrayDataReference(_fingerprints);
        int record = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_blockBases), index >> BlockShift);
        for (int slot = index & ~((1 << BlockShift) - 1); slot < index; slot++)
        {
            if (Unsafe.Add(ref f0, slot) != 0)
                record++;
        }
        return record;
    }
}
