using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PolicyModel.Matching;

/// <summary>Host name normalisation at the edge: IDN to punycode, lower case, no trailing dot, IP literals canonical.</summary>
public static class HostName
{
    /// <summary>Longest host name in presentation form (RFC 1035 2.3.4, without the trailing dot).</summary>
    public const int MaxLength = 253;

    /// <summary>Longest label (RFC 1035 2.3.4).</summary>
    public const int MaxLabelLength = 63;

    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = false };

    /// <summary>
    /// Normalises a host as typed in a URL, CONNECT line, SNI or list file. Returns null when it is not a
    /// valid host name or IP literal (brackets around IPv6 are removed).
    /// </summary>
    /// <remarks>
    /// Only a dotted quad of decimal digits (<c>10.0.0.1</c>) is read as IPv4: the loose forms
    /// <c>2130706433</c>, <c>127.1</c> and <c>0x7f.1</c> stay names (they are valid label syntax), because list
    /// entries and rules compare strings; the proxy applies its address policy to the resolved address instead.
    /// Labels are 1-63 characters of <c>[a-z0-9_-]</c> and must not start with <c>-</c>; the name is at most
    /// 253 characters. Allocates one string, none other when the input is already normalised.
    /// </remarks>
    public static string? Normalize(ReadOnlySpan<char> host) => Normalize(host, original: null);

    /// <summary>As <see cref="Normalize(ReadOnlySpan{char})"/>, but returns <paramref name="original"/> itself
    /// when <paramref name="host"/> is its whole text and already normalised (no allocation at all).</summary>
    internal static string? Normalize(ReadOnlySpan<char> host, string? original)
    {
        if (host.IsEmpty)
            return null;

        if (host[0] == '[')
        {
            if (host.Length < 3 || host[^1] != ']')
                return null;
            return NormalizeIPv6(host[1..^1]);
        }

        if (host.Contains(':'))
            return NormalizeIPv6(host);

        if (host[^1] == '.')
        {
            host = host[..^1];
            original = null;
            if (host.IsEmpty)
                return null;
        }

        if (IsDottedQuad(host))
        {
            if (!IPAddress.TryParse(host, out var v4) || v4.AddressFamily != AddressFamily.InterNetwork)
                return null;
            string text = v4.ToString();
            return original is not null && host.SequenceEqual(text) ? original : text;
        }

        if (!System.Text.Ascii.IsValid(host))
            return NormalizeIdn(host);

        bool lower = true;
        if (!IsValidAsciiName(host, ref lower))
            return null;
        if (lower)
            return original is not null && original.Length == host.Length ? original : new string(host);
        return string.Create(host.Length, host, static (dst, src) => System.Text.Ascii.ToLower(src, dst, out _));
    }

    /// <summary>True when <paramref name="host"/> is exactly what <see cref="Normalize(ReadOnlySpan{char})"/> returns
    /// for a host name (not an IP literal): lower-case ASCII, valid labels, no trailing dot. Allocates nothing.</summary>
    internal static bool IsNormalizedName(ReadOnlySpan<char> host)
    {
        bool lower = true;
        return !host.IsEmpty && host[^1] != '.' && IsValidAsciiName(host, ref lower) && lower;
    }

    /// <summary>True for four dot-separated runs of 1-3 decimal digits: the only form read as IPv4.</summary>
    internal static bool IsDottedQuad(ReadOnlySpan<char> s)
    {
        int parts = 1, run = 0;
        foreach (char c in s)
        {
            if (c == '.')
            {
                if (run == 0)
                    return false;
                parts++;
                run = 0;
            }
            else if (char.IsAsciiDigit(c))
            {
                if (++run > 3)
                    return false;
            }
            else
            {
                return false;
            }
        }
        return parts == 4 && run > 0;
    }

    /// <summary>True when a normalised host is an IP literal (IPv6 or dotted quad), not a name.</summary>
    internal static bool IsIPLiteral(ReadOnlySpan<char> host) => host.Contains(':') || IsDottedQuad(host);

    private static bool IsValidAsciiName(ReadOnlySpan<char> host, ref bool lower)
    {
        if (host.Length > MaxLength)
            return false;
        int label = 0;
        for (int i = 0; i < host.Length; i++)
        {
            char c = host[i];
            if (c == '.')
            {
                if (label == 0)
                    return false;
                label = 0;
                continue;
            }
            if (++label > MaxLabelLength)
                return false;
            if (char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_')
                continue;
            if (c == '-')
            {
                if (label == 1)
                    return false;
                continue;
            }
            if (char.IsAsciiLetterUpper(c))
            {
                lower = false;
                continue;
            }
            return false;
        }
        return label > 0;
    }

    private static string? NormalizeIdn(ReadOnlySpan<char> host)
    {
        string ascii;
        try
        {
            ascii = Idn.GetAscii(host.ToString());
        }
        catch (ArgumentException)
        {
            return null;
        }
        bool lower = true;
        if (!IsValidAsciiName(ascii, ref lower))
            return null;
        return lower ? ascii : ascii.ToLowerInvariant();
    }

    private static string? NormalizeIPv6(ReadOnlySpan<char> text)
    {
        // Zone ids (fe80::1%eth0) name an interface of this machine; they never identify a site.
        if (text.Contains('%') || !IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
            return null;
        return ip.ToString();
    }
}
