using System.Collections.Immutable;
using System.Net;
using NodaTime;

namespace PolicyModel.Decisions;

/// <summary>
/// What the admin console's simulator asks of the engine beyond <see cref="Decide"/>: an unnamed person holding a role
/// (<see cref="WithPersona"/>), a device on a named network (<see cref="AddressOn"/>), and the instants at which the
/// answer for one request can change (<see cref="ChangePoints"/>), so a week is decided exactly, interval by interval.
/// </summary>
public sealed partial class PolicySnapshot
{
    // The simulator's made-up person; set once, by WithPersona, on a copy that is never published to the proxy.
    private UserRecord? _persona;

    /// <summary>
    /// This policy where the user name <paramref name="name"/> is a person holding <paramref name="role"/> alone, with no
    /// timetable, exception or rule naming them: "a member of staff" for the simulator. Null when the policy has no such
    /// role. A shallow copy: the compiled policy is shared; the proxy never sees it.
    /// </summary>
    public PolicySnapshot? WithPersona(string name, string role)
    {
        var known = _roles.FirstOrDefault(r => string.Equals(r, role, StringComparison.OrdinalIgnoreCase));
        if (known is null)
        {
            return null;
        }

        var copy = (PolicySnapshot)MemberwiseClone();
        copy._persona = new UserRecord(name, name, [known], null);
        return copy;
    }

    /// <summary>The roles the policy declares, in file order.</summary>
    public IReadOnlyList<string> RoleNames => _roles;

    /// <summary>The networks the policy declares, in file order.</summary>
    public IReadOnlyList<string> NetworkNames => _networks.Select(n => n.Name).ToArray();

    /// <summary>
    /// An address the engine places on <paramref name="network"/> (the most specific CIDR containing it is one of that
    /// network's) and in <c>clients</c> when one is; null when the network is unknown or every address of it belongs to a
    /// more specific network. Tried: the first two addresses of each of its CIDRs.
    /// </summary>
    public IPAddress? AddressOn(string network)
    {
        var def = _networks.FirstOrDefault(n => string.Equals(n.Name, network, StringComparison.OrdinalIgnoreCase));
        if (def is null)
        {
            return null;
        }

        IPAddress? found = null;
        foreach (var cidr in def.Cidrs)
        {
            var bytes = cidr.BaseAddress.GetAddressBytes();
            for (var step = 0; step < 2; step++)
            {
                bytes[^1]++;
                var address = new IPAddress(bytes);
                if (!cidr.Contains(address) || NetworkIndex(address) != def.Index)
                {
                    continue;
                }

                if (IsClient(address))
                {
                    return address;
                }

                found ??= address;
            }
        }

        return found;
    }

    /// <summary>
    /// Every instant in the open interval (<paramref name="from"/>, <paramref name="to"/>) at which some exception or rule
    /// that could decide <paramref name="request"/> comes into or goes out of force (a schedule window opening or closing
    /// on the local clock, DST included; a calendar day changing kind; the user's timetable periods; an exception's
    /// <c>from</c> and <c>until</c>), ascending. Between two consecutive instants <see cref="Decide"/> gives the same
    /// answer for every <c>At</c>; its other conditions (who, where, what) do not depend on time.
    /// </summary>
    public IReadOnlyList<DateTimeOffset> ChangePoints(in FilterRequest request, DateTimeOffset from, DateTimeOffset to)
    {
        var canonical = request with { PathAndQuery = Matching.UrlPath.Canonicalize(request.PathAndQuery) };
        var who = Resolve(canonical.Client, canonical.User);
        if (!who.Identity.IsClient)
        {
            return [];
        }

        var categories = _matcher.Match(canonical.Host, canonical.PathAndQuery);
        var (start, end) = (Instant.FromDateTimeOffset(from), Instant.FromDateTimeOffset(to));
        var points = new SortedSet<Instant>();
        foreach (var item in Candidates(who, canonical, categories, mismatches: null))
        {
            // NextChange answers "when does this item's state next differ", so walking it visits each change once.
            var t = start;
            while (NextChange(item, t, who.Identity.User) is { } next && next < end)
            {
                points.Add(next);
                t = next;
            }
        }

        return points.Select(p => p.ToDateTimeOffset()).ToImmutableArray();
    }

    private UserRecord? FindRecord(string userName) =>
        _users.Find(userName)
        ?? (_persona is { } p && string.Equals(p.UserName, userName, StringComparison.OrdinalIgnoreCase) ? p : null);
}
