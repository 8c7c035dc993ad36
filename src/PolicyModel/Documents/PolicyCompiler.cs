using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>
/// Turns the YAML tree into one <see cref="CompiledPolicy"/>, a section at a time in document order, each section's
/// compiler sharing the <see cref="CompileContext"/>; every problem is reported, none stops the others.
/// </summary>
internal static class PolicyCompiler
{
    private static readonly string[] TopKeys =
        ["name", "timezone", "clients", "networks", "identity", "roles", "categories", "schedules", "denied_users", "rules", "exceptions", "default",
         "connect", "safe_search", "inspection", "tenant_restrictions"];

    /// <summary>The compiled policy, or null when there were errors (they are in the context's diagnostics).</summary>
    public static CompiledPolicy? Compile(CompileContext cx, YamlNode root)
    {
        var src = cx.Src;
        var top = src.Entries(root, "the policy", TopKeys);
        YamlNode? Section(string key) => YamlSource.Get(top, key);

        var name = src.Scalar(Section("name"), "name");
        RoleCompiler.TimeZone(cx, Section("timezone"), root);
        RoleCompiler.Roles(cx, Section("roles"), root);
        var clients = NetworkCompiler.Clients(cx, Section("clients"), root);
        NetworkCompiler.Networks(cx, Section("networks"));
        var identity = IdentityCompiler.Compile(cx, Section("identity"));
        var (matcher, lists) = CategoryCompiler.Compile(cx, Section("categories"), root);
        cx.Matcher = matcher;
        ScheduleSectionCompiler.Compile(cx, Section("schedules"));
        var denied = DeniedUsersCompiler.Compile(cx, Section("denied_users"));
        var rules = RuleCompiler.Compile(cx, Section("rules"));
        var exceptions = ExceptionCompiler.Compile(cx, Section("exceptions"));
        var defaultAction = cx.Action(Section("default"), "default") ?? DecisionAction.Allow;
        var refuseBareIp = ConnectCompiler.Compile(cx, Section("connect"));
        var safeSearch = SafeSearchCompiler.Compile(src, Section("safe_search"), cx.Roles);
        var inspectionCompiler = new InspectionCompiler(src, cx.Files, cx.Categories, matcher);
        var inspection = inspectionCompiler.Compile(Section("inspection"));
        var tenants = TenantRestrictionsCompiler.Compile(src, Section("tenant_restrictions"), cx.Roles);
        inspectionCompiler.WarnOverridden(inspection, Section("inspection"), Section("rules"), Section("tenant_restrictions"), tenants);
        if (Section("default") is null)
        {
            src.Error(root, Messages.MissingDefault);
        }

        if (cx.Diagnostics.HasErrors)
        {
            return null;
        }

        return new CompiledPolicy
        {
            Directory = Path.GetFullPath(cx.Directory),
            Version = cx.Files.Version,
            Name = name,
            TimeZone = cx.Zone,
            ProxyAuth = identity.ProxyAuth,
            SignInNetworkMask = identity.SignInNetworkMask,
            Clients = clients,
            Networks = [.. cx.Networks.Values.OrderBy(n => n.Index)],
            Roles = [.. cx.Roles],
            Users = cx.Users,
            Bindings = identity.Bindings,
            Ldap = identity.Ldap,
            Categories = [.. cx.Categories.Values.OrderBy(c => c.Index)],
            Matcher = matcher,
            Lists = lists,
            Feeds = [.. cx.Feeds],
            Rules = rules,
            Exceptions = exceptions,
            Denied = denied,
            DefaultAction = defaultAction,
            RefuseBareIpConnect = refuseBareIp,
            SafeSearch = safeSearch,
            Inspection = inspection,
            TenantRestrictions = tenants,
            Warnings = cx.Diagnostics.Items.Where(d => d.Severity == DiagnosticSeverity.Warning).ToList(),
        };
    }
}
