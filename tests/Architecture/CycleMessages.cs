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
    public static ImmutableArray<string> TypeCycles(DependencyGraph graph)
    {
        var lines = ImmutableArray.CreateBuilder<string>();
        foreach (var folder in graph.TypeEdges.GroupBy(kv => DependencyGraph.NamespaceOf(kv.Key)).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var local = folder.ToDictionary(kv => kv.Key,
                kv => kv.Value.Where(u => DependencyGraph.NamespaceOf(u) == folder.Key).ToImmutableHashSet(StringComparer.Ordinal));
            foreach (var cycle in DependencyGraph.Cycles(local))
            {
                var files = cycle.SelectMany(t => graph.Files.TryGetValue(t, out var f) ? f : []).Select(Path.GetFileName).Distinct().Order(StringComparer.Ordinal);
                lines.Add($"type cycle in {folder.Key}: {string.Join(" -> ", DependencyGraph.Loop(local, cycle))} (files: {string.Join(", ", files)})");
            }
        }
        return lines.ToImmutable();
    }
}
