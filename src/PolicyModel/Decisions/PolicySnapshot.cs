using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using System.Numerics;
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
    /// <summary>How far ahead <see cref="Decision.Until"/> looks before saying "never".</summary>
    private static readonly Duration UntilHorizon = Duration.FromDays(400);
    private const int MaxUntilSteps = 256;

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

    internal PolicySnapshot(
        string directory,
        string version,
        string? name,
        DateTimeZone zone,
        ProxyAuthMode proxyAuth,
        ImmutableArray<IPNetwork> clients,
        ImmutableArray<NetworkDef> networks,
        ImmutableArray<string> roles,
        UserDirectory users,
        FrozenDictionary<IPAddress, string> bindings,
        ImmutableArray<CategoryDef> categories,
        DomainMatcher matcher,
        IReadOnlyList<ListSummary> lists,
        ImmutableArray<CompiledRule> rules,
        ImmutableArray<CompiledException> exceptions,
        FrozenDictionary<string, DeniedUser> denied,
        DecisionAction defaultAction,
        IReadOnlyList<Diagnostic> warnings)
    {
        Directory = directory;
        Version = version;
        Name = name;
        TimeZone = zone;
        ProxyAuth = proxyAuth;
        _clients = clients;
        _networks = networks;
        _roles = roles;
        _users = users;
        _bindings = bindings;
        _categories = categories;
        _matcher = matcher;
        Lists = lists;
        _rules = rules;
        _exceptions = exceptions;
        _denied = denied;
        _default = defaultAction;
        Warnings = warnings;
        Categories = categories.Select(c => (c.Name, c.Statutory)).ToArray();
        RuleNames = rules.Select(r => r.Name).ToArray();
        foreach (var c in categories)
        {
            if (c.Statutory)
            {
                _statutoryMask |= 1UL << c.Index;
            }
        }

        _anonymousByNetwork = new ClientIdentity[networks.Length + 1];
        for (var i = 0; i <= networks.Length; i++)
        {
            var network = i < networks.Length ? networks[i] : null;
            var roleList = network?.DefaultRole is int r ? ImmutableArray.Create(roles[r]) : ImmutableArray<string>.Empty;
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
    internal ulong SignInNetworkMask { get; init; }

    /// <summary>
    /// <c>connect: { bare_ip: block }</c>: a CONNECT whose target is an IP address, not a name, is refused for everyone
    /// (there is no name, and so no SNI, for the policy to judge). False when the policy does not say.
    /// </summary>
    public bool RefuseBareIpConnect { get; init; }

    /// <summary>The lists that name a feed (<c>source:</c>), in policy order (issue 21); empty when none do.</summary>
    public ImmutableArray<FeedSpec> Feeds { get; init; } = [];

    /// <summary>The compiled <c>identity.directory</c> section: the school's LDAP directory, or null when the policy has none.</summary>
    public DirectoryPolicy? Ldap { get; init; }

    // The directory's members as the service last read them; set once, by WithDirectoryMembers, before the snapshot is published.
    private IDirectoryMembers? _members;

    /// <summary>
    /// This policy with the service's table of directory members, asked by the engine for a user the CSV directory
    /// does not know (CSV first, then the directory: docs/policy.md). A shallow copy: the compiled policy is shared.
    /// </summary>
    public PolicySnapshot WithDirectoryMembers(IDirectoryMembers members)
    {
        var copy = (PolicySnapshot)MemberwiseClone();
        copy._members = members;
        return copy;
    }

    /// <summary>The users <c>identity.bindings</c> names that <c>users.csv</c> does not know: the directory must be read for them.</summary>
    public IReadOnlyList<string> BoundDirectoryUsers =>
        _bindings.Values.Where(u => _users.Find(u) is null).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();

    /// <summary>
    /// Each role <paramref name="user"/> holds and where it came from: <c>users.csv</c>, or the directory group that
    /// gives it. Empty when the name is in neither (or the directory has not signed them in since the service started).
    /// </summary>
    public IReadOnlyList<(string Role, string Source)> RoleSources(string user)
    {
        if (_users.Find(user) is { } record)
        {
            return record.Roles.Select(r => (r, "users.csv")).ToArray();
        }

        return _members?.Find(user) is { } member && Ldap is { } ldap
            ? ldap.RolesFor(member.Groups).Select(r => (r.Role, "directory group " + r.Group)).ToArray()
            : [];
    }

    /// <summary>The compiled <c>safe_search</c> section (<see cref="SafeSearchPolicy.None"/> when absent).</summary>
    public SafeSearchPolicy SafeSearch { get; init; } = SafeSearchPolicy.None;

    /// <summary>
    /// Where a request from <paramref name="identity"/> to <paramref name="host"/> connects for safe search, or null:
    /// the provider's safe-search name when one of the identity's roles is locked.
    /// </summary>
    public SafeSearchTarget? SafeSearchFor(ClientIdentity identity, string host) => SafeSearch.For(identity.Roles, host);

    /// <summary>The names of the networks in <see cref="SignInNetworkMask"/>, in file order (for <c>check</c> and docs).</summary>
    public IReadOnlyList<string> SignInNetworks =>
        _networks.Where(n => (SignInNetworkMask & (1UL << n.Index)) != 0).Select(n => n.Name).ToArray();

    /// <summary>
    /// Whether a request from <paramref name="client"/> must carry valid credentials: everywhere with
    /// <c>proxy_auth: required</c>, on the <c>required_on</c> networks with <c>optional</c>, never with <c>off</c>.
    /// A bound address is identified by its binding and is not asked (the caller checks <see cref="Identify"/>).
    /// </summary>
    public bool SignInRequired(IPAddress client) => ProxyAuth switch
    {
        ProxyAuthMode.Required => true,
        ProxyAuthMode.Optional when SignInNetworkMask != 0 =>
            NetworkIndex(Canonical(client)) is var i and >= 0 && (SignInNetworkMask & (1UL << i)) != 0,
        _ => false,
    };

    public IReadOnlyList<ListSummary> Lists { get; }

    /// <summary>Warnings from loading (skipped list lines, expired exceptions).</summary>
    public IReadOnlyList<Diagnostic> Warnings { get; }

    /// <summary>Names of the categories, statutory ones marked.</summary>
    public IReadOnlyList<(string Name, bool Statutory)> Categories { get; }

    public int RuleCount => _rules.Length;

    public IReadOnlyList<string> RuleNames { get; }

    public int ExceptionCount => _exceptions.Length;

    public int UserCount => _users.Count;

    /// <summary>Whether <paramref name="client"/> may use the proxy at all (the policy's <c>clients</c>).</summary>
    public bool IsClient(IPAddress client)
    {
        client = Canonical(client);
        foreach (var c in _clients)
        {
            if (c.Contains(client))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Checks a proxy password against the user directory's hash. Slow by design (PBKDF2): cache successes. A name
    /// that is not in the directory, or has no password, is checked against a decoy hash with the directory's
    /// iteration count, so the time taken does not tell which names exist (issue 15 item 16).
    /// </summary>
    public bool VerifyPassword(string user, string password) => _users.Verify(user, password);

    /// <summary>PBKDF2 iterations <see cref="VerifyPassword"/> has run on this snapshot: the same for any name, known or not.</summary>
    public long PasswordIterationsRun => _users.IterationsRun;

    /// <summary>The directory entry for a user, if any (display name, roles).</summary>
    public UserRecord? FindUser(string user) => _users.Find(user);

    /// <summary>Every user of <c>identity.users</c> (the review pack picks one account per role to test as).</summary>
    public IEnumerable<UserRecord> Users => _users.Users;

    /// <summary>The declared roles, networks and client ranges, in policy order (the review pack tests each).</summary>
    internal ImmutableArray<string> RoleNames => _roles;
    internal ImmutableArray<NetworkDef> NetworkDefs => _networks;
    internal ImmutableArray<IPNetwork> ClientRanges => _clients;

    /// <summary>The categories whose lists hold <paramref name="host"/> (and canonical <paramref name="path"/>); allocates, for reports.</summary>
    internal IEnumerable<string> CategoriesOf(string host, string path)
    {
        var mask = _matcher.Match(host, UrlPath.Canonicalize(path));
        return _categories.Where(c => (mask & (1UL << c.Index)) != 0).Select(c => c.Name).ToList();
    }

    /// <summary>Resolves who is asking from the address and the authenticated user, if any.</summary>
    public ClientIdentity Identify(IPAddress client, string? authenticatedUser) => Resolve(client, authenticatedUser).Identity;

    /// <summary>Rules that depend on the method or the path (enforced over HTTPS only with TLS inspection), with their lines.</summary>
    public IEnumerable<(string Name, int Line)> InspectionRules =>
        _rules.Where(r => r.NeedsInspection && !r.Disabled).Select(r => (r.Name, r.Line));

    /// <summary>
    /// URL-prefix entries of statutory lists below a site's root (<c>host/path</c>, not <c>host/</c>): over HTTPS
    /// only TLS inspection sees the path. Allocates; for start-up warnings.
    /// </summary>
    public IEnumerable<(string Entry, string List)> StatutoryPathEntries =>
        _matcher.UrlPrefixEntries()
            .Where(e => (_statutoryMask & (1UL << e.Category)) != 0 && e.Entry.IndexOf('/') != e.Entry.Length - 1)
            .Select(e => (e.Entry, e.List))
            .Distinct()
            .OrderBy(e => e.List, StringComparer.Ordinal).ThenBy(e => e.Entry, StringComparer.Ordinal);

    /// <summary>
    /// Whether some rule for this host depends on the method or the path, so a tunnel to it must be
    /// intercepted (TLS terminated) for the rule to be enforced.
    /// </summary>
    public bool NeedsInspection(string host) => InspectionRuleFor(host) is not null;

    /// <summary>The first rule for <paramref name="host"/> that depends on the method or the path, or null (see <see cref="NeedsInspection"/>).</summary>
    internal string? InspectionRuleFor(string host)
    {
        ulong? categories = null;
        foreach (var rule in _rules)
        {
            if (!rule.NeedsInspection || rule.Disabled || (!rule.Hosts.IsDefaultOrEmpty && !AnyHost(rule.Hosts, host)))
            {
                continue;
            }

            if (rule.CategoryMask != 0)
            {
                categories ??= _matcher.Match(host, ReadOnlySpan<char>.Empty);
                if ((categories.Value & rule.CategoryMask) == 0)
                {
                    continue;
                }
            }

            return rule.Name;
        }

        return null;
    }

    /// <summary>Decides one request. <paramref name="withTrace"/> fills <see cref="Decision.Trace"/> (explain, simulator).</summary>
    /// <remarks>
    /// The path is judged in its canonical form (<see cref="UrlPath"/>): lists and <c>paths:</c> rules see
    /// <c>/terror/recruitment</c> for <c>//terror;x/%2frecruitment</c>. The caller forwards what it received.
    /// </remarks>
    public Decision Decide(in FilterRequest request, bool withTrace = false) =>
        DecideCanonical(request with { PathAndQuery = UrlPath.Canonicalize(request.PathAndQuery) }, withTrace);

    private Decision DecideCanonical(in FilterRequest request, bool withTrace)
    {
        var who = Resolve(request.Client, request.User);
        var trace = withTrace ? ImmutableArray.CreateBuilder<TraceStep>() : null;
        if (!who.Identity.IsClient)
        {
            trace?.Add(new TraceStep("clients", true, $"{request.Client} is not in the policy's client networks"));
            return new Decision(DecisionAction.Block, "not-a-client", null, null, null,
                $"{request.Client} is not one of this school's client addresses, so the proxy refuses it.",
                null, false, AlertSeverity.None, who.Identity, Finish(trace));
        }

        var host = request.Host;
        var path = request.PathAndQuery;
        var categories = _matcher.Match(host, path);

        var statutory = categories & _statutoryMask;
        trace?.Add(new TraceStep("statutory", statutory != 0, statutory != 0
            ? $"{host} is on the statutory {CategoryNames(statutory)} list"
            : "not on any statutory list"));
        if (statutory != 0)
        {
            var category = _categories[BitOperations.TrailingZeroCount(statutory)];
            var hit = _matcher.Explain(host, path, category.Index);
            var severity = category.AlertFor(who.RoleMask);
            return new Decision(DecisionAction.Block, "statutory:" + category.Name, category.Name, hit?.ListName, hit?.Entry,
                $"{host} is on the statutory {category.Name} list, which is blocked for everyone and cannot be overridden.",
                null, severity != AlertSeverity.None, severity, who.Identity, Finish(trace));
        }

        if (who.Identity.User is { } user && _denied.TryGetValue(user, out var denied))
        {
            trace?.Add(new TraceStep("denied-users", true, $"{user} is denied all access: {denied.Reason}"));
            return new Decision(DecisionAction.Block, "denied-user", null, null, null,
                $"{user} is denied all access through the proxy: {denied.Reason}.",
                null, false, AlertSeverity.None, who.Identity, Finish(trace));
        }

        var at = Instant.FromDateTimeOffset(request.At);
        var mismatches = trace is null ? null : new List<(Item Item, string Why)>();
        var candidates = Candidates(who, request, categories, mismatches);
        var decided = FirstActive(candidates, at, who.Identity.User);
        if (trace is not null)
        {
            TraceItems(candidates, mismatches!, decided, at, who.Identity.User, trace);
        }

        var action = ActionOf(decided);
        var until = Until(candidates, at, who.Identity.User, action);
        DateTimeOffset? untilOffset = until?.ToDateTimeOffset();

        switch (decided.Kind)
        {
            case ItemKind.Exception:
            {
                var exception = _exceptions[decided.Index];
                var (category, hit) = Explain(exception.CategoryMask & categories, host, path);
                return new Decision(DecisionAction.Allow, "exception:" + exception.Name, category?.Name, hit?.ListName, hit?.Entry,
                    exception.Reason, untilOffset, false, AlertSeverity.None, who.Identity, Finish(trace));
            }

            case ItemKind.Rule:
            {
                var rule = _rules[decided.Index];
                var (category, hit) = Explain(rule.CategoryMask & categories, host, path);
                var severity = rule.Alert;
                if (rule.Action == DecisionAction.Block && category?.AlertFor(who.RoleMask) is { } categoryAlert && categoryAlert > severity)
                {
                    severity = categoryAlert;
                }

                return new Decision(rule.Action, rule.Name, category?.Name, hit?.ListName, hit?.Entry, rule.Reason,
                    untilOffset, severity != AlertSeverity.None, severity, who.Identity, Finish(trace));
            }

            default:
                return new Decision(_default, "default", null, null, null,
                    _default == DecisionAction.Allow
                        ? "No rule applies to this request, so the policy's default allows it."
                        : "No rule applies to this request, so the policy's default blocks it.",
                    untilOffset, false, AlertSeverity.None, who.Identity, Finish(trace));
        }
    }

    /// <summary>The first category in <paramref name="mask"/> and the entry that put the request in it. Allocates: deciding requests only.</summary>
    private (CategoryDef? Category, MatchHit? Hit) Explain(ulong mask, string host, string path)
    {
        if (mask == 0)
        {
            return (null, null);
        }

        var category = _categories[BitOperations.TrailingZeroCount(mask)];
        return (category, _matcher.Explain(host, path, category.Index));
    }

    /// <summary>
    /// The exceptions and rules whose conditions other than time hold for this request, in the order they are
    /// tried, up to the first that has no time condition (nothing after it can ever decide). Time alone then
    /// picks the winner, so <see cref="Until"/> can replay the same list at later instants.
    /// </summary>
    private List<Item> Candidates(in Who who, in FilterRequest request, ulong categories, List<(Item Item, string Why)>? mismatches)
    {
        var result = new List<Item>();
        var user = who.Identity.User;
        for (var i = 0; i < _exceptions.Length; i++)
        {
            var e = _exceptions[i];
            var why = ExceptionMismatch(e, user, who.RoleMask, request.Host, categories);
            if (why is null)
            {
                result.Add(new Item(ItemKind.Exception, i));
            }
            else
            {
                mismatches?.Add((new Item(ItemKind.Exception, i), why));
            }
        }

        for (var i = 0; i < _rules.Length; i++)
        {
            var rule = _rules[i];
            var why = RuleMismatch(rule, who, request, categories);
            if (why is not null)
            {
                mismatches?.Add((new Item(ItemKind.Rule, i), why));
                continue;
            }

            result.Add(new Item(ItemKind.Rule, i));
            if (rule.During is null && rule.Outside is null)
            {
                break;
            }
        }

        return result;
    }

    private string? ExceptionMismatch(CompiledException e, string? user, ulong roleMask, string host, ulong categories)
    {
        var forWho = (e.Users is not null && user is not null && e.Users.Contains(user)) || (e.RoleMask & roleMask) != 0;
        if (!forWho)
        {
            return user is null ? "no signed-in user, and the exception is for named users or roles" : $"not granted to {user}";
        }

        var covers = (e.CategoryMask & categories) != 0 || AnyHost(e.Hosts, host);
        return covers ? null : $"{host} is not in what the exception allows";
    }

    private string? RuleMismatch(CompiledRule rule, in Who who, in FilterRequest request, ulong categories)
    {
        if (rule.Disabled)
        {
            return "disabled (enabled: false)";
        }

        if (rule.RoleMask != 0 && (rule.RoleMask & who.RoleMask) == 0)
        {
            return who.RoleMask == 0 ? "no role known for this client" : $"roles {string.Join(", ", who.Identity.Roles)} are not among the rule's roles";
        }

        if (rule.Users is not null && (who.Identity.User is null || !rule.Users.Contains(who.Identity.User)))
        {
            return "user is not one of the rule's users";
        }

        if (rule.NetworkMask != 0 && (who.NetworkIndex < 0 || (rule.NetworkMask & (1UL << who.NetworkIndex)) == 0))
        {
            return $"network {who.Identity.Network ?? "(none)"} is not among the rule's networks";
        }

        if (rule.CategoryMask != 0 && (rule.CategoryMask & categories) == 0)
        {
            return $"{request.Host} is not in {CategoryNames(rule.CategoryMask)}";
        }

        if (!rule.Hosts.IsDefaultOrEmpty && !AnyHost(rule.Hosts, request.Host))
        {
            return $"{request.Host} does not match the rule's hosts";
        }

        if (rule.NeedsInspection && request.PathAndQuery.Length == 0)
        {
            return "method and path are not visible in a tunnel; enforced on inspected requests";
        }

        if (rule.Methods is not null && !rule.Methods.Contains(request.Method))
        {
            return $"method {request.Method} is not among the rule's methods";
        }

        if (!rule.Paths.IsDefaultOrEmpty)
        {
            var matched = false;
            foreach (var p in rule.Paths)
            {
                if (PathPattern.Matches(p, request.PathAndQuery))
                {
                    matched = true;
                    break;
                }
            }

            if (!matched)
            {
                return "path does not match the rule's paths";
            }
        }

        return null;
    }

    private DecisionAction ActionOf(Item item) => item.Kind switch
    {
        ItemKind.Exception => DecisionAction.Allow,
        ItemKind.Rule => _rules[item.Index].Action,
        _ => _default,
    };

    private Item FirstActive(List<Item> candidates, Instant at, string? user)
    {
        foreach (var item in candidates)
        {
            if (IsActive(item, at, user))
            {
                return item;
            }
        }

        return new Item(ItemKind.Default, -1);
    }

    private bool IsActive(Item item, Instant at, string? user)
    {
        if (item.Kind == ItemKind.Exception)
        {
            var e = _exceptions[item.Index];
            return (e.From is null || at >= e.From) && at < e.Until && (e.During is null || e.During.IsActive(at, user));
        }

        var rule = _rules[item.Index];
        return (rule.During is null || rule.During.IsActive(at, user)) && (rule.Outside is null || !rule.Outside.IsActive(at, user));
    }

    private Instant? NextChange(Item item, Instant after, string? user)
    {
        Instant? next = null;
        if (item.Kind == ItemKind.Exception)
        {
            var e = _exceptions[item.Index];
            if (e.From is { } from && from > after)
            {
                next = from;
            }

            if (e.Until > after)
            {
                next = Min(next, e.Until);
            }

            return e.During is null ? next : Min(next, e.During.NextChange(after, user));
        }

        var rule = _rules[item.Index];
        if (rule.During is not null)
        {
            next = rule.During.NextChange(after, user);
        }

        return rule.Outside is null ? next : Min(next, rule.Outside.NextChange(after, user));
    }

    /// <summary>The first instant after <paramref name="at"/> when the action for this request differs; null if none within the horizon.</summary>
    private Instant? Until(List<Item> candidates, Instant at, string? user, DecisionAction action)
    {
        var horizon = at + UntilHorizon;
        var t = at;
        for (var step = 0; step < MaxUntilSteps; step++)
        {
            Instant? next = null;
            foreach (var item in candidates)
            {
                next = Min(next, NextChange(item, t, user));
            }

            if (next is not { } n || n > horizon)
            {
                return null;
            }

            if (ActionOf(FirstActive(candidates, n, user)) != action)
            {
                return n;
            }

            t = n;
        }

        return null;
    }

    /// <summary>The trace in evaluation order: each exception and rule with why it did or did not decide.</summary>
    private void TraceItems(
        List<Item> candidates, List<(Item Item, string Why)> mismatches, Item decided, Instant at, string? user, ImmutableArray<TraceStep>.Builder trace)
    {
        var why = mismatches.ToDictionary(m => m.Item, m => m.Why);
        var all = Enumerable.Range(0, _exceptions.Length).Select(i => new Item(ItemKind.Exception, i))
            .Concat(Enumerable.Range(0, _rules.Length).Select(i => new Item(ItemKind.Rule, i)));
        foreach (var item in all)
        {
            var name = item.Kind == ItemKind.Exception ? "exception " + _exceptions[item.Index].Name : "rule " + _rules[item.Index].Name;
            if (item == decided)
            {
                trace.Add(new TraceStep(name, true, "every condition holds; this decides"));
                return;
            }

            if (why.TryGetValue(item, out var reason))
            {
                trace.Add(new TraceStep(name, false, reason));
            }
            else if (candidates.Contains(item))
            {
                trace.Add(new TraceStep(name, false, item.Kind == ItemKind.Exception
                    ? "not in force at this time"
                    : $"its schedule ({ScheduleText(_rules[item.Index])}) is not in effect at this time"));
            }
        }

        trace.Add(new TraceStep("default", true, $"no rule applied; the default is {_default.ToString().ToLowerInvariant()}"));
    }

    private static string ScheduleText(CompiledRule rule) =>
        rule.During is not null ? "during " + rule.During.Name : "outside " + rule.Outside!.Name;

    private static Instant? Min(Instant? a, Instant? b) =>
        a is null ? b : b is null ? a : (a.Value < b.Value ? a : b);

    private static bool AnyHost(ImmutableArray<HostPattern> patterns, string host)
    {
        if (patterns.IsDefaultOrEmpty)
        {
            return false;
        }

        foreach (var p in patterns)
        {
            if (p.Matches(host))
            {
                return true;
            }
        }

        return false;
    }

    private string CategoryNames(ulong mask)
    {
        var names = new List<string>();
        for (var m = mask; m != 0; m &= m - 1)
        {
            names.Add(_categories[BitOperations.TrailingZeroCount(m)].Name);
        }

        return string.Join(", ", names);
    }

    private static ImmutableArray<TraceStep> Finish(ImmutableArray<TraceStep>.Builder? trace) =>
        trace is null ? ImmutableArray<TraceStep>.Empty : trace.ToImmutable();

    internal static IPAddress Canonical(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private Who Resolve(IPAddress client, string? authenticatedUser)
    {
        client = Canonical(client);
        var isClient = IsClient(client);
        var networkIndex = NetworkIndex(client);
        var userName = authenticatedUser ?? _bindings.GetValueOrDefault(client);
        if (userName is not null && _users.Find(userName) is { } record)
        {
            var mask = 0UL;
            foreach (var role in record.Roles)
            {
                mask |= 1UL << _roles.IndexOf(role);
            }

            return new Who(
                new ClientIdentity(record.UserName, record.DisplayName, record.Roles, networkIndex >= 0 ? _networks[networkIndex].Name : null, isClient),
                mask, networkIndex);
        }

        if (userName is not null && Ldap is { } ldap && _members?.Find(userName) is { } member)
        {
            var mask = 0UL;
            var roles = ImmutableArray.CreateBuilder<string>();
            foreach (var (role, _) in ldap.RolesFor(member.Groups))
            {
                if (_roles.IndexOf(role) is var i and >= 0)
                {
                    mask |= 1UL << i;
                    roles.Add(role);
                }
            }

            return new Who(
                new ClientIdentity(member.UserName, member.DisplayName, roles.ToImmutable(), networkIndex >= 0 ? _networks[networkIndex].Name : null, isClient),
                mask, networkIndex);
        }

        if (userName is not null)
        {
            // Authenticated against something other than our directory: known by name, no roles.
            return new Who(new ClientIdentity(userName, null, [], networkIndex >= 0 ? _networks[networkIndex].Name : null, isClient), 0, networkIndex);
        }

        var anonymous = _anonymousByNetwork[networkIndex >= 0 ? networkIndex : _networks.Length];
        var roleMask = networkIndex >= 0 && _networks[networkIndex].DefaultRole is int r ? 1UL << r : 0;
        return new Who(isClient ? anonymous : anonymous with { IsClient = false }, roleMask, networkIndex);
    }

    /// <summary>The network with the most specific CIDR containing <paramref name="client"/> (canonical), or -1.</summary>
    private int NetworkIndex(IPAddress client)
    {
        var networkIndex = -1;
        var bestPrefix = -1;
        foreach (var network in _networks)
        {
            foreach (var cidr in network.Cidrs)
            {
                if (cidr.PrefixLength > bestPrefix && cidr.Contains(client))
                {
                    bestPrefix = cidr.PrefixLength;
                    networkIndex = network.Index;
                }
            }
        }

        return networkIndex;
    }

    private readonly record struct Who(ClientIdentity Identity, ulong RoleMask, int NetworkIndex);

    private enum ItemKind : byte
    {
        Default,
        Exception,
        Rule,
    }

    private readonly record struct Item(ItemKind Kind, int Index);
}
