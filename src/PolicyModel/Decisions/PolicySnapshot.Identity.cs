using System.Collections.Immutable;
using System.Net;
using NodaTime;
using PolicyModel.Diagnostics;
using PolicyModel.Matching;

namespace PolicyModel.Decisions;

/// <summary>Who is asking: clients, networks, users, bindings and the directory's members.</summary>
public sealed partial class PolicySnapshot
{
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

    /// <summary>Resolves who is asking from the address and the authenticated user, if any.</summary>
    public ClientIdentity Identify(IPAddress client, string? authenticatedUser) => Resolve(client, authenticatedUser).Identity;

    internal static IPAddress Canonical(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private Who Resolve(IPAddress client, string? authenticatedUser)
    {
        client = Canonical(client);
        var isClient = IsClient(client);
        var networkIndex = NetworkIndex(client);
        var userName = authenticatedUser ?? _bindings.GetValueOrDefault(client);
        if (userName is not null && FindRecord(userName) is { } record)
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
}
