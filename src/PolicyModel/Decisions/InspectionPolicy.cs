using System.Collections.Frozen;
using System.Collections.Immutable;

namespace PolicyModel.Decisions;

/// <summary>Why a tunnel is or is not inspected (TLS terminated): the answer of <see cref="PolicySnapshot.InspectTunnel"/>.</summary>
public enum InspectionReason
{
    /// <summary>Nothing asks for it: the tunnel is spliced.</summary>
    NotNeeded,
    /// <summary>A rule with <c>methods</c> or <c>paths</c> covers the host (its name is the detail).</summary>
    Rule,
    /// <summary><c>tenant_restrictions</c> covers the host for this identity: the sign-in headers need the requests.</summary>
    TenantRestrictions,
    /// <summary>The policy's <c>inspection: { hosts, categories }</c> names the host.</summary>
    Named,
    /// <summary>The tunnel is blocked: inspected only to show the block page inside TLS.</summary>
    BlockPage,
    /// <summary><c>never_inspect</c> covers the host: spliced (allowed) or refused with 403 (blocked, not statutory).</summary>
    NeverInspect,
}

/// <summary>
/// The one answer to "inspect this tunnel?" for a host and the engine's decision on it. <see cref="Detail"/> says
/// which rule, entry or category decided, for <c>explain</c> and <c>check</c>.
/// </summary>
public readonly record struct TunnelInspection(bool Inspect, InspectionReason Reason, string? Detail);

/// <summary>
/// The compiled <c>inspection</c> section: hosts and categories inspected besides those the rules imply, and the
/// <c>never_inspect</c> set (hosts, categories, and plain domain lists: the built-in list when none is named).
/// Immutable; lookups allocate nothing.
/// </summary>
public sealed class InspectionPolicy
{
    /// <summary>The file name the built-in never-inspect list is reported under (deploy/lists/never-inspect.txt).</summary>
    public const string BuiltInListName = "(built-in never-inspect.txt)";

    /// <summary>Nothing named, nothing never inspected (a snapshot built without the loader).</summary>
    public static readonly InspectionPolicy Empty = new([], 0, [], 0, FrozenDictionary<string, string>.Empty, []);

    private readonly ImmutableArray<HostPattern> _hosts;
    private readonly ImmutableArray<HostPattern> _neverHosts;
    // Details are formatted at load, so a lookup allocates nothing.
    private readonly string[] _hostDetails;
    private readonly string[] _neverHostDetails;
    private readonly FrozenDictionary<string, string> _neverDomains;
    private readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _neverLookup;

    internal InspectionPolicy(ImmutableArray<HostPattern> hosts, ulong categoryMask, ImmutableArray<HostPattern> neverHosts, ulong neverCategoryMask,
        FrozenDictionary<string, string> neverDomains, IReadOnlyList<string> neverLists)
    {
        _hosts = hosts;
        CategoryMask = categoryMask;
        _neverHosts = neverHosts;
        _hostDetails = hosts.Select(p => $"inspection host '{p.Text}'").ToArray();
        _neverHostDetails = neverHosts.Select(p => $"never_inspect host '{p.Text}'").ToArray();
        NeverCategoryMask = neverCategoryMask;
        _neverDomains = neverDomains;
        _neverLookup = neverDomains.GetAlternateLookup<ReadOnlySpan<char>>();
        NeverLists = neverLists;
    }

    /// <summary>Categories named in <c>inspection.categories</c> (a bit per category index).</summary>
    internal ulong CategoryMask { get; }

    /// <summary>Categories named in <c>never_inspect.categories</c>.</summary>
    internal ulong NeverCategoryMask { get; }

    /// <summary>The never-inspect lists in force, as named (the built-in list as <see cref="BuiltInListName"/>).</summary>
    public IReadOnlyList<string> NeverLists { get; }

    /// <summary>
    /// How many domains the never-inspect lists hold. Each maps to its description (<c>never_inspect list FILE, entry
    /// 'DOMAIN'</c>), formatted at load.
    /// </summary>
    public int NeverListEntries => _neverDomains.Count;

    /// <summary>The <c>inspection.hosts</c> pattern that covers <paramref name="host"/>, described, or null.</summary>
    internal string? NamedHost(string host)
    {
        for (var i = 0; i < _hosts.Length; i++)
        {
            if (_hosts[i].Matches(host))
            {
                return _hostDetails[i];
            }
        }
        return null;
    }

    /// <summary>
    /// Why <paramref name="host"/> is never inspected by host (a <c>never_inspect.hosts</c> pattern, or a list entry with its
    /// list), described, or null. Categories are checked by the snapshot, which holds the matcher.
    /// </summary>
    internal string? NeverByHost(ReadOnlySpan<char> host)
    {
        for (var i = 0; i < _neverHosts.Length; i++)
        {
            if (_neverHosts[i].Matches(host))
            {
                return _neverHostDetails[i];
            }
        }
        var span = host;
        while (true)
        {
            if (_neverLookup.TryGetValue(span, out var detail))
            {
                return detail;
            }
            var dot = span.IndexOf('.');
            if (dot < 0)
            {
                return null;
            }
            span = span[(dot + 1)..];
        }
    }
}
