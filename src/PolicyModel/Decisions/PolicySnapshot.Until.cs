using System.Collections.Immutable;
using System.Net;
using System.Numerics;
using NodaTime;
using PolicyModel.Matching;

namespace PolicyModel.Decisions;

/// <summary>Time: which candidate is in force at an instant, and when the answer next changes (<see cref="Decision.Until"/>).</summary>
public sealed partial class PolicySnapshot
{
    /// <summary>How far ahead <see cref="Decision.Until"/> looks before saying "never".</summary>
    private static readonly Duration UntilHorizon = Duration.FromDays(400);
    private const int MaxUntilSteps = 256;

    private DecisionAction ActionOf(Item item) => item.Kind switch
    {
        ItemKind.Exception => DecisionAction.Allow,
        ItemKind.Rule => _rules[item.Index].Action,
        _ => _default,
    };

    private Item FirstActive(List<Item> candidates, Instant at, string? user)
    {
        foreach (var item in candidates)
        {
            if (IsActive(item, at, user))
            {
                return item;
            }
        }

        return new Item(ItemKind.Default, -1);
    }

    private bool IsActive(Item item, Instant at, string? user)
    {
        if (item.Kind == ItemKind.Exception)
        {
            var e = _exceptions[item.Index];
            return (e.From is null || at >= e.From) && at < e.Until && (e.During is null || e.During.IsActive(at, user));
        }

        var rule = _rules[item.Index];
        return (rule.During is null || rule.During.IsActive(at, user)) && (rule.Outside is null || !rule.Outside.IsActive(at, user));
    }

    private Instant? NextChange(Item item, Instant after, string? user)
    {
        Instant? next = null;
        if (item.Kind == ItemKind.Exception)
        {
            var e = _exceptions[item.Index];
            if (e.From is { } from && from > after)
            {
                next = from;
            }

            if (e.Until > after)
            {
                next = Min(next, e.Until);
            }

            return e.During is null ? next : Min(next, e.During.NextChange(after, user));
        }

        var rule = _rules[item.Index];
        if (rule.During is not null)
        {
            next = rule.During.NextChange(after, user);
        }

        return rule.Outside is null ? next : Min(next, rule.Outside.NextChange(after, user));
    }

    /// <summary>The first instant after <paramref name="at"/> when the action for this request differs; null if none within the horizon.</summary>
    private Instant? Until(List<Item> candidates, Instant at, string? user, DecisionAction action)
    {
        var horizon = at + UntilHorizon;
        var t = at;
        for (var step = 0; step < MaxUntilSteps; step++)
        {
            Instant? next = null;
            foreach (var item in candidates)
            {
                next = Min(next, NextChange(item, t, user));
            }

            if (next is not { } n || n > horizon)
            {
                return null;
            }

            if (ActionOf(FirstActive(candidates, n, user)) != action)
            {
                return n;
            }

            t = n;
        }

        return null;
    }

    private static Instant? Min(Instant? a, Instant? b) =>
        a is null ? b : b is null ? a : (a.Value < b.Value ? a : b);

    private enum ItemKind : byte
    {
        Default,
        Exception,
        Rule,
    }

    private readonly record struct Item(ItemKind Kind, int Index);
}
