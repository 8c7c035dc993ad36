using System.Collections.Frozen;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using PolicyModel.Matching;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>
/// Compiles <c>tenant_restrictions: { roles, microsoft: { tenants, context }, google: { allowed_domains } }</c>
/// (docs/policy.md): roles declared (PM0103); at least one provider; Microsoft's tenants are domain names or directory
/// IDs and its context one directory ID (a GUID); Google's allowed domains are domain names (PM0607).
/// </summary>
internal static class TenantRestrictionsCompiler
{
    private static readonly string[] Keys = ["roles", "microsoft", "google"];
    private static readonly string[] MicrosoftKeys = ["tenants", "context"];
    private static readonly string[] GoogleKeys = ["allowed_domains"];

    public static TenantRestrictions Compile(YamlSource src, YamlNode? node, IReadOnlyList<string> declaredRoles)
    {
        if (node is null)
        {
            return TenantRestrictions.None;
        }
        var entries = src.Entries(node, "tenant_restrictions", Keys);
        var roles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (role, at) in src.ScalarList(YamlSource.Get(entries, "roles"), "tenant_restrictions roles"))
        {
            if (declaredRoles.Contains(role))
            {
                roles.Add(role);
            }
            else
            {
                src.Error(at, Messages.UnknownRole, role, Suggestions.DidYouMean(role, declaredRoles));
            }
        }

        string? tenants = null, context = null, google = null;
        var microsoft = YamlSource.Get(entries, "microsoft");
        if (microsoft is not null)
        {
            var ms = src.Entries(microsoft, "tenant_restrictions microsoft", MicrosoftKeys);
            tenants = Join(src, YamlSource.Get(ms, "tenants"), microsoft, "tenant_restrictions microsoft tenants",
                "a tenant's domain (school.onmicrosoft.com) or directory ID", allowGuid: true);
            var contextNode = YamlSource.Get(ms, "context");
            if (contextNode is null)
            {
                src.Error(microsoft, Messages.TenantMissingContext);
            }
            else if (src.Scalar(contextNode, "tenant_restrictions microsoft context") is { } c)
            {
                if (Guid.TryParseExact(c, "D", out var id))
                {
                    context = id.ToString("D");
                }
                else
                {
                    src.Error(contextNode, Messages.BadTenantContext, c);
                }
            }
        }
        var googleNode = YamlSource.Get(entries, "google");
        if (googleNode is not null)
        {
            var g = src.Entries(googleNode, "tenant_restrictions google", GoogleKeys);
            google = Join(src, YamlSource.Get(g, "allowed_domains"), googleNode, "tenant_restrictions google allowed_domains",
                "a Google Workspace domain (school.org.uk)", allowGuid: false);
        }
        if (microsoft is null && googleNode is null)
        {
            src.Error(node, Messages.TenantNoProvider);
        }
        if (tenants is null || context is null)
        {
            tenants = context = null;
        }
        return new TenantRestrictions(roles.ToFrozenSet(StringComparer.Ordinal), tenants, context, google, (int)node.Start.Line);
    }

    /// <summary>The values, comma-separated as the header carries them, or null after reporting why.</summary>
    private static string? Join(YamlSource src, YamlNode? node, YamlNode parent, string what, string expected, bool allowGuid)
    {
        if (node is null)
        {
            src.Error(parent, Messages.TenantMissingValue, what, expected);
            return null;
        }
        var values = new List<string>();
        foreach (var (text, at) in src.ScalarList(node, what))
        {
            if (allowGuid && Guid.TryParseExact(text, "D", out var id))
            {
                values.Add(id.ToString("D"));
            }
            else if (HostName.Normalize(text) is { } domain && !HostName.IsIPLiteral(domain) && domain.Contains('.'))
            {
                values.Add(domain);
            }
            else
            {
                src.Error(at, Messages.TenantBadValue, what, text, expected);
            }
        }
        if (values.Count == 0)
        {
            src.Error(node, Messages.TenantEmptyValue, what, expected);
            return null;
        }
        return string.Join(",", values.Distinct(StringComparer.Ordinal));
    }
}
