using System.Net;
using PolicyModel.Documents;

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
/// A loaded, validated policy: immutable, shared by every request without locks. A request reads one
/// snapshot for its whole life; a reload builds a new one and swaps the reference.
/// </summary>
public sealed partial class PolicySnapshot
{
    /// <summary>The policy directory this was loaded from.</summary>
    public string Directory { get; }

    /// <summary>A short content hash of every file the policy read: changes whenever any of them does.</summary>
    public string Version { get; }

    public ProxyAuthMode ProxyAuth { get; }

    public IReadOnlyList<ListSummary> Lists { get; }

    /// <summary>Names of the categories, statutory ones marked.</summary>
    public IReadOnlyList<(string Name, bool Statutory)> Categories { get; }

    public int RuleCount { get; }

    /// <summary>Whether <paramref name="client"/> may use the proxy at all (the policy's <c>clients</c>).</summary>
    public bool IsClient(IPAddress client) => throw new NotImplementedException();

    /// <summary>Checks a proxy password against the user directory's hash. Constant time in the password.</summary>
    public bool VerifyPassword(string user, string password) => throw new NotImplementedException();

    /// <summary>Resolves who is asking from the address and the authenticated user, if any.</summary>
    public ClientIdentity Identify(IPAddress client, string? authenticatedUser) => throw new NotImplementedException();

    /// <summary>Decides one request. <paramref name="withTrace"/> fills <see cref="Decision.Trace"/> (explain, simulator).</summary>
    public Decision Decide(in FilterRequest request, bool withTrace = false) => throw new NotImplementedException();

    /// <summary>
    /// Whether some rule for this host depends on the method or the path, so a tunnel to it must be
    /// intercepted (TLS terminated) for the rule to be enforced.
    /// </summary>
    public bool NeedsInspection(string host) => throw new NotImplementedException();
}
