namespace PolicyModel.Decisions;

/// <summary>
/// A host condition, parsed structurally by the loader: a normalised domain meaning that domain and its subdomains
/// (like list entries), or, written <c>*.domain</c>, its subdomains only. <c>*</c> is never a character of a host
/// name, so a label that merely reads "wildcard" is just a label. Immutable.
/// </summary>
internal sealed class HostPattern
{
    private readonly string _domain;
    private readonly bool _subdomainsOnly;

    public HostPattern(string domain, bool subdomainsOnly)
    {
        _domain = domain;
        _subdomainsOnly = subdomainsOnly;
    }

    /// <summary>As written after normalisation: <c>example.org</c> or <c>*.example.org</c>.</summary>
    public string Text => _subdomainsOnly ? "*." + _domain : _domain;

    public bool Matches(ReadOnlySpan<char> host) =>
        _subdomainsOnly
            ? host.Length > _domain.Length && IsSameOrSubdomain(host, _domain)
            : IsSameOrSubdomain(host, _domain);

    internal static bool IsSameOrSubdomain(ReadOnlySpan<char> host, ReadOnlySpan<char> domain) =>
        host.EndsWith(domain, StringComparison.Ordinal) &&
        (host.Length == domain.Length || host[host.Length - domain.Length - 1] == '.');
}

/// <summary>Wildcard matching where <c>*</c> stands for any run of characters. Allocation-free.</summary>
internal static class Glob
{
    public static bool Matches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (p < pattern.Length && pattern[p] == text[t])
            {
                p++;
                t++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
