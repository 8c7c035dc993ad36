namespace PolicyModel.Decisions;

/// <summary>Which tunnels are inspected (TLS terminated): the <c>inspection</c> and <c>tenant_restrictions</c> sections.</summary>
public sealed partial class PolicySnapshot
{
    /// <summary>The compiled <c>inspection</c> section (with the built-in never-inspect list when the policy names none).</summary>
    public InspectionPolicy Inspection { get; }

    /// <summary>The compiled <c>tenant_restrictions</c> section (<see cref="TenantRestrictions.None"/> when absent).</summary>
    public TenantRestrictions TenantRestrictions { get; }

    /// <summary>
    /// The one answer to "inspect this tunnel?" for a CONNECT to the canonical <paramref name="host"/> that the engine
    /// decided as <paramref name="decision"/>, asked by the proxy (<c>ConnectFlow.Judge</c>) and so by <c>explain</c>.
    /// Whether a CA is configured is the caller's to add: this says what the policy wants. In order:
    /// <list type="number">
    /// <item>A statutory block is inspected, to show the block page, even on a never-inspect host.</item>
    /// <item><c>never_inspect</c> (hosts, lists, categories): never inspected; a block is the 403 to the CONNECT.</item>
    /// <item>Any other block: inspected, to show the block page.</item>
    /// <item>Allowed: a rule with methods or paths for the host, then tenant restrictions for this identity, then the hosts
    /// and categories <c>inspection</c> names; otherwise spliced.</item>
    /// </list>
    /// </summary>
    public TunnelInspection InspectTunnel(string host, Decision decision)
    {
        if (decision.IsBlocked && decision.Rule.StartsWith("statutory:", StringComparison.Ordinal))
        {
            return new(true, InspectionReason.BlockPage, decision.Rule);
        }
        ulong? categories = null;
        if (NeverInspect(host, ref categories) is { } never)
        {
            return new(false, InspectionReason.NeverInspect, never);
        }
        if (decision.IsBlocked)
        {
            return new(true, InspectionReason.BlockPage, decision.Rule);
        }
        if (InspectionRuleFor(host) is { } rule)
        {
            return new(true, InspectionReason.Rule, rule);
        }
        if (TenantRestrictions.AppliesTo(decision.Identity.Roles) && TenantRestrictions.Covers(host))
        {
            return new(true, InspectionReason.TenantRestrictions, null);
        }
        if (Inspection.NamedHost(host) is { } named)
        {
            return new(true, InspectionReason.Named, named);
        }
        if (Inspection.CategoryMask != 0 && ((categories ??= _matcher.Match(host, ReadOnlySpan<char>.Empty)) & Inspection.CategoryMask) is var hit and not 0)
        {
            return new(true, InspectionReason.Named, InspectionCategoryDetails[System.Numerics.BitOperations.TrailingZeroCount(hit)]);
        }
        return new(false, InspectionReason.NotNeeded, null);
    }

    /// <summary>Why <paramref name="host"/> is never inspected (a host pattern, a list entry, a category), or null.</summary>
    public string? NeverInspect(string host)
    {
        ulong? categories = null;
        return NeverInspect(host, ref categories);
    }

    private string? NeverInspect(string host, ref ulong? categories)
    {
        if (Inspection.NeverByHost(host) is { } byHost)
        {
            return byHost;
        }
        if (Inspection.NeverCategoryMask != 0 && ((categories ??= _matcher.Match(host, ReadOnlySpan<char>.Empty)) & Inspection.NeverCategoryMask) is var hit and not 0)
        {
            return NeverCategoryDetails[System.Numerics.BitOperations.TrailingZeroCount(hit)];
        }
        return null;
    }

    // Formatted once per snapshot (a bit per category index), so a lookup allocates nothing.
    private string[] InspectionCategoryDetails => field ??= _categories.Select(c => $"inspection category '{c.Name}'").ToArray();
    private string[] NeverCategoryDetails => field ??= _categories.Select(c => $"never_inspect category '{c.Name}'").ToArray();

    /// <summary>Rules that depend on the method or the path (enforced over HTTPS only with TLS inspection), with their lines.</summary>
    public IEnumerable<(string Name, int Line)> InspectionRules =>
        _rules.Where(r => r.NeedsInspection && !r.Disabled).Select(r => (r.Name, r.Line));

    /// <summary>
    /// URL-prefix entries of statutory lists below a site's root (<c>host/path</c>, not <c>host/</c>): over HTTPS
    /// only TLS inspection sees the path. Allocates; for start-up warnings.
    /// </summary>
    public IEnumerable<(string Entry, string List)> StatutoryPathEntries =>
        _matcher.UrlPrefixEntries()
            .Where(e => (_statutoryMask & (1UL << e.Category)) != 0 && e.Entry.IndexOf('/') != e.Entry.Length - 1)
            .Select(e => (e.Entry, e.List))
            .Distinct()
            .OrderBy(e => e.List, StringComparer.Ordinal).ThenBy(e => e.Entry, StringComparer.Ordinal);

    /// <summary>
    /// Whether some rule for this host depends on the method or the path, so a tunnel to it must be
    /// intercepted (TLS terminated) for the rule to be enforced.
    /// </summary>
    public bool NeedsInspection(string host) => InspectionRuleFor(host) is not null;

    /// <summary>The first rule for <paramref name="host"/> that depends on the method or the path, or null (see <see cref="NeedsInspection"/>).</summary>
    internal string? InspectionRuleFor(string host)
    {
        ulong? categories = null;
        foreach (var rule in _rules)
        {
            if (!rule.NeedsInspection || rule.Disabled || (!rule.Hosts.IsDefaultOrEmpty && !AnyHost(rule.Hosts, host)))
            {
                continue;
            }

            if (rule.CategoryMask != 0)
            {
                categories ??= _matcher.Match(host, ReadOnlySpan<char>.Empty);
                if ((categories.Value & rule.CategoryMask) == 0)
                {
                    continue;
                }
            }

            return rule.Name;
        }

        return null;
    }
}
