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

    /// <summary>
    /// The cycles between types (so files) inside one folder that are accepted, by key (the folder's namespace, then the
    /// types in order), each with why. Any other fails <see cref="FilterService_TypeCycles_AreOnlyTheKnownOnes"/>; an entry
    /// whose cycle is gone fails <see cref="KnownTypeCycles_AreAllStillCycles"/>, so the list only shrinks.
    /// </summary>
    private static readonly Dictionary<string, string> KnownTypeCycles = new(StringComparer.Ordinal)
    {
        ["FilterService.Admin.Editing: CategoryLists, ListEditor"] =
            "one file: ListEditor returns the CategoryLists record, whose SchoolPath asks ListEditor for the school list's path",
        ["FilterService.Audit: AuditLog, SyslogExporter, SyslogFormatter"] =
            "AuditLog owns the syslog copy, which formats a record with AuditLog's own JSON line formatter",
        ["FilterService.Notifications: SmtpOAuth2Settings, SmtpSettings"] =
            "SmtpSettings holds its OAuth2 part, whose validator reads the SMTP settings it belongs to",
        ["FilterService.OperationalLog: JournalPriorityFormatter, LogFormats"] =
            "one file: LogFormats makes the journal formatter, which asks LogFormats for a level's priority",
        ["FilterService.Proxy: PacOptions, ProxyAutoConfig"] =
            "one file: the options' validation uses ProxyAutoConfig's host:port check, the PAC file takes the options",
        ["FilterService.Proxy: SocketSplice, Tunnel"] =
            "the two splices share halves: Tunnel hands a connection with a socket to SocketSplice, which uses Tunnel's client-to-upstream copy and Stop",
    };

    [Fact]
    public void FilterService_Namespaces_HaveNoCycle()
    {
        var edges = Graph.Value.NamespaceEdges();
        Assert.True(edges.Count > 10, "the reader found almost no namespaces: " + string.Join(", ", edges.Keys));
        foreach (var line in CycleMessages.TypeCycles(Graph.Value))
        {
            output.WriteLine(line);
        }
        var message = CycleMessages.Describe(Graph.Value, edges);
        Assert.True(message.Length == 0, message);
    }

    [Fact]
    public void FilterService_TypeCycles_AreOnlyTheKnownOnes()
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
