namespace PolicyModel.Diagnostics;

/// <summary>PM06xx: connect, safe_search, inspection, tenant_restrictions.</summary>
internal static partial class Messages
{
    // PM0601 `connect.bare_ip` is not `allow` or `block`
    public static readonly DiagnosticMessage BadConnectBareIp = new("PM0601", "connect.bare_ip must be 'allow' or 'block', not '{0}'{1}");

    // PM0602 `safe_search` `youtube` is not `strict` or `moderate`
    public static readonly DiagnosticMessage BadSafeSearchMode = new("PM0602", "safe_search youtube must be 'strict' or 'moderate', not '{0}'");

    // PM0603 `inspection` or `never_inspect`: unknown category (with a suggestion)
    public static readonly DiagnosticMessage UnknownInspectionCategory = new("PM0603", "unknown category '{0}' in {1}{2}");

    // PM0604 `inspection` or `never_inspect`: bad host pattern
    public static readonly DiagnosticMessage BadInspectionHost = new("PM0604", "bad host pattern '{0}' in {1}: {2}");

    // PM0605 `never_inspect` list line that is not a domain name
    public static readonly DiagnosticMessage BadNeverInspectLine = new("PM0605", "never_inspect list line '{0}' is not a domain name");

    // PM0606 `never_inspect` takes a host away from a rule with `methods`/`paths`, `inspection.hosts` or `tenant_restrictions` (warning)
    public static readonly DiagnosticMessage NeverInspectOverridesInspectionHost = new("PM0606", "inspection host '{0}' is never inspected ({1}): never_inspect wins");
    public static readonly DiagnosticMessage NeverInspectOverridesRule = new("PM0606", "rule '{0}' host '{1}' is never inspected ({2}): its methods and paths cannot apply over HTTPS, where it is decided on the host alone");
    public static readonly DiagnosticMessage NeverInspectOverridesTenant = new("PM0606", "tenant_restrictions cannot apply to '{0}', which is never inspected ({1})");

    // PM0607 `tenant_restrictions`: missing or malformed tenant, directory ID or domain, or no provider
    public static readonly DiagnosticMessage BadTenantContext = new("PM0607", "tenant_restrictions microsoft context '{0}' is not a directory ID (a GUID: Microsoft Entra admin centre, Overview, Tenant ID)");
    public static readonly DiagnosticMessage TenantBadValue = new("PM0607", "{0}: '{1}' is not {2}");
    public static readonly DiagnosticMessage TenantEmptyValue = new("PM0607", "{0}: empty; give {1}");
    public static readonly DiagnosticMessage TenantMissingContext = new("PM0607", "tenant_restrictions microsoft: missing 'context': the school's directory (tenant) ID, sent as Restrict-Access-Context");
    public static readonly DiagnosticMessage TenantMissingValue = new("PM0607", "{0}: missing; give {1}");
    public static readonly DiagnosticMessage TenantNoProvider = new("PM0607", "tenant_restrictions names no provider: add 'microsoft' or 'google'");

    // PM0608 `never_inspect` list not found or unreadable
    public static readonly DiagnosticMessage NeverInspectListUnreadable = new("PM0608", "cannot read never_inspect list '{0}': {1}");
}
