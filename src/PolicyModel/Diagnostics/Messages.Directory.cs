namespace PolicyModel.Diagnostics;

/// <summary>PM07xx: identity.directory (LDAP).</summary>
internal static partial class Messages
{
    // PM0701 `identity.directory`: missing or malformed `url`, DN or base; plain `ldap://` without `starttls`
    public static readonly DiagnosticMessage DirectoryBadDn = new("PM0701", "identity.directory {0} '{1}' is not a distinguished name (cn=...,dc=...)");
    public static readonly DiagnosticMessage DirectoryBadUrl = new("PM0701", "identity.directory url '{0}' is not ldaps://HOST[:PORT] or ldap://HOST[:PORT]");
    public static readonly DiagnosticMessage DirectoryMissingKey = new("PM0701", "identity.directory: missing '{0}': {1}");
    public static readonly DiagnosticMessage DirectoryPlainLdap = new("PM0701", "identity.directory url '{0}' is plain LDAP: passwords would cross the network in clear; use ldaps:// or add 'starttls: true'");
    public static readonly DiagnosticMessage DirectoryStartTlsWithLdaps = new("PM0701", "identity.directory: starttls is for ldap:// urls; ldaps:// is TLS from the start");

    // PM0702 `identity.directory` `user_filter` without `{user}` or with unbalanced parentheses
    public static readonly DiagnosticMessage DirectoryFilterNotLdap = new("PM0702", "identity.directory user_filter '{0}' is not an LDAP filter: it must start with '(' and its parentheses must balance");
    public static readonly DiagnosticMessage DirectoryFilterWithoutUser = new("PM0702", "identity.directory user_filter '{0}' has no '{{user}}': say where the signed-in name goes, e.g. (sAMAccountName={{user}})");

    // PM0703 `identity.directory` `groups`: a group mapped twice, or a key that is neither a name nor a DN
    public static readonly DiagnosticMessage DirectoryGroupMappedTwice = new("PM0703", "identity.directory groups: group '{0}' is mapped twice");
    public static readonly DiagnosticMessage DirectoryGroupNotNameOrDn = new("PM0703", "identity.directory groups: '{0}' is neither a group's name nor a distinguished name");

    // PM0704 `identity.directory`: bad duration, `max_depth`, `member_attribute`, `nested_groups` or `on_directory_down`
    public static readonly DiagnosticMessage DirectoryBadDuration = new("PM0704", "identity.directory {0} '{1}' must be a duration from {2} to {3} (30s, 5m, 8h)");
    public static readonly DiagnosticMessage DirectoryBadMaxDepth = new("PM0704", "identity.directory max_depth '{0}' must be a whole number 1-32");
    public static readonly DiagnosticMessage DirectoryBadMemberAttribute = new("PM0704", "identity.directory member_attribute '{0}' is not an attribute name");
    public static readonly DiagnosticMessage DirectoryBadNestedGroups = new("PM0704", "identity.directory nested_groups must be walk, in_chain (Active Directory) or off, not '{0}'{1}");
    public static readonly DiagnosticMessage DirectoryBadOnDown = new("PM0704", "identity.directory on_directory_down must be cached_then_default or refuse, not '{0}'{1}");

    // PM0705 `identity.directory`: the service account's password in the policy
    public static readonly DiagnosticMessage DirectoryPasswordInPolicy = new("PM0705", "identity.directory: the service account's password does not belong in the policy; set Identity:Ldap:BindPassword or Identity:Ldap:BindPasswordFile in the service's settings");
}
