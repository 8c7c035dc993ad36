namespace PolicyModel.Decisions;

/// <summary>
/// The conditions of a rule as sets, to find rules that can never match. A rule is unreachable when an earlier
/// rule checks a subset of its conditions, each with a superset of values, and the same schedule or none:
/// then every request the later rule would match is already decided. Conservative: patterns are compared as text.
/// </summary>
internal sealed class RuleShape
{
    private ulong _roles;
    private ulong _networks;
    private ulong _categories;
    private HashSet<string>? _users;
    private HashSet<string>? _hosts;
    private HashSet<string>? _methods;
    private HashSet<string>? _paths;
    private object? _during;
    private object? _outside;

    public static RuleShape Of(CompiledRule rule) => new()
    {
        _roles = rule.RoleMask,
        _networks = rule.NetworkMask,
        _categories = rule.CategoryMask,
        _users = rule.Users?.ToHashSet(StringComparer.OrdinalIgnoreCase),
        _hosts = rule.Hosts.IsDefaultOrEmpty ? null : rule.Hosts.Select(h => h.Text).ToHashSet(),
        _methods = rule.Methods?.ToHashSet(),
        _paths = rule.Paths.IsDefaultOrEmpty ? null : rule.Paths.ToHashSet(),
        _during = rule.During,
        _outside = rule.Outside,
    };

    /// <summary>Whether every request <paramref name="later"/> matches is also matched by this rule.</summary>
    public bool Covers(RuleShape later) =>
        Covers(_roles, later._roles) &&
        Covers(_networks, later._networks) &&
        Covers(_categories, later._categories) &&
        Covers(_users, later._users) &&
        Covers(_hosts, later._hosts) &&
        Covers(_methods, later._methods) &&
        Covers(_paths, later._paths) &&
        (_during is null || ReferenceEquals(_during, later._during)) &&
        (_outside is null || ReferenceEquals(_outside, later._outside));

    private static bool Covers(ulong mine, ulong theirs) => mine == 0 || (theirs != 0 && (theirs & ~mine) == 0);

    private static bool Covers(HashSet<string>? mine, HashSet<string>? theirs) => mine is null || (theirs is not null && theirs.IsSubsetOf(mine));
}
