namespace FilterService.Audit;

/// <summary>
/// A record's time as the audit log writes it, <c>yyyy-MM-ddTHH:mm:ss.fffZ</c> (UTC, milliseconds truncated), in
/// UTF-8: the same bytes as <c>UtcDateTime.TryFormat</c> with that format (AuditTimeFormatTests), without formatting a
/// date per record. The first 20 bytes change once a second: they are kept for the last second formatted, in one
/// immutable entry swapped whole, so any number of threads may format at once and a thread reads either the old
/// second's entry or the new one, never half of each; records of two seconds interleaving (a boundary, a late record)
/// only format the prefix again. The time is the record's own (the request's injected clock), never the system's.
/// </summary>
internal static class AuditTimeFormat
{
    /// <summary>Bytes written: <c>2026-12-05T09:00:00.123Z</c>.</summary>
    public const int Length = 24;

    private const int PrefixLength = 20; // through the dot after the seconds

    private static Entry? s_last;

    /// <summary>Writes the time into the first <see cref="Length"/> bytes of <paramref name="into"/>.</summary>
    public static void Write(DateTimeOffset at, Span<byte> into)
    {
        long ticks = at.UtcTicks;
        long second = ticks / TimeSpan.TicksPerSecond;
        var entry = Volatile.Read(ref s_last);
        if (entry is null || entry.Second != second)
        {
            entry = new Entry(second);
            Volatile.Write(ref s_last, entry);
        }
        entry.Prefix.CopyTo(into);
        int ms = (int)(ticks % TimeSpan.TicksPerSecond / TimeSpan.TicksPerMillisecond);
        into[PrefixLength] = (byte)('0' + ms / 100);
        into[PrefixLength + 1] = (byte)('0' + ms / 10 % 10);
        into[PrefixLength + 2] = (byte)('0' + ms % 10);
        into[PrefixLength + 3] = (byte)'Z';
    }

    private sealed class Entry
    {
        public Entry(long second)
        {
            Second = second;
            var at = new DateTime(second * TimeSpan.TicksPerSecond, DateTimeKind.Utc);
            if (!at.TryFormat(Prefix, out int n, "yyyy-MM-dd'T'HH:mm:ss'.'", System.Globalization.CultureInfo.InvariantCulture) || n != PrefixLength)
            {
                throw new InvalidOperationException($"unexpected time prefix for {at:O}");
            }
        }

        public long Second { get; }

        public byte[] Prefix { get; } = new byte[PrefixLength];
    }
}
