namespace PolicyModel.Matching;

/// <summary>Host name normalisation at the edge: IDN to punycode, lower case, no trailing dot, IP literals canonical.</summary>
public static class HostName
{
    /// <summary>
    /// Normalises a host as typed in a URL, CONNECT line, SNI or list file. Returns null when it is not a
    /// valid host name or IP literal (brackets around IPv6 are removed).
    /// </summary>
    public static string? Normalize(ReadOnlySpan<char> host) => throw new NotImplementedException();
}
