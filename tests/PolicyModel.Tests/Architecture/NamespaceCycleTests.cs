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

    /// <summary>
    /// The cycles between types (so files) inside one folder that are accepted, by key, each with why; any other fails
    /// the build, and an entry whose cycle is gone fails too (delete it), so the list only shrinks.
    /// </summary>
    private static readonly Dictionary<string, string> KnownTypeCycles = new(StringComparer.Ordinal)
    {
        ["PolicyModel.Matching: DomainMatcher, DomainMatcherBuilder"] =
            "one file: the builder makes the immutable matcher, and DomainMatcher.Empty is an empty builder's Build()",
    };

    [Fact]
    public void PolicyModel_Namespaces_HaveNoCycle()
    {
        var edges = Graph.Value.NamespaceEdges();
        Assert.Contains("PolicyModel.Diagnostics", edges["PolicyModel.Documents"]);
        foreach (var line in CycleMessages.TypeCycles(Graph.Value))
        {
            output.WriteLine(line);
        }
        var message = CycleMessages.Describe(Graph.Value, edges);
        Assert.True(message.Length == 0, message);
    }

    [Fact]
    public void PolicyModel_TypeCycles_AreOnlyTheKnownOnes()
    {
        var message = CycleMessages.NewTypeCycles(Graph.Value, KnownTypeCycles);
        Assert.True(message.Length == 0, message);
    }

    [Fact]
    public void KnownTypeCycles_AreAllStillCycles()
    {
        var message = CycleMessages.StaleTypeCycles(Graph.Value, KnownTypeCycles);
        Assert.True(message.Length == 0, message);
    }

    [Fact]
    public void PolicyModel_Diagnostics_IsALeaf()
    {
        Assert.Empty(Graph.Value.NamespaceEdges().GetValueOrDefault("PolicyModel.Diagnostics", []));
    }
}
