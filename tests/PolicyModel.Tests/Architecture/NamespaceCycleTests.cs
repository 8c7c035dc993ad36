using Architecture;
using Xunit.Abstractions;

namespace PolicyModel.Tests.Architecture;

/// <summary>
/// Issue 16's guard for the policy wing: Documents, Schedules and Decisions once reached each other through
/// Diagnostic, Suggestions and UserDirectory; the leaf Diagnostics/ ended it and this keeps it ended. The graph is read
/// from the compiled assembly's metadata and IL (tests/Architecture/DependencyGraph.cs).
/// </summary>
public sealed class NamespaceCycleTests(ITestOutputHelper output)
{
    private static readonly Lazy<DependencyGraph> Graph =
        new(() => DependencyGraph.Read(typeof(PolicyModel.Matching.DomainMatcher).Assembly.Location, "PolicyModel"));

    [Fact]
    public void PolicyModel_Namespaces_HaveNoCycle()
    {
        var edges = Graph.Value.NamespaceEdges();
        Assert.Contains("PolicyModel.Diagnostics", edges["PolicyModel.Documents"]);
        foreach (var line in CycleMessages.TypeCycles(Graph.Value))
        {
            output.WriteLine(line); // reported, not asserted
        }
        var message = CycleMessages.Describe(Graph.Value, edges);
        Assert.True(message.Length == 0, message);
    }

    [Fact]
    public void PolicyModel_Diagnostics_IsALeaf()
    {
        Assert.Empty(Graph.Value.NamespaceEdges().GetValueOrDefault("PolicyModel.Diagnostics", []));
    }
}
