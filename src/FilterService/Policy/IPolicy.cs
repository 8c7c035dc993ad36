using System.Net;
using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace FilterService.Policy;

/// <summary>
/// What the proxy asks of a loaded policy. Production wraps <see cref="PolicySnapshot"/> (<see cref="SnapshotPolicy"/>);
/// tests of the socket mechanics supply their own so they do not depend on a particular sample policy.
/// Implementations are immutable and thread-safe.
/// </summary>
internal interface IPolicy
{
    string Version { get; }
    ProxyAuthMode ProxyAuth { get; }
    IReadOnlyList<ListSummary> Lists { get; }
    IReadOnlyList<(string Name, bool Statutory)> Categories { get; }
    bool IsClient(IPAddress client);
    bool VerifyPassword(string user, string password);
    ClientIdentity Identify(IPAddress client, string? authenticatedUser);
    Decision Decide(in FilterRequest request);
    bool NeedsInspection(string host);

    /// <summary>Normalises a host at the edge (IDN to ASCII, lower case, no trailing dot); null if invalid.</summary>
    string? NormalizeHost(ReadOnlySpan<char> host);
}

/// <summary>Loads a policy directory: the seam <see cref="PolicyStore"/> reloads through.</summary>
internal delegate (IPolicy? Policy, IReadOnlyList<Diagnostic> Diagnostics) PolicyLoad(string directory);

/// <summary>The production policy: the engine's snapshot.</summary>
internal sealed class SnapshotPolicy(PolicySnapshot snapshot) : IPolicy
{
    public static (IPolicy?, IReadOnlyList<Diagnostic>) Load(string directory)
    {
        var result = PolicyLoader.Load(directory);
        return (result.Snapshot is { } s ? new SnapshotPolicy(s) : null, result.Diagnostics);
    }

    public PolicySnapshot Snapshot => snapshot;
    public string Version => snapshot.Version;
    public ProxyAuthMode ProxyAuth => snapshot.ProxyAuth;
    public IReadOnlyList<ListSummary> Lists => snapshot.Lists;
    public IReadOnlyList<(string Name, bool Statutory)> Categories => snapshot.Categories;
    public bool IsClient(IPAddress client) => snapshot.IsClient(client);
    public bool VerifyPassword(string user, string password) => snapshot.VerifyPassword(user, password);
    public ClientIdentity Identify(IPAddress client, string? authenticatedUser) => snapshot.Identify(client, authenticatedUser);
    public Decision Decide(in FilterRequest request) => snapshot.Decide(in request);
    public bool NeedsInspection(string host) => snapshot.NeedsInspection(host);
    public string? NormalizeHost(ReadOnlySpan<char> host) => PolicyModel.Matching.HostName.Normalize(host);
}
