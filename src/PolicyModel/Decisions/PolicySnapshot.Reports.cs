using System.Collections.Immutable;
using System.Net;
using PolicyModel.Matching;

namespace PolicyModel.Decisions;

// What the annual review pack (FilterService Admin/Reports) reads of a snapshot: who and what to test.
public sealed partial class PolicySnapshot
{
    /// <summary>Every user of <c>identity.users</c> (the review pack picks one account per role to test as).</summary>
    public IEnumerable<UserRecord> Users => _users.Users;

    /// <summary>The declared networks and client ranges, in policy order (the review pack tests each; RoleNames is in PolicySnapshot.Simulation.cs).</summary>
    internal ImmutableArray<NetworkDef> NetworkDefs => _networks;
    internal ImmutableArray<IPNetwork> ClientRanges => _clients;

    /// <summary>The categories whose lists hold <paramref name="host"/> (and canonical <paramref name="path"/>); allocates, for reports.</summary>
    internal IEnumerable<string> CategoriesOf(string host, string path)
    {
        var mask = _matcher.Match(host, UrlPath.Canonicalize(path));
        return _categories.Where(c => (mask & (1UL << c.Index)) != 0).Select(c => c.Name).ToList();
    }
}
