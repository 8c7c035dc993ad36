using System.Net;
using System.Net.Sockets;
using PolicyModel.Decisions;

namespace FilterService.Admin.Reports;

/// <summary>
/// A group of people the review pack tests as: a role signed in on a network, or a device that does not sign in on a
/// network (it takes the network's default role), or a device outside every named network. <see cref="User"/> is the
/// account the engine is asked about; it is never shown (the pack names roles, not people).
/// </summary>
internal sealed record ReviewGroup(string Name, IPAddress Client, string? User, IReadOnlyList<string> Roles, string? Network, bool Pupil, bool MustSignIn);

/// <summary>Finds the groups of a policy: every role (through one of its accounts) on every network, and every network's unsigned devices.</summary>
internal static class ReviewGroups
{
    /// <summary>The groups to test, and the roles no account or network holds (they cannot be tested).</summary>
    public static (IReadOnlyList<ReviewGroup> Groups, IReadOnlyList<string> Untestable) For(PolicySnapshot policy, IReadOnlyCollection<string> pupilRoles,
        IReadOnlyList<(string Name, IPAddress Address)> networks, IPAddress? outside, DateTimeOffset at)
    {
        var groups = new List<ReviewGroup>();
        bool IsPupil(IEnumerable<string> roles) => roles.Any(r => pupilRoles.Contains(r, StringComparer.Ordinal));
        var places = networks.Select(n => (Label: "on " + n.Name, n.Address)).ToList();
        if (outside is not null)
        {
            places.Add(("outside the named networks", outside));
        }
        foreach (var (label, address) in places)
        {
            var who = policy.Identify(address, null);
            var roles = who.Roles.ToArray();
            string name = roles.Length > 0 ? $"device {label}, not signed in (role {string.Join(", ", roles)})" : $"device {label}, not signed in (anonymous, no role)";
            groups.Add(new ReviewGroup(name, address, null, roles, who.Network, IsPupil(roles), policy.SignInRequired(address)));
        }
        var untestable = new List<string>();
        foreach (var role in AllRoles(policy))
        {
            var account = Account(policy, role, at, places.Count > 0 ? places[0].Address : IPAddress.Loopback);
            if (account is null)
            {
                if (!groups.Any(g => g.Roles.Contains(role, StringComparer.Ordinal)))
                {
                    untestable.Add(role);
                }
                continue;
            }
            foreach (var (label, address) in places)
            {
                var who = policy.Identify(address, account.UserName);
                var roles = who.Roles.ToArray();
                var extra = roles.Where(r => r != role).ToArray();
                string name = $"{role} signed in {label}" + (extra.Length > 0 ? $" (account also holds {string.Join(", ", extra)})" : "");
                groups.Add(new ReviewGroup(name, address, account.UserName, roles, who.Network, IsPupil(roles), false));
            }
        }
        return (groups, untestable);
    }

    /// <summary>Roles declared by the policy that the identities expose (roles of users and network defaults).</summary>
    private static IEnumerable<string> AllRoles(PolicySnapshot policy) => policy.RoleNames;

    /// <summary>An account holding <paramref name="role"/>, preferring one with that role alone, never a denied user.</summary>
    private static PolicyModel.Decisions.UserRecord? Account(PolicySnapshot policy, string role, DateTimeOffset at, IPAddress probeFrom) =>
        policy.Users.Where(u => u.Roles.Contains(role, StringComparer.Ordinal))
            .OrderBy(u => u.Roles.Length).ThenBy(u => u.UserName, StringComparer.Ordinal)
            .FirstOrDefault(u => policy.Decide(new FilterRequest(probeFrom, u.UserName, "CONNECT", "https", "example.invalid", 443, "", at)).Rule != "denied-user");

    /// <summary>
    /// One address in each network (the first usable address of its first range that the policy places in it), and one
    /// client address in no network, if the client ranges have one.
    /// </summary>
    public static (IReadOnlyList<(string Name, IPAddress Address)> Networks, IPAddress? Outside) Addresses(PolicySnapshot policy)
    {
        var found = new List<(string, IPAddress)>();
        foreach (var (name, cidrs) in policy.NetworkDefs.Select(n => (n.Name, n.Cidrs)))
        {
            var address = cidrs.SelectMany(Candidates).FirstOrDefault(a => policy.Identify(a, null).Network == name);
            if (address is not null)
            {
                found.Add((name, address));
            }
        }
        var outside = policy.ClientRanges.SelectMany(Candidates).FirstOrDefault(a => policy.IsClient(a) && policy.Identify(a, null).Network is null);
        return (found, outside);
    }

    private static IEnumerable<IPAddress> Candidates(IPNetwork network)
    {
        var bytes = network.BaseAddress.GetAddressBytes();
        for (int step = 1; step <= 3; step++)
        {
            var b = (byte[])bytes.Clone();
            for (int i = b.Length - 1, carry = step; i >= 0 && carry > 0; i--)
            {
                int v = b[i] + carry;
                b[i] = (byte)v;
                carry = v >> 8;
            }
            var a = new IPAddress(b);
            if (network.Contains(a))
            {
                yield return a;
            }
        }
        if (network.BaseAddress.AddressFamily == AddressFamily.InterNetwork && network.Contains(IPAddress.Loopback))
        {
            yield return IPAddress.Loopback;
        }
    }
}
