using System.Collections.Immutable;
using Architecture;
using Xunit.Abstractions;

namespace FilterService.Tests.Architecture;

/// <summary>
/// Issue 16's guard: no folder (namespace) of FilterService depends on itself through another. The graph is read
/// from the compiled assembly's metadata and IL (tests/Architecture/DependencyGraph.cs), so a use inside a method body
/// counts as much as a field's type. docs/architecture.md gives the order the folders sit in.
/// </summary>
public sealed class NamespaceCycleTests(ITestOutputHelper output)
{
    private static readonly Lazy<DependencyGraph> Graph =
        new(() => DependencyGraph.Read(typeof(global::FilterService.Hosting.ProxyHost).Assembly.Location, "FilterService"));

    [Fact]
    public void FilterService_Namespaces_HaveNoCycle()
    {
        var edges = Graph.Value.NamespaceEdges();
        Assert.True(edges.Count > 10, "the reader found almost no namespaces: " + string.Join(", ", edges.Keys));
        // Types (so files) that use each other inside one folder are reported, not asserted: issue 16 names
        // ConnectMiddleware <-> PlainHttpStage, which the proxy's rebuild removes.
        foreach (var line in CycleMessages.TypeCycles(Graph.Value))
        {
            output.WriteLine(line);
        }
        var message = CycleMessages.Describe(Graph.Value, edges);
        Assert.True(message.Length == 0, message);
    }

    [Fact]
    public void Reader_SeesUsesInsideMethodBodies()
    {
        // PolicyStore names MemoryTrimmer only in a statement (a static call after a reload): no field, no signature.
        Assert.Contains("FilterService.Runtime.MemoryTrimmer", Graph.Value.TypeEdges["FilterService.Policy.PolicyStore"]);
        // A lambda's body lives in a compiler-made closure class: charged to the type that wrote it.
        Assert.Contains("FilterService.Proxy.InspectionAuthority", Graph.Value.TypeEdges["FilterService.Hosting.ProxyHost"]);
    }

    [Fact]
    public void Cycles_OfAKnownGraph_AreNamedWithTheirPath()
    {
        var edges = new Dictionary<string, ImmutableHashSet<string>>
        {
            ["A"] = ["B"],
            ["B"] = ["C"],
            ["C"] = ["A", "D"],
            ["D"] = [],
        };
        var cycles = DependencyGraph.Cycles(edges);
        var cycle = Assert.Single(cycles);
        Assert.Equal(new[] { "A", "B", "C" }, cycle.ToArray());
        Assert.Equal(new[] { "A", "B", "C", "A" }, DependencyGraph.Loop(edges, cycle).ToArray());
        Assert.Empty(DependencyGraph.Cycles(new Dictionary<string, ImmutableHashSet<string>> { ["A"] = ["B"], ["B"] = [] }));
    }
}
