namespace FilterService.Admin.Decisions;

/// <summary>
/// The strings of an audit line's repeated values (client address, user, roles, network, method, rule, category) by
/// their UTF-8 bytes, without a new string per line when the same bytes were seen lately: a fixed table of
/// <see cref="Slots"/> entries, each slot keeping the last value hashed to it, so memory is bounded whatever the
/// variety and a miss costs only the string it would have cost anyway. The indexer's thread then allocates, and
/// collects, far less per line (the GC, the workstation one, stops the proxy's threads while it collects). One thread
/// at a time.
/// </summary>
internal sealed class Utf8StringCache
{
    public const int Slots = 4096;
    public const int MaxLength = 128;

    private readonly byte[]?[] _keys = new byte[Slots][];
    private readonly string[] _values = new string[Slots];

    /// <summary>The string last stored for exactly these bytes, if its slot still holds it; <paramref name="slot"/> is where to store one.</summary>
    public bool TryGet(ReadOnlySpan<byte> utf8, out int slot, out string value)
    {
        var hash = new HashCode();
        hash.AddBytes(utf8);
        slot = hash.ToHashCode() & (Slots - 1);
        if (utf8.Length <= MaxLength && _keys[slot] is { } key && utf8.SequenceEqual(key))
        {
            value = _values[slot];
            return true;
        }
        value = "";
        return false;
    }

    /// <summary>Stores <paramref name="value"/> for these bytes in <paramref name="slot"/> (from <see cref="TryGet"/>); long values are not kept.</summary>
    public void Set(int slot, ReadOnlySpan<byte> utf8, string value)
    {
        if (utf8.Length <= MaxLength)
        {
            _keys[slot] = utf8.ToArray();
            _values[slot] = value;
        }
    }
}
