using PolicyModel.Decisions;
using PolicyModel.Diagnostics;

namespace FilterService.Policy;

/// <summary>
/// What a policy asks for that the proxy cannot enforce over HTTPS without TLS inspection: a tunnel shows the host,
/// not the method or the path. Printed at start when no inspection CA is configured, and by <c>check</c> unless told
/// that one is (<c>--inspection-ca</c>). Without a CA such a tunnel is decided on its host alone.
/// </summary>
internal static class InspectionWarnings
{
    private const string NoCa = "cannot be enforced over HTTPS without an inspection CA (Proxy:InspectionCaCertificate): HTTPS to its host is decided on the host alone";

    public static IReadOnlyList<string> For(PolicySnapshot policy)
    {
        var lines = new List<string>();
        foreach (var (name, line) in policy.InspectionRules)
        {
            lines.Add(Warning(new SourceLocation("policy.yaml", line, 1), "FS0110", $"rule '{name}' uses methods or paths, which {NoCa}"));
        }
        foreach (var (entry, list) in policy.StatutoryPathEntries)
        {
            lines.Add(Warning(new SourceLocation(list, 0, 0), "FS0111", $"statutory URL entry '{entry}' {NoCa}"));
        }
        var statutory = policy.Categories.Where(c => c.Statutory).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var list in policy.Lists.Where(l => l.Format == "hashed" && statutory.Contains(l.Category) && l.Entries > 0))
        {
            lines.Add(Warning(new SourceLocation(list.Path, 0, 0), "FS0112",
                $"statutory list '{list.Path}' holds {list.Entries} hashed entr{(list.Entries == 1 ? "y" : "ies")}; any that is the digest of a URL (host/path) rather than a host {NoCa}"));
        }
        if (TenantRestrictionsInactive(policy) is { } tenants)
        {
            lines.Add(Warning(new SourceLocation("policy.yaml", policy.TenantRestrictions.Line, 1), "FS0113", tenants));
        }
        return lines;
    }

    /// <summary>
    /// Why the policy's <c>tenant_restrictions</c> cannot apply without an inspection CA, or null when it configures none: the
    /// headers go inside TLS. For <c>check</c>, start-up and /health (which shows it while no CA is configured).
    /// </summary>
    public static string? TenantRestrictionsInactive(PolicySnapshot policy) => policy.TenantRestrictions.Configured
        ? $"tenant_restrictions ({string.Join(", ", policy.TenantRestrictions.Providers)}) cannot apply without an inspection CA (Proxy:InspectionCaCertificate): "
            + "the sign-in headers are added inside TLS, so pupils can sign in to any tenant"
        : null;

    private static string Warning(SourceLocation at, string code, string message) =>
        new Diagnostic(at, DiagnosticSeverity.Warning, code, message).ToString();
}
