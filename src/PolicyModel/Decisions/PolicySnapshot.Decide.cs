using System.Collections.Immutable;
using System.Numerics;
using NodaTime;
using PolicyModel.Matching;

namespace PolicyModel.Decisions;

/// <summary>Deciding one request: the order of Decisions/README.md, with the trace for explain and the simulator.</summary>
public sealed partial class PolicySnapshot
{
    /// <summary>Decides one request. <paramref name="withTrace"/> fills <see cref="Decision.Trace"/> (explain, simulator).</summary>
    /// <remarks>
    /// The path is judged in its canonical form (<see cref="UrlPath"/>): lists and <c>paths:</c> rules see
    /// <c>/terror/recruitment</c> for <c>//terror;x/%2frecruitment</c>. The caller forwards what it received.
    /// </remarks>
    public Decision Decide(in FilterRequest request, bool withTrace = false) =>
        DecideCanonical(request with { PathAndQuery = UrlPath.Canonicalize(request.PathAndQuery) }, withTrace);

    // DecideCanonical's candidates, per thread: used only until it returns (every request is decided).
    [ThreadStatic] private static List<Item>? t_candidates;

    private Decision DecideCanonical(in FilterRequest request, bool withTrace)
    {
        var who = Resolve(request.Client, request.User);
        var trace = withTrace ? ImmutableArray.CreateBuilder<TraceStep>() : null;
        if (!who.Identity.IsClient)
        {
            trace?.Add(new TraceStep("clients", true, $"{request.Client} is not in the policy's client networks"));
            return new Decision(DecisionAction.Block, "not-a-client", null, null, null,
                $"{request.Client} is not one of this school's client addresses, so the proxy refuses it.",
                null, false, AlertSeverity.None, who.Identity, Finish(trace));
        }

        var host = request.Host;
        var path = request.PathAndQuery;
        var categories = _matcher.Match(host, path);

        var statutory = categories & _statutoryMask;
        trace?.Add(new TraceStep("statutory", statutory != 0, statutory != 0
            ? $"{host} is on the statutory {CategoryNames(statutory)} list"
            : "not on any statutory list"));
        if (statutory != 0)
        {
            var category = _categories[BitOperations.TrailingZeroCount(statutory)];
            var hit = _matcher.Explain(host, path, category.Index);
            var severity = category.AlertFor(who.RoleMask);
            return new Decision(DecisionAction.Block, "statutory:" + category.Name, category.Name, hit?.ListName, hit?.Entry,
                $"{host} is on the statutory {category.Name} list, which is blocked for everyone and cannot be overridden.",
                null, severity != AlertSeverity.None, severity, who.Identity, Finish(trace));
        }

        if (who.Identity.User is { } user && _denied.TryGetValue(user, out var denied))
        {
            trace?.Add(new TraceStep("denied-users", true, $"{user} is denied all access: {denied.Reason}"));
            return new Decision(DecisionAction.Block, "denied-user", null, null, null,
                $"{user} is denied all access through the proxy: {denied.Reason}.",
                null, false, AlertSeverity.None, who.Identity, Finish(trace));
        }

        var at = Instant.FromDateTimeOffset(request.At);
        var mismatches = trace is null ? null : new List<(Item Item, string Why)>();
        var candidates = Candidates(who, request, categories, mismatches, t_candidates ??= []);
        var decided = FirstActive(candidates, at, who.Identity.User);
        if (trace is not null)
        {
            TraceItems(candidates, mismatches!, decided, at, who.Identity.User, trace);
        }

        var action = ActionOf(decided);
        var until = Until(candidates, at, who.Identity.User, action);
        DateTimeOffset? untilOffset = until?.ToDateTimeOffset();

        switch (decided.Kind)
        {
            case ItemKind.Exception:
            {
                var exception = _exceptions[decided.Index];
                var (category, hit) = Explain(exception.CategoryMask & categories, host, path);
                return new Decision(DecisionAction.Allow, "exception:" + exception.Name, category?.Name, hit?.ListName, hit?.Entry,
                    exception.Reason, untilOffset, false, AlertSeverity.None, who.Identity, Finish(trace));
            }

            case ItemKind.Rule:
            {
                var rule = _rules[decided.Index];
                var (category, hit) = Explain(rule.CategoryMask & categories, host, path);
                var severity = rule.Alert;
                if (rule.Action == DecisionAction.Block && category?.AlertFor(who.RoleMask) is { } categoryAlert && categoryAlert > severity)
                {
                    severity = categoryAlert;
                }

                return new Decision(rule.Action, rule.Name, category?.Name, hit?.ListName, hit?.Entry, rule.Reason,
                    untilOffset, severity != AlertSeverity.None, severity, who.Identity, Finish(trace));
            }

            default:
                return new Decision(_default, "default", null, null, null,
                    _default == DecisionAction.Allow
                        ? "No rule applies to this request, so the policy's default allows it."
                        : "No rule applies to this request, so the policy's default blocks it.",
                    untilOffset, false, AlertSeverity.None, who.Identity, Finish(trace));
        }
    }

    /// <summary>The first category in <paramref name="mask"/> and the entry that put the request in it. Allocates: deciding requests only.</summary>
    private (CategoryDef? Category, MatchHit? Hit) Explain(ulong mask, string host, string path)
    {
        if (mask == 0)
        {
            return (null, null);
        }

        var category = _categories[BitOperations.TrailingZeroCount(mask)];
        return (category, _matcher.Explain(host, path, category.Index));
    }

    /// <summary>
    /// The exceptions and rules whose conditions other than time hold for this request, in the order they are
    /// tried, up to the first that has no time condition (nothing after it can ever decide). Time alone then
    /// picks the winner, so <see cref="Until"/> can replay the same list at later instants.
    /// </summary>
    /// <param name="into">The list to fill (cleared first), or null for a new one.</param>
    private List<Item> Candidates(in Who who, in FilterRequest request, ulong categories, List<(Item Item, string Why)>? mismatches,
        List<Item>? into = null)
    {
        var result = into ?? new List<Item>();
        result.Clear();
        var user = who.Identity.User;
        for (var i = 0; i < _exceptions.Length; i++)
        {
            var e = _exceptions[i];
            var why = ExceptionMismatch(e, user, who.RoleMask, request.Host, categories);
            if (why is null)
            {
                result.Add(new Item(ItemKind.Exception, i));
            }
            else
            {
                mismatches?.Add((new Item(ItemKind.Exception, i), why));
            }
        }

        for (var i = 0; i < _rules.Length; i++)
        {
            var rule = _rules[i];
            var why = RuleMismatch(rule, who, request, categories);
            if (why is not null)
            {
                mismatches?.Add((new Item(ItemKind.Rule, i), why));
                continue;
            }

            result.Add(new Item(ItemKind.Rule, i));
            if (rule.During is null && rule.Outside is null)
            {
                break;
            }
        }

        return result;
    }

    private string? ExceptionMismatch(CompiledException e, string? user, ulong roleMask, string host, ulong categories)
    {
        var forWho = (e.Users is not null && user is not null && e.Users.Contains(user)) || (e.RoleMask & roleMask) != 0;
        if (!forWho)
        {
            return user is null ? "no signed-in user, and the exception is for named users or roles" : $"not granted to {user}";
        }

        var covers = (e.CategoryMask & categories) != 0 || AnyHost(e.Hosts, host);
        return covers ? null : $"{host} is not in what the exception allows";
    }

    private string? RuleMismatch(CompiledRule rule, in Who who, in FilterRequest request, ulong categories)
    {
        if (rule.Disabled)
        {
            return "disabled (enabled: false)";
        }

        if (rule.RoleMask != 0 && (rule.RoleMask & who.RoleMask) == 0)
        {
            return who.RoleMask == 0 ? "no role known for this client" : $"roles {string.Join(", ", who.Identity.Roles)} are not among the rule's roles";
        }

        if (rule.Users is not null && (who.Identity.User is null || !rule.Users.Contains(who.Identity.User)))
        {
            return "user is not one of the rule's users";
        }

        if (rule.NetworkMask != 0 && (who.NetworkIndex < 0 || (rule.NetworkMask & (1UL << who.NetworkIndex)) == 0))
        {
            return $"network {who.Identity.Network ?? "(none)"} is not among the rule's networks";
        }

        if (rule.CategoryMask != 0 && (rule.CategoryMask & categories) == 0)
        {
            return $"{request.Host} is not in {CategoryNames(rule.CategoryMask)}";
        }

        if (!rule.Hosts.IsDefaultOrEmpty && !AnyHost(rule.Hosts, request.Host))
        {
            return $"{request.Host} does not match the rule's hosts";
        }

        if (rule.NeedsInspection && request.PathAndQuery.Length == 0)
        {
            return "method and path are not visible in a tunnel; enforced on inspected requests";
        }

        if (rule.Methods is not null && !rule.Methods.Contains(request.Method))
        {
            return $"method {request.Method} is not among the rule's methods";
        }

        if (!rule.Paths.IsDefaultOrEmpty)
        {
            var matched = false;
            foreach (var p in rule.Paths)
            {
                if (PathPattern.Matches(p, request.PathAndQuery))
                {
                    matched = true;
                    break;
                }
            }

            if (!matched)
            {
                return "path does not match the rule's paths";
            }
        }

        return null;
    }

    /// <summary>The trace in evaluation order: each exception and rule with why it did or did not decide.</summary>
    private void TraceItems(
        List<Item> candidates, List<(Item Item, string Why)> mismatches, Item decided, Instant at, string? user, ImmutableArray<TraceStep>.Builder trace)
    {
        var why = mismatches.ToDictionary(m => m.Item, m => m.Why);
        var all = Enumerable.Range(0, _exceptions.Length).Select(i => new Item(ItemKind.Exception, i))
            .Concat(Enumerable.Range(0, _rules.Length).Select(i => new Item(ItemKind.Rule, i)));
        foreach (var item in all)
        {
            var name = item.Kind == ItemKind.Exception ? "exception " + _exceptions[item.Index].Name : "rule " + _rules[item.Index].Name;
            if (item == decided)
            {
                trace.Add(new TraceStep(name, true, "every condition holds; this decides"));
                return;
            }

            if (why.TryGetValue(item, out var reason))
            {
                trace.Add(new TraceStep(name, false, reason));
            }
            else if (candidates.Contains(item))
            {
                trace.Add(new TraceStep(name, false, item.Kind == ItemKind.Exception
                    ? "not in force at this time"
                    : $"its schedule ({ScheduleText(_rules[item.Index])}) is not in effect at this time"));
            }
        }

        trace.Add(new TraceStep("default", true, $"no rule applied; the default is {_default.ToString().ToLowerInvariant()}"));
    }

    private static string ScheduleText(CompiledRule rule) =>
        rule.During is not null ? "during " + rule.During.Name : "outside " + rule.Outside!.Name;

    private static bool AnyHost(ImmutableArray<HostPattern> patterns, string host)
    {
        if (patterns.IsDefaultOrEmpty)
        {
            return false;
        }

        foreach (var p in patterns)
        {
            if (p.Matches(host))
            {
                return true;
            }
        }

        return false;
    }

    private string CategoryNames(ulong mask)
    {
        var names = new List<string>();
        for (var m = mask; m != 0; m &= m - 1)
        {
            names.Add(_categories[BitOperations.TrailingZeroCount(m)].Name);
        }

        return string.Join(", ", names);
    }

    private static ImmutableArray<TraceStep> Finish(ImmutableArray<TraceStep>.Builder? trace) =>
        trace is null ? ImmutableArray<TraceStep>.Empty : trace.ToImmutable();
}
