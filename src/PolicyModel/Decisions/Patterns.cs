namespace PolicyModel.Decisions;

/// <summary>
/// A host condition: without <c>*</c>, the domain and its subdomains (like list entries); with <c>*</c>, a glob over
/// the whole normalised host (<c>*.wikipedia.org</c> matches subdomains only). Immutable.
/// </summary>
internal sealed class HostPattern
{
    private readonly string _pattern;
    private readonly bool _glob;

    public HostPattern(string normalised)
    {
        _pattern = normalised;
        _glob = normalised.Contains('*');
    }

    public string Text => _pattern;

    public bool Matches(ReadOnlySpan<char> host) =>
        _glob ? Glob.Matches(_pattern, host) : IsSameOrSubdomain(host, _pattern);

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
