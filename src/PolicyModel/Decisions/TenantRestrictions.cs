using System.Collections.Frozen;
using System.Collections.Immutable;

namespace PolicyModel.Decisions;

/// <summary>
/// The compiled <c>tenant_restrictions</c> section: on inspected requests to the providers' sign-in hosts, the headers
/// that make Microsoft Entra ID and Google sign in only the school's own tenant or domains. Immutable; lookups
/// allocate nothing (the header values are joined at load).
/// </summary>
public sealed class TenantRestrictions
{
    public static readonly TenantRestrictions None = new(FrozenSet<string>.Empty, null, null, null, 0);

    public const string MicrosoftTenantsHeader = "Restrict-Access-To-Tenants";
    public const string MicrosoftContextHeader = "Restrict-Access-Context";
    public const string GoogleDomainsHeader = "X-GoogApps-Allowed-Domains";

    /// <summary>
    /// Microsoft's sign-in hosts for tenant restrictions (learn.microsoft.com, "Restrict access to a tenant": the proxy
    /// inserts the headers on traffic to these three).
    /// </summary>
    public static readonly FrozenSet<string> MicrosoftHosts =
        new[] { "login.microsoftonline.com", "login.microsoft.com", "login.windows.net" }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Google's: every request to <c>google.com</c> and its subdomains (support.google.com/a/answer/1668854).</summary>
    public const string GoogleDomain = "google.com";

    private readonly FrozenSet<string> _roles;
    private readonly (string Name, string Value)[] _microsoft;
    private readonly (string Name, string Value)[] _google;

    internal TenantRestrictions(FrozenSet<string> roles, string? microsoftTenants, string? microsoftContext, string? googleDomains, int line)
    {
        _roles = roles;
        _microsoft = microsoftTenants is null ? [] : [(MicrosoftTenantsHeader, microsoftTenants), (MicrosoftContextHeader, microsoftContext!)];
        _google = googleDomains is null ? [] : [(GoogleDomainsHeader, googleDomains)];
        Line = line;
    }

    /// <summary>Whether the policy configures any provider.</summary>
    public bool Configured => _microsoft.Length + _google.Length > 0;

    /// <summary>The line of <c>tenant_restrictions</c> in policy.yaml (for warnings); 0 when absent.</summary>
    public int Line { get; }

    /// <summary>The restricted roles, sorted; empty means everyone.</summary>
    public IReadOnlyList<string> Roles => _roles.Order(StringComparer.Ordinal).ToArray();

    /// <summary>The providers configured, for <c>check</c>: microsoft, google.</summary>
    public IReadOnlyList<string> Providers => [.. _microsoft.Length > 0 ? ["microsoft"] : Array.Empty<string>(), .. _google.Length > 0 ? ["google"] : Array.Empty<string>()];

    /// <summary>Whether <paramref name="host"/> is a sign-in host of a configured provider, whoever asks.</summary>
    public bool Covers(ReadOnlySpan<char> host) =>
        (_microsoft.Length > 0 && MicrosoftHosts.GetAlternateLookup<ReadOnlySpan<char>>().Contains(host))
        || (_google.Length > 0 && HostPattern.IsSameOrSubdomain(host, GoogleDomain));

    /// <summary>
    /// The headers to set (replacing any the client sent) on a request to <paramref name="host"/> from someone with
    /// <paramref name="roles"/>; empty when the host is not a configured provider's or the roles are not restricted.
    /// </summary>
    public IReadOnlyList<(string Name, string Value)> HeadersFor(ImmutableArray<string> roles, ReadOnlySpan<char> host)
    {
        if (!Configured || !AppliesTo(roles))
        {
            return [];
        }
        if (_microsoft.Length > 0 && MicrosoftHosts.GetAlternateLookup<ReadOnlySpan<char>>().Contains(host))
        {
            return _microsoft;
        }
        return _google.Length > 0 && HostPattern.IsSameOrSubdomain(host, GoogleDomain) ? _google : [];
    }

    /// <summary>Whether requests from someone with <paramref name="roles"/> are restricted (every role when none are named).</summary>
    public bool AppliesTo(ImmutableArray<string> roles)
    {
        if (!Configured)
        {
            return false;
        }
        if (_roles.Count == 0)
        {
            return true;
        }
        if (roles.IsDefaultOrEmpty)
        {
            return false;
        }
        foreach (var r in roles)
        {
            if (_roles.Contains(r))
            {
                return true;
            }
        }
        return false;
    }
}
