using System.Security.Cryptography;

namespace PolicyModel.Matching;

/// <summary>
/// The canonical text of list entries: hosts, <c>host/path</c> URL prefixes and SHA-256 digests.
/// One place so that the importers, the builder and <see cref="ListWriter"/> cannot drift apart.
/// </summary>
internal static class EntryText
{
    /// <summary>Length of a SHA-256 digest in hex.</summary>
    public const int DigestHexLength = 64;

    /// <summary>
    /// Normalises a URL-prefix entry such as <c>Example.COM/Path/Page.htm</c> or <c>http://example.com/x</c>
    /// to <c>example.com/path/page.htm</c>: scheme removed, host normalised, path in the canonical form of
    /// <see cref="UrlPath"/> and lower-cased (a missing path becomes <c>/</c>). Null when the host is invalid or the
    /// text holds white space.
    /// </summary>
    public static string? NormalizeUrlPrefix(ReadOnlySpan<char> text)
    {
        text = StripScheme(text);
        if (text.IsEmpty || text.ContainsAny(' ', '\t'))
            return null;
        int slash = text.IndexOf('/');
        ReadOnlySpan<char> hostPart = slash < 0 ? text : text[..slash];
        ReadOnlySpan<char> path = slash < 0 ? "/" : text[slash..];
        string? host = HostName.Normalize(hostPart);
        if (host is null)
            return null;
        string canonical = UrlPath.Canonicalize(path);
        return string.Concat(host, canonical.Length == 0 ? "/" : canonical.ToLowerInvariant());
    }

    /// <summary>
    /// The text whose digest a hashed list holds for a plain entry: the normalised host, or
    /// <c>host/path</c> with the path in the canonical form of <see cref="UrlPath"/>, lower-cased, without query,
    /// fragment or trailing <c>/</c> (so <c>example.com/</c> is just <c>example.com</c>). Null when the host is invalid.
    /// </summary>
    public static string? HashInput(ReadOnlySpan<char> plain)
    {
        plain = StripScheme(plain.Trim());
        int slash = plain.IndexOfAny('/', '?', '#');
        if (slash < 0 || plain[slash] != '/')
            return HostName.Normalize(slash < 0 ? plain : plain[..slash]);
        string? host = HostName.Normalize(plain[..slash]);
        if (host is null)
            return null;
        string canonical = UrlPath.Canonicalize(plain[slash..]);
        int query = canonical.IndexOf('?');
        ReadOnlySpan<char> path = (query < 0 ? canonical : canonical[..query]).AsSpan().TrimEnd('/');
        return path.IsEmpty ? host : string.Concat(host, path.ToString().ToLowerInvariant());
    }

    /// <summary>Lower-case hex SHA-256 of the UTF-8 bytes of an already normalised host or <c>host/path</c>.</summary>
    public static string HashOf(string normalisedHostOrUrl)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(normalisedHostOrUrl), digest);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>True for exactly 64 hex digits (either case).</summary>
    public static bool IsDigestHex(ReadOnlySpan<char> s) =>
        s.Length == DigestHexLength && !s.ContainsAnyExcept(HexDigits);

    private static readonly System.Buffers.SearchValues<char> HexDigits =
        System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    private static ReadOnlySpan<char> StripScheme(ReadOnlySpan<char> text)
    {
        int sep = text.IndexOf("://", StringComparison.Ordinal);
        return sep > 0 && sep <= 8 ? text[(sep + 3)..] : text;
    }
}
