using System.Collections.Frozen;
using System.Collections.Immutable;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>
/// The <c>rules</c> section, in file order: each rule's conditions compiled to masks over the roles, networks and
/// categories compiled before it; a rule that allows a statutory category or host is an error, and so is one an
/// earlier rule makes unreachable (<see cref="RuleShape"/>).
/// </summary>
internal static class RuleCompiler
{
    private static readonly string[] Keys =
        ["name", "description", "roles", "users", "networks", "category", "categories", "hosts", "methods", "paths", "during", "outside", "action", "alert", "enabled"];

    private static readonly FrozenSet<string> HttpMethods =
        new[] { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE" }.ToFrozenSet();

    public static ImmutableArray<CompiledRule> Compile(CompileContext cx, YamlNode? node)
    {
        var rules = ImmutableArray.CreateBuilder<CompiledRule>();
        if (node is null)
        {
            return rules.ToImmutable();
        }

        if (node is not YamlSequenceNode seq)
        {
            cx.Src.Error(node, Messages.RulesNotAList);
            return rules.ToImmutable();
        }

        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var shapes = new List<(RuleShape Shape, string Name, int Line)>();
        foreach (var item in seq.Children)
        {
            var e = cx.Src.Entries(item, "a rule", Keys);
            var nameNode = YamlSource.Get(e, "name");
            var name = cx.Src.Scalar(nameNode, "name");
            if (name is null)
            {
                cx.Src.Error(item, Messages.RuleNeedsName);
                continue;
            }

            var line = (int)item.Start.Line;
            if (!lines.TryAdd(name, line))
            {
                cx.Src.Error(nameNode!, Messages.DuplicateRule, name, lines[name]);
            }

            var action = cx.Action(YamlSource.Get(e, "action"), "action");
            if (YamlSource.Get(e, "action") is null)
            {
                cx.Src.Error(item, Messages.RuleHasNoAction, name);
            }

            var categoryNodes = cx.Src.ScalarList(YamlSource.Get(e, "category"), "category")
                .Concat(cx.Src.ScalarList(YamlSource.Get(e, "categories"), "categories")).ToList();
            var categoryMask = cx.CategoryMask(categoryNodes);
            if (action == DecisionAction.Allow && (categoryMask & cx.StatutoryMask) != 0)
            {
                cx.Src.Error(categoryNodes[0].Node, Messages.RuleAllowsStatutory, name, cx.StatutoryName(categoryMask));
            }

            var methods = cx.Src.ScalarList(YamlSource.Get(e, "methods"), "methods");
            foreach (var (m, at) in methods)
            {
                if (!HttpMethods.Contains(m.ToUpperInvariant()))
                {
                    cx.Src.Error(at, Messages.UnknownHttpMethod, m);
                }
            }

            var paths = cx.Src.ScalarList(YamlSource.Get(e, "paths"), "paths");
            foreach (var (p, at) in paths)
            {
                if (!p.StartsWith('/') && !p.StartsWith('*'))
                {
                    cx.Src.Error(at, Messages.BadPathPattern, p);
                }
            }

            var rule = new CompiledRule
            {
                Name = name,
                Line = line,
                Action = action ?? DecisionAction.Block,
                Reason = RuleReason(name, action ?? DecisionAction.Block, cx.Src.Scalar(YamlSource.Get(e, "description"), "description"), e),
                RoleMask = cx.RoleMask(YamlSource.Get(e, "roles"), "roles"),
                Users = cx.UserSet(YamlSource.Get(e, "users"), "users"),
                NetworkMask = cx.NetworkMask(YamlSource.Get(e, "networks")),
                CategoryMask = categoryMask,
                Hosts = cx.Hosts(YamlSource.Get(e, "hosts"), action == DecisionAction.Allow ? $"rule '{name}'" : null),
                Methods = methods.Count == 0 ? null : methods.Select(m => m.Value.ToUpperInvariant()).ToFrozenSet(),
                Paths = paths.Select(p => PathPattern.Compile(p.Value)).ToImmutableArray(),
                During = cx.ScheduleRef(YamlSource.Get(e, "during"), "during"),
                Outside = cx.ScheduleRef(YamlSource.Get(e, "outside"), "outside"),
                Alert = YamlSource.Get(e, "alert") is { } alertNode ? cx.Severity(alertNode) : AlertSeverity.None,
                Disabled = YamlSource.Get(e, "enabled") is { } enabledNode && !RuleEnabled.Read(cx.Src, enabledNode),
            };

            var shape = RuleShape.Of(rule);
            foreach (var earlier in shapes)
            {
                if (earlier.Shape.Covers(shape))
                {
                    cx.Src.Error(item, Messages.RuleNeverMatches, name, earlier.Name, earlier.Line);
                    break;
                }
            }

            if (!rule.Disabled)
            {
                shapes.Add((shape, name, line));
            }
            rules.Add(rule);
        }

        return rules.ToImmutable();
    }

    /// <summary>The rule's one-sentence reason, built once at load so deciding a request formats nothing.</summary>
    private static string RuleReason(string name, DecisionAction action, string? description, IReadOnlyList<(YamlScalarNode Key, YamlNode Value)> e)
    {
        var verb = action == DecisionAction.Allow ? "Allowed" : "Blocked";
        if (description is not null)
        {
            return $"{verb} by rule '{name}': {description.TrimEnd('.')}.";
        }

        var parts = new List<string>();
        void Add(string key, string prefix)
        {
            if (YamlSource.Get(e, key) is YamlSequenceNode s)
            {
                parts.Add(prefix + string.Join(", ", s.Children.OfType<YamlScalarNode>().Select(n => n.Value)));
            }
            else if (YamlSource.Get(e, key) is YamlScalarNode { Value: { } v })
            {
                parts.Add(prefix + v);
            }
        }

        Add("category", "category ");
        Add("categories", "categories ");
        Add("hosts", "hosts ");
        Add("methods", "method ");
        Add("paths", "paths ");
        Add("roles", "for ");
        Add("users", "for ");
        Add("networks", "on ");
        Add("during", "during ");
        Add("outside", "outside ");
        return parts.Count == 0 ? $"{verb} by rule '{name}'." : $"{verb} by rule '{name}' ({string.Join(", ", parts)}).";
    }
}
