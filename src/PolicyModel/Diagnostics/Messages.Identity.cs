namespace PolicyModel.Diagnostics;

/// <summary>PM05xx: identity: networks, users, bindings.</summary>
internal static partial class Messages
{
    // PM0501 bad CIDR or address
    public static readonly DiagnosticMessage BadAddress = new("PM0501", "bad address '{0}'");
    public static readonly DiagnosticMessage BadCidr = new("PM0501", "bad CIDR '{0}': {1}");

    // PM0502 malformed users file (header, field count, empty name)
    public static readonly DiagnosticMessage UsersFileEmptyUserName = new("PM0502", "empty username");
    public static readonly DiagnosticMessage UsersFileFieldCount = new("PM0502", "expected 3 or 4 fields (username,display_name,roles,password_hash), found {0}");
    public static readonly DiagnosticMessage UsersFileHeader = new("PM0502", "the first line must be the header 'username,display_name,roles,password_hash'");

    // PM0503 unknown user in a binding, rule, exception or denied_users
    public static readonly DiagnosticMessage UnknownUser = new("PM0503", "unknown user '{0}'{1}");

    // PM0504 bad password hash
    public static readonly DiagnosticMessage BadPasswordHash = new("PM0504", "bad password hash for '{0}': {1}");

    // PM0505 users file not found or unreadable
    public static readonly DiagnosticMessage UsersFileNotFound = new("PM0505", "users file '{0}' not found");
    public static readonly DiagnosticMessage UsersFileUnreadable = new("PM0505", "cannot read users file '{0}': {1}");

    // PM0506 `proxy_auth` on with neither a users file nor a directory
    public static readonly DiagnosticMessage ProxyAuthWithoutPasswords = new("PM0506", "proxy_auth needs a users file or a directory to check passwords against");
}
