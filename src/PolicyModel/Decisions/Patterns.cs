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

    /// <summary>
    /// Parses a pattern as written in a policy: an optional first label <c>*</c> (subdomains only), then a host name
    /// normalised like any other. Null, with the problem, for any other <c>*</c> or a name that does not normalise.
    /// </summary>
    public static HostPattern? Parse(string text, out string? problem)
    {
        var subdomainsOnly = text.StartsWith("*.", StringComparison.Ordinal);
        var rest = subdomainsOnly ? text.AsSpan(2) : text.AsSpan().TrimStart('.');
        if (rest.Contains('*'))
        {
            problem = "'*' may only be the whole first label ('*.example.org': its subdomains)";
            return null;
        }
        var normalised = Matching.HostName.Normalize(rest);
        if (normalised is null || (subdomainsOnly && Matching.HostName.IsIPLiteral(normalised)))
        {
            problem = "not a host name";
            return null;
        }
        problem = null;
        return new HostPattern(normalised, subdomainsOnly);
    }

    /// <summary>The normalised domain, without <c>*.</c>.</summary>
    public string Domain => _domain;

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
