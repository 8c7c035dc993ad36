using System.Collections.Frozen;
using System.Collections.Immutable;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using PolicyModel.Matching;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>
/// Compiles <c>inspection: { hosts, categories, never_inspect: { hosts, categories, lists } }</c> (docs/policy.md,
/// "inspection"). <c>never_inspect.lists</c> absent means the built-in list (deploy/lists/never-inspect.txt, embedded);
/// <c>lists: []</c> means none. Then warns (PM0606) where <c>never_inspect</c> takes a host away from a rule with
/// methods or paths, from <c>inspection.hosts</c>, or from <c>tenant_restrictions</c>.
/// </summary>
internal sealed class InspectionCompiler(YamlSource src, string directory, IReadOnlyDictionary<string, CategoryDef> categories, DomainMatcher matcher)
{
    private static readonly string[] Keys = ["hosts", "categories", "never_inspect"];
    private static readonly string[] NeverKeys = ["hosts", "categories", "lists"];
    private const string BuiltInResource = "PolicyModel.never-inspect.txt";

    /// <summary>The text of every list read, for the policy's version hash.</summary>
    public List<string> Texts { get; } = new();

    public InspectionPolicy Compile(YamlNode? node)
    {
        var entries = node is null ? [] : src.Entries(node, "inspection", Keys);
        var hosts = Hosts(YamlSource.Get(entries, "hosts"), "inspection hosts");
        var categoryMask = Categories(YamlSource.Get(entries, "categories"), "inspection");
        var never = YamlSource.Get(entries, "never_inspect");
        var neverEntries = never is null ? [] : src.Entries(never, "never_inspect", NeverKeys);
        var neverHosts = Hosts(YamlSource.Get(neverEntries, "hosts"), "never_inspect hosts");
        var neverCategories = Categories(YamlSource.Get(neverEntries, "categories"), "never_inspect");
        var domains = new Dictionary<string, string>(StringComparer.Ordinal);
        var lists = new List<string>();
        if (YamlSource.Get(neverEntries, "lists") is { } listsNode)
        {
            foreach (var (file, at) in src.ScalarList(listsNode, "never_inspect lists"))
            {
                var text = PolicyFiles.ReadText(directory, file, src.At(at), Messages.NeverInspectListUnreadable, "never_inspect list", src.Diagnostics);
                if (text is not null)
                {
                    Texts.Add(text);
                    ReadList(file, text, domains);
                    lists.Add(file);
                }
            }
        }
        else
        {
            ReadList(InspectionPolicy.BuiltInListName, BuiltInList(), domains);
            lists.Add(InspectionPolicy.BuiltInListName);
        }
        return new InspectionPolicy(hosts, categoryMask, neverHosts, neverCategories, domains.ToFrozenDictionary(StringComparer.Ordinal), lists);
    }

    /// <summary>The built-in never-inspect list (deploy/lists/never-inspect.txt, embedded in this assembly).</summary>
    public static string BuiltInList()
    {
        using var stream = typeof(InspectionCompiler).Assembly.GetManifestResourceStream(BuiltInResource)
            ?? throw new InvalidOperationException($"the built-in never-inspect list ({BuiltInResource}) is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Warns (PM0606) where <c>never_inspect</c> wins over something that needs inspection: a rule with methods or paths
    /// naming a never-inspected host, an <c>inspection.hosts</c> pattern, and the tenant-restriction sign-in hosts.
    /// </summary>
    public void WarnOverridden(InspectionPolicy inspection, YamlNode? inspectionNode, YamlNode? rulesNode, YamlNode? tenantNode, TenantRestrictions tenants)
    {
        string? Never(string host) =>
            inspection.NeverByHost(host) ?? ((matcher.Match(host, ReadOnlySpan<char>.Empty) & inspection.NeverCategoryMask) is var hit and not 0
                ? $"never_inspect category '{categories.Values.First(c => (hit & (1UL << c.Index)) != 0).Name}'" : null);

        if (rulesNode is YamlSequenceNode rules)
        {
            foreach (var rule in rules.Children.OfType<YamlMappingNode>())
            {
                var entries = rule.Children.Where(e => e.Key is YamlScalarNode).ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => e.Value, StringComparer.Ordinal);
                if (!entries.ContainsKey("methods") && !entries.ContainsKey("paths") || !entries.TryGetValue("hosts", out var hostsNode))
                {
                    continue;
                }
                var name = entries.TryGetValue("name", out var n) && n is YamlScalarNode { Value: { } v } ? v : "(unnamed)";
                foreach (var (text, at, pattern) in Parse(hostsNode))
                {
                    if (pattern is not null && Never(pattern.Domain) is { } why)
                    {
                        src.Warning(at, Messages.NeverInspectOverridesRule, name, text, why);
                    }
                }
            }
        }
        if (inspectionNode is YamlMappingNode inspectionMap && inspectionMap.Children.FirstOrDefault(e => e.Key is YamlScalarNode { Value: "hosts" }).Value is { } named)
        {
            foreach (var (text, at, pattern) in Parse(named))
            {
                if (pattern is not null && Never(pattern.Domain) is { } why)
                {
                    src.Warning(at, Messages.NeverInspectOverridesInspectionHost, text, why);
                }
            }
        }
        if (tenantNode is not null && tenants.Configured)
        {
            foreach (var host in TenantRestrictions.MicrosoftHosts.Append(TenantRestrictions.GoogleDomain).Order(StringComparer.Ordinal))
            {
                if (tenants.Covers(host) && Never(host) is { } why)
                {
                    src.Warning(tenantNode, Messages.NeverInspectOverridesTenant, host, why);
                }
            }
        }
    }

    private IEnumerable<(string Text, YamlNode At, HostPattern? Pattern)> Parse(YamlNode node)
    {
        // Rules' own host errors are reported by the loader (PM0406); here a bad pattern is only skipped.
        return node switch
        {
            YamlScalarNode { Value: { } one } => [(one, node, HostPattern.Parse(one, out _))],
            YamlSequenceNode seq => seq.Children.OfType<YamlScalarNode>().Where(s => s.Value is not null).Select(s => (s.Value!, (YamlNode)s, HostPattern.Parse(s.Value!, out _))),
            _ => [],
        };
    }

    private ImmutableArray<HostPattern> Hosts(YamlNode? node, string what)
    {
        var result = ImmutableArray.CreateBuilder<HostPattern>();
        foreach (var (text, at) in src.ScalarList(node, what))
        {
            if (HostPattern.Parse(text, out var problem) is { } pattern)
            {
                result.Add(pattern);
            }
            else
            {
                src.Error(at, Messages.BadInspectionHost, text, what, problem);
            }
        }
        return result.ToImmutable();
    }

    private ulong Categories(YamlNode? node, string what)
    {
        var mask = 0UL;
        foreach (var (name, at) in src.ScalarList(node, what + " categories"))
        {
            if (categories.TryGetValue(name, out var c))
            {
                mask |= 1UL << c.Index;
            }
            else
            {
                src.Error(at, Messages.UnknownInspectionCategory, name, what, Suggestions.DidYouMean(name, categories.Keys));
            }
        }
        return mask;
    }

    /// <summary>A plain domain list: one domain a line, <c>#</c> comments; a line that is not a domain is an error (PM0605).</summary>
    private void ReadList(string file, string text, Dictionary<string, string> domains)
    {
        var line = 0;
        foreach (var raw in text.Split('\n'))
        {
            line++;
            var hash = raw.IndexOf('#');
            var entry = (hash >= 0 ? raw.AsSpan(0, hash) : raw.AsSpan()).Trim();
            if (entry.IsEmpty)
            {
                continue;
            }
            if (HostName.Normalize(entry) is not { } domain || HostName.IsIPLiteral(domain))
            {
                src.Diagnostics.Error(new SourceLocation(file, line, 1), Messages.BadNeverInspectLine, entry.ToString());
                continue;
            }
            domains.TryAdd(domain, $"never_inspect list {file}, entry '{domain}'");
        }
    }
}
