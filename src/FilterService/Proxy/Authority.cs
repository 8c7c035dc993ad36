using System.Globalization;

namespace FilterService.Proxy;

/// <summary>Splits an authority (<c>host:port</c>, <c>[v6]:port</c>) without allocating.</summary>
internal static class Authority
{
    /// <summary>
    /// Splits <paramref name="authority"/>. <paramref name="defaultPort"/> 0 means the port is required
    /// (CONNECT). Userinfo, empty hosts, port 0 and anything after the port are refused.
    /// </summary>
    public static bool TrySplit(ReadOnlySpan<char> authority, int defaultPort, out ReadOnlySpan<char> host, out int port)
    {
        host = default;
        port = 0;
        if (authority.IsEmpty || authority.IndexOfAny('@', '/', '\\') >= 0 || authority.IndexOfAny(' ', '\t') >= 0)
        {
            return false;
        }
        ReadOnlySpan<char> rest;
        if (authority[0] == '[')
        {
            int close = authority.IndexOf(']');
            if (close < 2)
            {
                return false;
            }
            host = authority[1..close];
            rest = authority[(close + 1)..];
        }
        else
        {
            int colon = authority.IndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            rest = colon < 0 ? default : authority[colon..];
        }
        if (host.IsEmpty)
        {
            return false;
        }
        if (rest.IsEmpty)
        {
            port = defaultPort;
            return defaultPort != 0;
        }
        if (rest[0] != ':' || rest.Length < 2 || rest.Length > 6)
        {
            return false;
        }
        return int.TryParse(rest[1..], NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and < 65536;
    }

    /// <summary><c>host:port</c> for logs, with brackets around IPv6.</summary>
    public static string Format(string host, int port) =>
        host.Contains(':') ? $"[{host}]:{port.ToString(CultureInfo.InvariantCulture)}" : $"{host}:{port.ToString(CultureInfo.InvariantCulture)}";
}
