using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using NodaTime;
using PolicyModel.Diagnostics;
using PolicyModel.Matching;

namespace PolicyModel.Decisions;

/// <summary>Whether the proxy asks clients for credentials.</summary>
public enum ProxyAuthMode
{
    /// <summary>Never ask; users come from address bindings only.</summary>
    Off,
    /// <summary>Accept credentials when sent; otherwise use the network's default role.</summary>
    Optional,
    /// <summary>Every client must authenticate (407 until it does), except bound addresses.</summary>
    Required,
}

/// <summary>A list as loaded, for summaries and metrics.</summary>
public sealed record ListSummary(string Category, string Path, string Format, int Entries, int SkippedLines, DateTimeOffset? LastModified);

/// <summary>
/// A loaded, validated policy and the decision engine over it: immutable, shared by every request without
/// locks. A request reads one snapshot for its whole life; a reload builds a new one and swaps the reference.
/// See Decisions/README.md for the order in which a request is decided.
/// </summary>
public sealed partial class PolicySnapshot
{
    private readonly ImmutableArray<IPNetwork> _clients;
    private readonly ImmutableArray<NetworkDef> _networks;
    private readonly ImmutableArray<string> _roles;
    private readonly UserDirectory _users;
    private readonly FrozenDictionary<IPAddress, string> _bindings;
    private readonly ImmutableArray<CategoryDef> _categories;
    private readonly ulong _statutoryMask;
    private readonly DomainMatcher _matcher;
    private readonly ImmutableArray<CompiledRule> _rules;
    private readonly ImmutableArray<CompiledException> _exceptions;
    private readonly FrozenDictionary<string, DeniedUser> _denied;
    private readonly DecisionAction _default;
    private readonly ClientIdentity[] _anonymousByNetwork;

    /// <summary>The snapshot of what the loader compiled.</summary>
    internal PolicySnapshot(CompiledPolicy policy)
    {
        Directory = policy.Directory;
        Version = policy.Version;
        Name = policy.Name;
        TimeZone = policy.TimeZone;
        ProxyAuth = policy.ProxyAuth;
        SignInNetworkMask = policy.SignInNetworkMask;
        RefuseBareIpConnect = policy.RefuseBareIpConnect;
        Feeds = policy.Feeds;
        Ldap = policy.Ldap;
        SafeSearch = policy.SafeSearch;
        Inspection = policy.Inspection;
        TenantRestrictions = policy.TenantRestrictions;
        _clients = policy.Clients;
        _networks = policy.Networks;
        _roles = policy.Roles;
        _users = policy.Users;
        _bindings = policy.Bindings;
        _categories = policy.Categories;
        _matcher = policy.Matcher;
        Lists = policy.Lists;
        _rules = policy.Rules;
        _exceptions = policy.Exceptions;
        _denied = policy.Denied;
        _default = policy.DefaultAction;
        Warnings = policy.Warnings;
        Categories = _categories.Select(c => (c.Name, c.Statutory)).ToArray();
        RuleNames = _rules.Select(r => r.Name).ToArray();
        foreach (var c in _categories)
        {
            if (c.Statutory)
            {
                _statutoryMask |= 1UL << c.Index;
            }
        }

        _anonymousByNetwork = new ClientIdentity[_networks.Length + 1];
        for (var i = 0; i <= _networks.Length; i++)
        {
            var network = i < _networks.Length ? _networks[i] : null;
            var roleList = network?.DefaultRole is int r ? ImmutableArray.Create(_roles[r]) : ImmutableArray<string>.Empty;
            _anonymousByNetwork[i] = new ClientIdentity(null, null, roleList, network?.Name, true);
        }
    }

    /// <summary>The policy directory this was loaded from.</summary>
    public string Directory { get; }

    /// <summary>A short hash of every file the policy read: changes whenever any of them does.</summary>
    public string Version { get; }

    /// <summary>The school or trust's name, if the policy gives one.</summary>
    public string? Name { get; }

    public DateTimeZone TimeZone { get; }

    public ProxyAuthMode ProxyAuth { get; }

    /// <summary>
    /// The networks of <c>identity.required_on</c> (a bit per network index): with <c>proxy_auth: optional</c>, a device
    /// on one of them must sign in, so the person's rules (denied users, staff rules) cannot be escaped by sending no
    /// credentials. 0 when the policy names none.
    /// </summary>
    internal ulong SignInNetworkMask { get; }

    /// <summary>
    /// <c>connect: { bare_ip: block }</c>: a CONNECT whose target is an IP address, not a name, is refused for everyone
    /// (there is no name, and so no SNI, for the policy to judge). False when the policy does not say.
    /// </summary>
    public bool RefuseBareIpConnect { get; }

    /// <summary>The lists that name a feed (<c>source:</c>), in policy order (issue 21); empty when none do.</summary>
    public ImmutableArray<FeedSpec> Feeds { get; }

    /// <summary>The compiled <c>identity.directory</c> section: the school's LDAP directory, or null when the policy has none.</summary>
    public DirectoryPolicy? Ldap { get; }

    /// <summary>The compiled <c>safe_search</c> section (<see cref="SafeSearchPolicy.None"/> when absent).</summary>
    public SafeSearchPolicy SafeSearch { get; }

    /// <summary>
    /// Where a request from <paramref name="identity"/> to <paramref name="host"/> connects for safe search, or null:
    /// the provider's safe-search name when one of the identity's roles is locked.
    /// </summary>
    public SafeSearchTarget? SafeSearchFor(ClientIdentity identity, string host) => SafeSearch.For(identity.Roles, host);

    public IReadOnlyList<ListSummary> Lists { get; }

    /// <summary>Warnings from loading (skipped list lines, expired exceptions).</summary>
    public IReadOnlyList<Diagnostic> Warnings { get; }

    /// <summary>Names of the categories, statutory ones marked.</summary>
    public IReadOnlyList<(string Name, bool Statutory)> Categories { get; }

    public int RuleCount => _rules.Length;

    public IReadOnlyList<string> RuleNames { get; }

    public int ExceptionCount => _exceptions.Length;

    public int UserCount => _users.Count;
}
