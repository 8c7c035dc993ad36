using System.Text;

namespace FilterService.Proxy;

/// <summary>The IMF-fixdate for <c>Date</c> headers, formatted once a second of the given clock.</summary>
internal static class HttpDate
{
    private sealed record Formatted(long Second, byte[] Bytes);

    private static volatile Formatted s_current = new(-1, []);

    public static ReadOnlySpan<byte> Current(TimeProvider time)
    {
        var now = time.GetUtcNow().UtcDateTime;
        long second = now.Ticks / TimeSpan.TicksPerSecond;
        var current = s_current;
        if (current.Second != second)
        {
            current = new(second, Encoding.ASCII.GetBytes(now.ToString("r", System.Globalization.CultureInfo.InvariantCulture)));
            s_current = current;
        }
        return current.Bytes;
    }
}
