using System.Collections.Immutable;
using System.DirectoryServices.Protocols;
using System.Net;
using PolicyModel.Decisions;

namespace FilterService.Identity;

/// <summary>What one conversation with the directory found.</summary>
internal enum LdapAnswer
{
    /// <summary>The user exists (and, when a password was checked, it is theirs).</summary>
    Valid,
    /// <summary>No such user, more than one, or the password is wrong.</summary>
    Wrong,
    /// <summary>The directory could not be asked: unreachable, TLS refused, timed out, or the service account refused.</summary>
    Unreachable,
}

/// <summary>The outcome of <see cref="LdapClient.Check"/>: the user's DN, display name and groups when valid, the problem when unreachable.</summary>
internal sealed record LdapResult(LdapAnswer Answer, string? Dn = null, string? DisplayName = null, ImmutableArray<string> Groups = default, string? Problem = null);

/// <summary>
/// One conversation with the directory (System.DirectoryServices.Protocols over the system's libldap): connect over
/// LDAPS or StartTLS, bind as the service account, find the user by the policy's filter with the name escaped
/// (RFC 4515), read their groups (nested: walked level by level, or Active Directory's in-chain rule), and last
/// bind as the user to check the password. Blocking; every request carries the policy's timeout. Not shared between
/// threads: each check opens its own connection.
/// </summary>
internal sealed class LdapClient
{
    /// <summary>LDAP result code 49: invalidCredentials.</summary>
    private const int InvalidCredentials = 49;

    /// <summary>Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: membership through any depth of nesting.</summary>
    public const string InChainRule = "1.2.840.113556.1.4.1941";

    /// <summary>DNs per OR filter when walking nested groups.</summary>
    private const int WalkBatch = 32;

    private static readonly object StartTlsGate = new();

    private readonly DirectoryPolicy _policy;
    private readonly LdapSettings _settings;

    public LdapClient(DirectoryPolicy policy, LdapSettings settings)
    {
        _policy = policy;
        _settings = settings;
    }

    /// <summary>
    /// Finds <paramref name="user"/> (the name must already satisfy <see cref="LdapNames.IsUserName"/>) and their groups;
    /// with a <paramref name="password"/>, also checks it by binding as them. Without one (the scheduled refresh) only
    /// the service account binds.
    /// </summary>
    public LdapResult Check(string user, string? password)
    {
        LdapConnection? connection = null;
        try
        {
            connection = Connect();
            if (Bind(connection, _policy.BindDn, _settings.BindPassword ?? "") is { } serviceRefused)
            {
                return new LdapResult(LdapAnswer.Unreachable, Problem: serviceRefused);
            }
            var filter = _policy.UserFilter.Replace("{user}", LdapNames.EscapeFilterValue(user), StringComparison.Ordinal);
            var found = Search(connection, _policy.UserBase, filter, ["displayName", "cn"], sizeLimit: 2);
            if (found.Count != 1)
            {
                return new LdapResult(LdapAnswer.Wrong);
            }
            var entry = found[0];
            var display = First(entry, "displayName") ?? First(entry, "cn");
            var groups = Groups(connection, entry.DistinguishedName);
            if (password is not null)
            {
                // An empty password is an anonymous bind, which succeeds: never a sign-in.
                if (password.Length == 0 || Bind(connection, entry.DistinguishedName, password) is not null)
                {
                    return new LdapResult(LdapAnswer.Wrong);
                }
            }
            return new LdapResult(LdapAnswer.Valid, entry.DistinguishedName, display, groups);
        }
        catch (LdapException ex)
        {
            return new LdapResult(LdapAnswer.Unreachable, Problem: $"{_policy.Url}: {ex.Message} (LDAP {ex.ErrorCode})");
        }
        catch (DirectoryOperationException ex)
        {
            return new LdapResult(LdapAnswer.Unreachable, Problem: $"{_policy.Url}: {ex.Response?.ResultCode}: {ex.Message}");
        }
        catch (Exception ex) when (ex is DirectoryException or DllNotFoundException or PlatformNotSupportedException or InvalidOperationException)
        {
            return new LdapResult(LdapAnswer.Unreachable, Problem: $"{_policy.Url}: {ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            connection?.Dispose();
        }
    }

    /// <summary>Checks the service account can bind (the scheduled probe that keeps <c>filterservice_directory_up</c> true).</summary>
    public string? Probe()
    {
        try
        {
            using var connection = Connect();
            return Bind(connection, _policy.BindDn, _settings.BindPassword ?? "");
        }
        catch (Exception ex) when (ex is DirectoryException or DllNotFoundException or PlatformNotSupportedException or InvalidOperationException)
        {
            return $"{_policy.Url}: {ex.Message}";
        }
    }

    private LdapConnection Connect()
    {
        var url = _policy.Url;
        var port = url.Port > 0 ? url.Port : _policy.Ldaps ? 636 : 389;
        var connection = new LdapConnection(new LdapDirectoryIdentifier(url.Host, port, fullyQualifiedDnsHostName: true, connectionless: false))
        {
            AuthType = AuthType.Basic,
            Timeout = _policy.Timeout,
            AutoBind = false,
        };
        var options = connection.SessionOptions;
        options.ProtocolVersion = 3;
        options.ReferralChasing = ReferralChasingOptions.None;
        // Linux and macOS (libldap); on Windows the system's certificate store decides.
        if (_settings.TrustedCertificatesDirectory is { } trusted && !OperatingSystem.IsWindows())
        {
            options.TrustedCertificatesDirectory = trusted;
            options.StartNewTlsSessionContext();
        }
        if (_policy.Ldaps)
        {
            options.SecureSocketLayer = true;
        }
        else if (_policy.StartTls)
        {
            // On Linux, StartTLS on a connection not yet made fails ("server unavailable"): make it first with an
            // anonymous read of the root DSE, which carries no credentials, then upgrade before anything is bound.
            try
            {
                connection.SendRequest(new SearchRequest("", "(objectClass=*)", SearchScope.Base, "1.1"), _policy.Timeout);
            }
            catch (DirectoryOperationException)
            {
                // Refused, but answered: the connection is made, which is all this was for.
            }
            // Concurrent StartTLS handshakes through libldap (GnuTLS) fail now and then with TlsOperationException
            // (7 of 120 with four threads against slapd; none of 240 with eight once serialised; LDAPS is unaffected):
            // one handshake at a time, each bounded by the connection's timeout.
            // slapd answers operationsError to a StartTLS that arrives while it still counts the root DSE read as
            // outstanding (RFC 4511 4.14.1: no StartTLS with operations outstanding), a race the suite met 2 times in
            // about 20 runs: the same request again, after a moment, is the upgrade the client asked for.
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    lock (StartTlsGate)
                    {
                        options.StartTransportLayerSecurity(null);
                    }
                    break;
                }
                catch (DirectoryOperationException ex) when (attempt < 3 && ex.Response?.ResultCode == ResultCode.OperationsError)
                {
#pragma warning disable RS0030 // a 50-100 ms pause between StartTLS attempts inside a synchronous connect (the LDAP library's API), not a deadline
                    Thread.Sleep(50 * attempt);
#pragma warning restore RS0030
                }
            }
        }
        return connection;
    }

    /// <summary>Null when bound; the refusal when the directory says the credentials are wrong. Other failures throw.</summary>
    private string? Bind(LdapConnection connection, string dn, string password)
    {
        try
        {
            connection.Bind(new NetworkCredential(dn, password));
            return null;
        }
        catch (LdapException ex) when (ex.ErrorCode == InvalidCredentials)
        {
            return $"{_policy.Url}: the directory refused the bind as {(dn == _policy.BindDn ? "the service account " + dn + " (check bind_dn and Identity:Ldap:BindPassword)" : "the user")}";
        }
    }

    private List<SearchResultEntry> Search(LdapConnection connection, string baseDn, string filter, string[] attributes, int sizeLimit = 0)
    {
        var request = new SearchRequest(baseDn, filter, SearchScope.Subtree, attributes) { SizeLimit = sizeLimit, TimeLimit = _policy.Timeout };
        try
        {
            var response = (SearchResponse)connection.SendRequest(request, _policy.Timeout);
            return response.Entries.Cast<SearchResultEntry>().ToList();
        }
        catch (DirectoryOperationException ex) when (ex.Response?.ResultCode == ResultCode.SizeLimitExceeded)
        {
            return [null!, null!]; // more than one match: ambiguous, never a sign-in
        }
    }

    /// <summary>
    /// The DNs of every group <paramref name="userDn"/> is in: directly, and through nesting as the policy says
    /// (walked at most <see cref="DirectoryPolicy.MaxDepth"/> levels up, cycles ignored).
    /// </summary>
    private ImmutableArray<string> Groups(LdapConnection connection, string userDn)
    {
        var member = _policy.MemberAttribute;
        if (_policy.Nesting == NestedGroups.InChain)
        {
            var filter = $"({member}:{InChainRule}:={LdapNames.EscapeFilterValue(userDn)})";
            return Search(connection, _policy.GroupBase, filter, ["1.1"]).Select(e => e.DistinguishedName).ToImmutableArray();
        }
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { userDn };
        var groups = ImmutableArray.CreateBuilder<string>();
        var frontier = new List<string> { userDn };
        var levels = _policy.Nesting == NestedGroups.Off ? 1 : _policy.MaxDepth;
        for (var level = 0; level < levels && frontier.Count > 0; level++)
        {
            var next = new List<string>();
            foreach (var batch in frontier.Chunk(WalkBatch))
            {
                var filter = "(|" + string.Concat(batch.Select(dn => $"({member}={LdapNames.EscapeFilterValue(dn)})")) + ")";
                foreach (var entry in Search(connection, _policy.GroupBase, filter, ["1.1"]))
                {
                    if (seen.Add(entry.DistinguishedName))
                    {
                        groups.Add(entry.DistinguishedName);
                        next.Add(entry.DistinguishedName);
                    }
                }
            }
            frontier = next;
        }
        return groups.ToImmutable();
    }

    private static string? First(SearchResultEntry entry, string attribute) =>
        entry.Attributes.Contains(attribute) && entry.Attributes[attribute].Count > 0 ? entry.Attributes[attribute][0] as string : null;
}
