namespace PolicyModel.Documents;

/// <summary>
/// Diagnostic codes added for limits and safeguarding checks on any policy file (one code, one problem). The
/// older PM01xx/PM02xx/PM04xx/PM05xx codes are written where they are raised; docs/policy.md lists them all.
/// </summary>
internal static class DocumentCodes
{
    /// <summary>YAML nested deeper than <see cref="YamlSource.MaxDepth"/> (policy.yaml or a term calendar).</summary>
    public const string TooDeep = "PM0108";

    /// <summary>A file larger than its limit (<see cref="PolicyFiles"/>).</summary>
    public const string FileTooLarge = "PM0109";

    /// <summary>A device, FIFO or socket where a file was expected.</summary>
    public const string NotRegularFile = "PM0110";

    /// <summary>A bad or inconsistent feed key on a list (source, refresh, verify, credentials, hash), or a secret in policy.yaml (issue 21).</summary>
    public const string BadFeed = "PM0206";

    /// <summary>A feed's <c>key</c> (for <c>verify: signature</c>) is missing, unreadable or not an ECDSA P-256 public key (issue 21).</summary>
    public const string BadFeedKey = "PM0207";

    /// <summary>A rule or exception that allows a host listed in a statutory category.</summary>
    public const string AllowsStatutoryHost = "PM0407";

    /// <summary>A bad <c>connect:</c> section: <c>bare_ip</c> must be <c>allow</c> or <c>block</c> (issue 17).</summary>
    public const string BadConnectOption = "PM0601";

    /// <summary>safe_search: a YouTube mode other than strict or moderate.</summary>
    public const string BadSafeSearchMode = "PM0602";

    /// <summary>inspection / never_inspect: an unknown category (with a suggestion).</summary>
    public const string UnknownInspectionCategory = "PM0603";

    /// <summary>inspection / never_inspect: a bad host pattern.</summary>
    public const string BadInspectionHost = "PM0604";

    /// <summary>never_inspect: a list that cannot be read, or a line in it that is not a domain name.</summary>
    public const string BadNeverInspectList = "PM0605";

    /// <summary>Warning: never_inspect takes a host away from a rule with methods or paths, inspection.hosts or tenant_restrictions.</summary>
    public const string NeverInspectOverrides = "PM0606";

    /// <summary>tenant_restrictions: a missing or malformed tenant, directory ID or domain, or no provider.</summary>
    public const string BadTenantRestrictions = "PM0607";

    /// <summary>identity.directory: a missing or malformed url, DN or search base, or a plain ldap:// url without starttls.</summary>
    public const string BadDirectory = "PM0701";

    /// <summary>identity.directory user_filter: not a parenthesised LDAP filter, or no <c>{user}</c> in it.</summary>
    public const string BadDirectoryFilter = "PM0702";

    /// <summary>identity.directory groups: an empty group, or a group that is mapped twice.</summary>
    public const string BadDirectoryGroup = "PM0703";

    /// <summary>identity.directory: a bad duration, depth, nested_groups or on_directory_down value.</summary>
    public const string BadDirectoryValue = "PM0704";
}
