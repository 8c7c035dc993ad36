using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PolicyModel.Matching;

namespace FilterService.Proxy;

/// <summary>Splits an authority (<c>host:port</c>, <c>[v6]:port</c>) without allocating.</summary>
internal static partial class Authority
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

    /// <summary>
    /// The one canonical form of a host that every path (CONNECT in the middleware and the tunnel loop, plain HTTP in both
    /// stages) decides on and connects to: <see cref="HostName.Normalize(ReadOnlySpan{char})"/>, then an IPv4 literal in any
    /// form the address parser reads (<c>2130706437</c>, <c>127.5</c>, <c>0x7f.1</c>, <c>0177.0.0.1</c>; the form
    /// <see cref="UpstreamConnector"/> connects to, and the form <see cref="Uri"/> gives plain HTTP targets) as its dotted
    /// quad, and an IPv4-mapped IPv6 literal (<c>::ffff:127.0.0.5</c>) as that IPv4, so list entries and rules see one text
    /// for one address. Null when it is no host.
    /// </summary>
    public static string? CanonicalHost(ReadOnlySpan<char> host) => CanonicalHost(host, original: null);

    /// <summary>
    /// As <see cref="CanonicalHost(ReadOnlySpan{char})"/>, returning <paramref name="host"/> itself when it is already
    /// canonical (a name from <see cref="Uri.Host"/>, which is lower-case, usually is): no copy per request.
    /// </summary>
    public static string? CanonicalHost(string host) => CanonicalHost(host, original: host);

    private static string? CanonicalHost(ReadOnlySpan<char> host, string? original)
    {
        if (HostName.Normalize(host, original) is not { } normalised)
        {
            return null;
        }
        if (normalised.Contains(':'))
        {
            var v6 = IPAddress.Parse(normalised);
            return v6.IsIPv4MappedToIPv6 ? v6.MapToIPv4().ToString() : normalised;
        }
        // Only digits, dots, hex digits and the x of 0x can make an IPv4 literal; a name never parses as one.
        if (normalised.AsSpan().ContainsAnyExcept(NumericHostChars))
        {
            return normalised;
        }
        if (ParseIPv4(normalised) is { } v4)
        {
            return v4.ToString();
        }
        // glibc's getaddrinfo (which the connector would ask about a host the parser refuses) reads an empty hex part
        // ("0x") as 0, as the URL standard does: so must the decision.
        return normalised.Contains('x') && ParseIPv4(EmptyHex().Replace(normalised, "0")) is { } hex ? hex.ToString() : normalised;
    }

    private static IPAddress? ParseIPv4(string text) =>
        IPAddress.TryParse(text, out var a) && a.AddressFamily == AddressFamily.InterNetwork ? a : null;

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![0-9a-fx])0x(?![0-9a-fx])")]
    private static partial System.Text.RegularExpressions.Regex EmptyHex();

    private static readonly System.Buffers.SearchValues<char> NumericHostChars = System.Buffers.SearchValues.Create("0123456789abcdefx.");

    /// <summary><c>host:port</c> for logs, with brackets around IPv6.</summary>
    public static string Format(string host, int port) =>
        host.Contains(':') ? $"[{host}]:{port.ToString(CultureInfo.InvariantCulture)}" : $"{host}:{port.ToString(CultureInfo.InvariantCulture)}";
}
