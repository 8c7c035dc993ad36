using System.Collections.Frozen;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace PolicyModel.Matching;

/// <summary>
/// <see cref="EntryKind.Hash"/> entries: SHA-256 digests of normalised hosts and <c>host/path</c> prefixes.
/// A lookup hashes the host, each parent domain, and for each of those every path prefix at a segment
/// boundary (see Matching/README.md), into stack buffers.
/// </summary>
internal sealed class HashIndex
{
    /// <summary>Host plus path prefixes longer than this are not hashed (the stack buffer); entries are far shorter.</summary>
    public const int MaxInputBytes = 2048;

    [StructLayout(LayoutKind.Sequential)]
    internal readonly record struct Digest(ulong A, ulong B, ulong C, ulong D)
    {
        public static Digest FromBytes(ReadOnlySpan<byte> bytes) => MemoryMarshal.Read<Digest>(bytes);

        public static Digest FromHex(string hex) => FromBytes(Convert.FromHexString(hex));

        public override int GetHashCode() => (int)A;
    }

    private readonly FrozenDictionary<Digest, int> _tags;

    public HashIndex(IEnumerable<KeyValuePair<string, int>> hexAndTags)
    {
        _tags = hexAndTags.ToFrozenDictionary(kv => Digest.FromHex(kv.Key), kv => kv.Value);
    }

    public ulong Match(ReadOnlySpan<char> host, ReadOnlySpan<char> pathAndQuery, ulong[] fullMask)
    {
        var collector = new MaskCollector(fullMask);
        Visit(host, pathAndQuery, ref collector);
        return collector.Mask;
    }

    /// <summary>Matching digests as (hex, tag, length of the hashed text), in no particular order. Allocates.</summary>
    public List<(string Hex, int Tag, int Length)> FindAll(ReadOnlySpan<char> host, ReadOnlySpan<char> pathAndQuery)
    {
        var collector = new HitCollector(new List<(string, int, int)>());
        Visit(host, pathAndQuery, ref collector);
        return collector.Hits;
    }

    private interface IHitSink
    {
        void OnHit(int tag, ReadOnlySpan<byte> input, ReadOnlySpan<byte> digest);
    }

    private struct MaskCollector(ulong[] fullMask) : IHitSink
    {
        public ulong Mask;

        public void OnHit(int tag, ReadOnlySpan<byte> input, ReadOnlySpan<byte> digest) => Mask |= fullMask[tag];
    }

    private readonly struct HitCollector(List<(string, int, int)> hits) : IHitSink
    {
        public List<(string, int, int)> Hits => hits;

        public void OnHit(int tag, ReadOnlySpan<byte> input, ReadOnlySpan<byte> digest) =>
            hits.Add((Convert.ToHexStringLower(digest), tag, input.Length));
    }

    /// <summary>Hashes every candidate text and reports the listed ones. Generic over a struct sink: no allocation.</summary>
    private void Visit<TSink>(ReadOnlySpan<char> host, ReadOnlySpan<char> pathAndQuery, ref TSink sink)
        where TSink : struct, IHitSink
    {
        Span<byte> buffer = stackalloc byte[MaxInputBytes];
        if (!TryFill(host, pathAndQuery, buffer, out int hostLength, out int totalLength))
            return;
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        bool literal = HostName.IsIPLiteral(host);
        for (int start = 0; start < hostLength; start++)
        {
            if (start > 0 && (literal || buffer[start - 1] != '.'))
                continue;
            for (int end = hostLength; end <= totalLength; end++)
            {
                if (!IsCut(buffer, hostLength, totalLength, end))
                    continue;
                var input = buffer[start..end];
                SHA256.HashData(input, digest);
                if (_tags.TryGetValue(Digest.FromBytes(digest), out int tag))
                    sink.OnHit(tag, input, digest);
            }
        }
    }

    /// <summary>
    /// Writes <c>host + lower(path without query or fragment)</c> as ASCII. False when nothing can be hashed
    /// (non-ASCII host, or host too long); a non-ASCII or over-long path is cut back to what fits.
    /// </summary>
    private static bool TryFill(ReadOnlySpan<char> host, ReadOnlySpan<char> pathAndQuery, Span<byte> buffer, out int hostLength, out int totalLength)
    {
        hostLength = totalLength = 0;
        if (host.IsEmpty || host.Length > buffer.Length || Ascii.FromUtf16(host, buffer, out hostLength) != System.Buffers.OperationStatus.Done)
            return false;
        if (pathAndQuery.IsEmpty || pathAndQuery[0] != '/')
        {
            totalLength = hostLength;
            return true;
        }
        int cut = pathAndQuery.IndexOfAny('?', '#');
        if (cut >= 0)
            pathAndQuery = pathAndQuery[..cut];
        bool partial = false;
        if (pathAndQuery.Length > buffer.Length - hostLength)
        {
            pathAndQuery = pathAndQuery[..(buffer.Length - hostLength)];
            partial = true;
        }
        partial |= Ascii.ToLower(pathAndQuery, buffer[hostLength..], out int written) != System.Buffers.OperationStatus.Done;
        if (partial)
        {
            // The last segment was cut short (by the buffer or a non-ASCII character): hash only whole segments.
            written = buffer.Slice(hostLength, written).LastIndexOf((byte)'/');
        }
        totalLength = hostLength + written;
        return true;
    }

    /// <summary>Ends of hashed texts: the host alone, before each later <c>/</c>, and the whole path unless it ends in <c>/</c>.</summary>
    private static bool IsCut(ReadOnlySpan<byte> buffer, int hostLength, int totalLength, int end)
    {
        if (end == hostLength)
            return true;
        if (end < totalLength)
            return end > hostLength && buffer[end] == '/';
        return buffer[end - 1] != '/';
    }
}
