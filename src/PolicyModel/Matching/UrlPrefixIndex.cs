using System.Collections.Frozen;

namespace PolicyModel.Matching;

/// <summary>
/// <see cref="EntryKind.UrlPrefix"/> entries grouped by host. Kept apart from <see cref="DomainTable"/>
/// because they are few (tens of thousands at most) and need a path comparison.
/// </summary>
internal sealed class UrlPrefixIndex
{
    /// <summary>One <c>host/path</c> entry: <see cref="Path"/> is lower case and starts with <c>/</c>.</summary>
    internal sealed record Rule(string Path, int Tag, string Entry);

    private readonly FrozenDictionary<string, Rule[]> _byHost;
    private readonly FrozenDictionary<string, Rule[]>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public UrlPrefixIndex(IEnumerable<KeyValuePair<string, int>> entriesAndTags)
    {
        var byHost = new Dictionary<string, List<Rule>>(StringComparer.Ordinal);
        foreach (var (entry, tag) in entriesAndTags)
        {
            int slash = entry.IndexOf('/');
            string host = entry[..slash];
            if (!byHost.TryGetValue(host, out var rules))
                byHost[host] = rules = new List<Rule>();
            rules.Add(new Rule(entry[slash..], tag, entry));
        }
        _byHost = byHost.ToFrozenDictionary(
            kv => kv.Key,
            kv => kv.Value.OrderByDescending(r => r.Path.Length).ThenBy(r => r.Path, StringComparer.Ordinal).ToArray(),
            StringComparer.Ordinal);
        _lookup = _byHost.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Every entry with its tag, for summaries (start-up warnings); allocates.</summary>
    public IEnumerable<(string Entry, int Tag)> All() =>
        _byHost.Values.SelectMany(rules => rules).Select(r => (r.Entry, r.Tag));

    /// <summary>
    /// Categories of the entries whose host is <paramref name="host"/> or a parent of it and whose path is a prefix
    /// of <paramref name="pathAndQuery"/> (compared ignoring ASCII case). An empty path means "unknown" (CONNECT):
    /// only entries for the whole site (<c>host/</c>) can match then.
    /// </summary>
    public ulong Match(ReadOnlySpan<char> host, ReadOnlySpan<char> pathAndQuery, ulong[] fullMask)
    {
        if (pathAndQuery.IsEmpty)
            pathAndQuery = "/";
        ulong mask = 0;
        var suffix = host;
        while (true)
        {
            if (_lookup.TryGetValue(suffix, out Rule[]? rules))
            {
                foreach (Rule rule in rules)
                {
                    if (pathAndQuery.StartsWith(rule.Path, StringComparison.OrdinalIgnoreCase))
                        mask |= fullMask[rule.Tag];
                }
            }
            int dot = suffix.IndexOf('.');
            if (dot < 0 || HostName.IsIPLiteral(host))
                return mask;
            suffix = suffix[(dot + 1)..];
        }
    }

    /// <summary>Matching entries as (entry text, tag), most specific (longest host, then longest path) first.</summary>
    public IEnumerable<(string Entry, int Tag)> FindAll(ReadOnlySpan<char> host, ReadOnlySpan<char> pathAndQuery)
    {
        if (pathAndQuery.IsEmpty)
            pathAndQuery = "/";
        var hits = new List<(string, int)>();
        var suffix = host;
        while (true)
        {
            if (_lookup.TryGetValue(suffix, out Rule[]? rules))
            {
                foreach (Rule rule in rules)
                {
                    if (pathAndQuery.StartsWith(rule.Path, StringComparison.OrdinalIgnoreCase))
                        hits.Add((rule.Entry, rule.Tag));
                }
            }
            int dot = suffix.IndexOf('.');
            if (dot < 0 || HostName.IsIPLiteral(host))
                return hits;
            suffix = suffix[(dot + 1)..];
        }
    }
}
