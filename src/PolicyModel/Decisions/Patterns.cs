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
