using System.Collections.Immutable;
using System.Net;
using PolicyModel.Decisions;

namespace PolicyModel.Tests.Documents;

/// <summary>Issue 17: <c>tenant_restrictions</c> compiles to the providers' headers, inspects their sign-in hosts, and reports bad values where they are.</summary>
public sealed class TenantRestrictionsTests
{
    private const string Tail = "default: allow\n";
    private const string Context = "6c3e5c2a-1f47-4b8e-9d2a-0c5b7e8f9a10";

    private static string Section(string roles = "[pupil]") => $$"""
        tenant_restrictions:
          roles: {{roles}}
          microsoft: { tenants: [cherryoak.onmicrosoft.com, CherryOak.org.uk], context: {{Context}} }
          google: { allowed_domains: [cherryoak.org.uk] }

        """;

    [Fact]
    public void Issue17_TenantRestrictions_HeadersForRestrictedRolesOnSignInHostsOnly()
    {
        using var p = new TestPolicy(TestPolicy.Head + Tail + Section());
        var tenants = p.Snapshot().TenantRestrictions;
        ImmutableArray<string> pupil = ["pupil"], staff = ["staff"];
        Assert.Equal(
            [("Restrict-Access-To-Tenants", "cherryoak.onmicrosoft.com,cherryoak.org.uk"), ("Restrict-Access-Context", Context)],
            tenants.HeadersFor(pupil, "login.microsoftonline.com"));
        Assert.Equal(tenants.HeadersFor(pupil, "login.microsoftonline.com"), tenants.HeadersFor(pupil, "login.windows.net"));
        Assert.Equal(tenants.HeadersFor(pupil, "login.microsoftonline.com"), tenants.HeadersFor(pupil, "login.microsoft.com"));
        Assert.Equal([("X-GoogApps-Allowed-Domains", "cherryoak.org.uk")], tenants.HeadersFor(pupil, "accounts.google.com"));
        Assert.Equal([("X-GoogApps-Allowed-Domains", "cherryoak.org.uk")], tenants.HeadersFor(pupil, "google.com"));
        Assert.Empty(tenants.HeadersFor(pupil, "notgoogle.com"));
        Assert.Empty(tenants.HeadersFor(pupil, "www.example.org"));
        Assert.Empty(tenants.HeadersFor(staff, "login.microsoftonline.com"));
    }

    [Fact]
    public void Issue17_TenantRestrictions_InspectTheSignInHostsForRestrictedRoles()
    {
        using var p = new TestPolicy(TestPolicy.Head + Tail + Section());
        var policy = p.Snapshot();
        var at = new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
        TunnelInspection For(string ip, string host) =>
            policy.InspectTunnel(host, policy.Decide(new FilterRequest(IPAddress.Parse(ip), null, "CONNECT", "https", host, 443, "", at)));
        Assert.Equal(new TunnelInspection(true, InspectionReason.TenantRestrictions, null), For("10.40.0.5", "login.microsoftonline.com"));
        Assert.Equal(new TunnelInspection(true, InspectionReason.TenantRestrictions, null), For("10.40.0.5", "accounts.google.com"));
        Assert.Equal(InspectionReason.NotNeeded, For("10.30.5.10", "login.microsoftonline.com").Reason); // staff1: not restricted
    }

    [Fact]
    public void Issue17_TenantRestrictions_NoRoles_MeansEveryone()
    {
        using var p = new TestPolicy(TestPolicy.Head + Tail + Section("[]"));
        var tenants = p.Snapshot().TenantRestrictions;
        Assert.True(tenants.AppliesTo(["staff"]));
        Assert.True(tenants.AppliesTo([]));
    }

    [Fact]
    public void Issue17_TenantRestrictions_BadValues_AreLocatedErrors()
    {
        var yaml = TestPolicy.Head + Tail + """
            tenant_restrictions:
              roles: [pupils]
              microsoft: { tenants: ['not a tenant'], context: not-a-guid }
              google: { allowed_domains: [] }

            """;
        using var p = new TestPolicy(yaml);
        int line = (TestPolicy.Head + Tail).Count(c => c == '\n') + 1;
        Assert.Equal(
        [
            $"policy.yaml:{line + 1}:11: error PM0103: unknown role 'pupils'; did you mean 'pupil'?",
            $"policy.yaml:{line + 2}:26: error PM0607: tenant_restrictions microsoft tenants: 'not a tenant' is not a tenant's domain (school.onmicrosoft.com) or directory ID",
            $"policy.yaml:{line + 2}:25: error PM0607: tenant_restrictions microsoft tenants: empty; give a tenant's domain (school.onmicrosoft.com) or directory ID",
            $"policy.yaml:{line + 2}:52: error PM0607: tenant_restrictions microsoft context 'not-a-guid' is not a directory ID (a GUID: Microsoft Entra admin centre, Overview, Tenant ID)",
            $"policy.yaml:{line + 3}:30: error PM0607: tenant_restrictions google allowed_domains: empty; give a Google Workspace domain (school.org.uk)",
        ], p.Load().Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Issue17_TenantRestrictions_NoProvider_IsALocatedError()
    {
        using var p = new TestPolicy(TestPolicy.Head + Tail + "tenant_restrictions:\n  roles: [pupil]\n");
        int line = (TestPolicy.Head + Tail).Count(c => c == '\n') + 2;
        Assert.Equal([$"policy.yaml:{line}:3: error PM0607: tenant_restrictions names no provider: add 'microsoft' or 'google'"],
            p.Load().Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Issue17_TenantSignInHostNeverInspected_IsALocatedWarning()
    {
        var yaml = TestPolicy.Head + Tail + Section() + "inspection:\n  never_inspect:\n    hosts: [login.microsoftonline.com]\n";
        using var p = new TestPolicy(yaml);
        int line = (TestPolicy.Head + Tail).Count(c => c == '\n') + 2;
        var warning = Assert.Single(p.Load().Diagnostics, d => d.Code == "PM0606").ToString();
        Assert.Equal($"policy.yaml:{line}:3: warning PM0606: tenant_restrictions cannot apply to 'login.microsoftonline.com', which is never inspected (never_inspect host 'login.microsoftonline.com')", warning);
    }
}
