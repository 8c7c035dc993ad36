using System.Collections.Immutable;

namespace Architecture;

/// <summary>The guard tests' messages: each cycle as a path, with the type uses behind each step.</summary>
internal static class CycleMessages
{
    public static string Describe(DependencyGraph graph, ImmutableDictionary<string, ImmutableHashSet<string>> edges)
    {
        var text = new System.Text.StringBuilder();
        foreach (var cycle in DependencyGraph.Cycles(edges))
        {
            var loop = DependencyGraph.Loop(edges, cycle);
            text.AppendLine("namespace cycle: " + string.Join(" -> ", loop));
            for (int i = 0; i + 1 < loop.Length; i++)
            {
                text.AppendLine($"  {loop[i]} -> {loop[i + 1]}: " + string.Join("; ", graph.Reasons(loop[i], loop[i + 1]).Take(8)));
            }
            if (cycle.Length > loop.Length - 1)
            {
                text.AppendLine("  (the same cycle also reaches: " + string.Join(", ", cycle.Except(loop)) + ")");
            }
        }
        return text.ToString();
    }

    /// <summary>Cycles among the types of one namespace, each with the files those types are compiled from.</summary>
    public static ImmutableArray<string> TypeCycles(DependencyGraph graph) => [.. TypeCycleEntries(graph).Select(c => c.Line)];

    /// <summary>
    /// Cycles among the types of one namespace: each with its key (the namespace, then its types' names in order,
    /// e.g. <c>FilterService.Proxy: SocketSplice, Tunnel</c>; a type joining a cycle makes a new key) and its description.
    /// </summary>
    public static ImmutableArray<(string Key, string Line)> TypeCycleEntries(DependencyGraph graph)
    {
        var entries = ImmutableArray.CreateBuilder<(string, string)>();
        foreach (var folder in graph.TypeEdges.GroupBy(kv => DependencyGraph.NamespaceOf(kv.Key)).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var local = folder.ToDictionary(kv => kv.Key,
                kv => kv.Value.Where(u => DependencyGraph.NamespaceOf(u) == folder.Key).ToImmutableHashSet(StringComparer.Ordinal));
            foreach (var cycle in DependencyGraph.Cycles(local))
            {
                var files = cycle.SelectMany(t => graph.Files.TryGetValue(t, out var f) ? f : []).Select(Path.GetFileName).Distinct().Order(StringComparer.Ordinal);
                var key = folder.Key + ": " + string.Join(", ", cycle.Select(t => t[(folder.Key.Length + 1)..]).Order(StringComparer.Ordinal));
                entries.Add((key, $"type cycle in {folder.Key}: {string.Join(" -> ", DependencyGraph.Loop(local, cycle))} (files: {string.Join(", ", files)})"));
            }
        }
        return entries.ToImmutable();
    }

    /// <summary>
    /// The type cycles not in <paramref name="known"/> (key -> why it is accepted), described, or empty: a new cycle
    /// between files fails the build until it is broken or added, with its reason, to the list.
    /// </summary>
    public static string NewTypeCycles(DependencyGraph graph, IReadOnlyDictionary<string, string> known)
    {
        var unknown = TypeCycleEntries(graph).Where(c => !known.ContainsKey(c.Key)).ToArray();
        return unknown.Length == 0 ? ""
            : "new type cycle(s) inside a folder: break it, or add its key to the test's KnownTypeCycles with a one-line reason\n"
              + string.Join("\n", unknown.Select(c => $"  {c.Key}\n    {c.Line}"));
    }

    /// <summary>The keys of <paramref name="known"/> that no longer name a cycle (the cycle was broken: delete the entry), or empty.</summary>
    public static string StaleTypeCycles(DependencyGraph graph, IReadOnlyDictionary<string, string> known)
    {
        var found = TypeCycleEntries(graph).Select(c => c.Key).ToHashSet(StringComparer.Ordinal);
        var stale = known.Keys.Where(k => !found.Contains(k)).Order(StringComparer.Ordinal).ToArray();
        return stale.Length == 0 ? "" : "KnownTypeCycles names cycles that are gone (delete these entries):\n  " + string.Join("\n  ", stale);
    }
}
