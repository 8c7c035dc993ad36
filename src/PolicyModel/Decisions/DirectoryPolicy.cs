using System.Collections.Frozen;
using System.Collections.Immutable;

namespace PolicyModel.Decisions;

/// <summary>How a user's nested groups are found (<c>identity.directory.nested_groups</c>).</summary>
public enum NestedGroups
{
    /// <summary>Walk <c>member</c> links upwards from the user, one search per level, at most <c>max_depth</c> levels (OpenLDAP, any server).</summary>
    Walk,
    /// <summary>One search with Active Directory's LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941): the server walks.</summary>
    InChain,
    /// <summary>Direct membership only.</summary>
    Off,
}

/// <summary>What happens to a new sign-in while the directory cannot be reached (<c>identity.directory.on_directory_down</c>).</summary>
public enum DirectoryDownMode
{
    /// <summary>Sign-ins verified within <c>cached_valid_for</c> keep working; new ones get the network's default role, or 407 where it has none.</summary>
    CachedThenDefault,
    /// <summary>Sign-ins verified within <c>cached_valid_for</c> keep working; new ones get 407.</summary>
    Refuse,
}

/// <summary>
/// The compiled <c>identity.directory</c> section: where the school's LDAP directory is, how a user and their groups
/// are found, and which groups are which roles. Immutable; equal when every setting is (the service reconnects when
/// a reload changes it). The service account's password is not here: it is a setting (<c>Identity:Ldap:BindPassword</c>).
/// </summary>
public sealed record DirectoryPolicy(
    Uri Url,
    bool StartTls,
    string BindDn,
    string UserBase,
    string UserFilter,
    string GroupBase,
    string MemberAttribute,
    NestedGroups Nesting,
    int MaxDepth,
    TimeSpan Refresh,
    TimeSpan CacheTtl,
    TimeSpan CachedValidFor,
    TimeSpan Timeout,
    DirectoryDownMode OnDown,
    int Line)
{
    /// <summary>Groups by normalised DN (<see cref="NormalizeDn"/>) to roles.</summary>
    public FrozenDictionary<string, ImmutableArray<string>> RolesByDn { get; init; } = FrozenDictionary<string, ImmutableArray<string>>.Empty;

    /// <summary>Groups by name (the value of the DN's first RDN, <c>cn=Staff,...</c> is <c>Staff</c>), ignoring case, to roles.</summary>
    public FrozenDictionary<string, ImmutableArray<string>> RolesByName { get; init; } = FrozenDictionary<string, ImmutableArray<string>>.Empty;

    /// <summary>Whether the URL is <c>ldaps://</c>.</summary>
    public bool Ldaps => Url.Scheme == "ldaps";

    /// <summary>
    /// The roles the groups <paramref name="groupDns"/> give, each with the group it came from (the first in
    /// <paramref name="groupDns"/> order), in the order the roles are first reached.
    /// </summary>
    public IReadOnlyList<(string Role, string Group)> RolesFor(IEnumerable<string> groupDns)
    {
        var result = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dn in groupDns)
        {
            var byDn = RolesByDn.GetValueOrDefault(NormalizeDn(dn), []);
            var byName = RdnValue(dn) is { } name ? RolesByName.GetValueOrDefault(name, []) : [];
            foreach (var role in byDn.Concat(byName))
            {
                if (seen.Add(role))
                {
                    result.Add((role, dn));
                }
            }
        }

        return result;
    }

    /// <summary>A DN compared as directories do: lower case, no spaces around <c>,</c> and <c>=</c>.</summary>
    public static string NormalizeDn(string dn)
    {
        var parts = dn.Split(',');
        for (var i = 0; i < parts.Length; i++)
        {
            var eq = parts[i].IndexOf('=');
            parts[i] = eq < 0 ? parts[i].Trim() : parts[i][..eq].Trim() + "=" + parts[i][(eq + 1)..].Trim();
        }

        return string.Join(",", parts).ToLowerInvariant();
    }

    /// <summary>The value of a DN's first RDN (<c>Year 7</c> for <c>cn=Year 7,ou=Groups,...</c>), or null.</summary>
    public static string? RdnValue(string dn)
    {
        var eq = dn.IndexOf('=');
        if (eq < 0)
        {
            return null;
        }

        var end = dn.IndexOf(',', eq);
        return (end < 0 ? dn[(eq + 1)..] : dn[(eq + 1)..end]).Trim();
    }
}

/// <summary>A person the directory signed in: their groups (DNs) as last read from it.</summary>
public sealed record DirectoryMember(string UserName, string? DisplayName, ImmutableArray<string> Groups, DateTimeOffset ReadAt);

/// <summary>
/// The directory's members as the service last read them (the service's LDAP client). The engine asks it for a user
/// the CSV directory does not know; a lookup must be fast and never block (an in-memory table).
/// </summary>
public interface IDirectoryMembers
{
    DirectoryMember? Find(string userName);
}
