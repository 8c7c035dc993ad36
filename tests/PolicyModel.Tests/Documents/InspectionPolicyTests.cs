using System.Net;
using PolicyModel.Decisions;
using PolicyModel.Documents;
using PolicyModel.Tests.Samples;

namespace PolicyModel.Tests.Documents;

/// <summary>
/// Issue 17: the <c>inspection</c> section (named hosts and categories, <c>never_inspect</c> with the built-in list), its
/// precedence in <see cref="PolicySnapshot.InspectTunnel"/>, and its located diagnostics.
/// </summary>
public sealed class InspectionPolicyTests
{
    private static readonly DateTimeOffset Monday10 = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private const string Rules = """
        rules:
          - name: no-wikipedia-edits
            roles: [staff]
            hosts: [wikipedia.org]
            methods: [POST]
            action: block
          - name: pupils-social
            roles: [pupil]
            category: social
            action: block
        default: allow

        """;

    private static int LineOf(string yaml, string text) => yaml[..yaml.IndexOf(text, StringComparison.Ordinal)].Count(c => c == '\n') + 1;

    private static TunnelInspection Tunnel(PolicySnapshot policy, string host, string ip = "10.40.0.5", string? user = null)
    {
        var decision = policy.Decide(new FilterRequest(IPAddress.Parse(ip), user, "CONNECT", "https", host, 443, "", Monday10));
        return policy.InspectTunnel(host, decision);
    }

    [Fact]
    public void Issue17_NoInspectionSection_TheBuiltInNeverInspectListApplies()
    {
        using var p = new TestPolicy(TestPolicy.Head + Rules);
        var policy = p.Snapshot();
        Assert.Equal([InspectionPolicy.BuiltInListName], policy.Inspection.NeverLists);
        Assert.Equal("never_inspect list (built-in never-inspect.txt), entry 'nhs.uk'", policy.NeverInspect("www.nhs.uk"));
        Assert.Equal("never_inspect list (built-in never-inspect.txt), entry 'gov.uk'", policy.NeverInspect("www.gov.uk"));
        Assert.Null(policy.NeverInspect("notgov.uk"));
        Assert.Null(policy.NeverInspect("en.wikipedia.org"));
    }

    [Fact]
    public void Issue17_NeverInspectListsEmpty_TurnsTheBuiltInListOff()
    {
        using var p = new TestPolicy(TestPolicy.Head + Rules + "inspection:\n  never_inspect:\n    lists: []\n");
        var policy = p.Snapshot();
        Assert.Empty(policy.Inspection.NeverLists);
        Assert.Null(policy.NeverInspect("www.nhs.uk"));
        Assert.Equal(InspectionReason.NotNeeded, Tunnel(policy, "www.nhs.uk").Reason);
    }

    [Fact]
    public void Issue17_NeverInspect_HostsAndTheSchoolsOwnList_ReplaceTheBuiltInList()
    {
        using var p = new TestPolicy(TestPolicy.Head + Rules + "inspection:\n  never_inspect:\n    hosts: [mybank.test, '*.pinned.test']\n    lists: [lists/mine.txt]\n");
        p.Write("lists/mine.txt", "# the school's own\nhealth.example # a clinic\n\n");
        var policy = p.Snapshot();
        Assert.Equal("never_inspect host 'mybank.test'", policy.NeverInspect("online.mybank.test"));
        Assert.Equal("never_inspect host '*.pinned.test'", policy.NeverInspect("app.pinned.test"));
        Assert.Null(policy.NeverInspect("pinned.test"));
        Assert.Equal("never_inspect list lists/mine.txt, entry 'health.example'", policy.NeverInspect("www.health.example"));
        Assert.Null(policy.NeverInspect("www.nhs.uk")); // a named list replaces the built-in one
    }

    [Fact]
    public void Issue17_NeverInspect_WinsOverAPathRule_WhichStillInspectsItsOtherHosts()
    {
        using var p = new TestPolicy(TestPolicy.Head + Rules + "inspection:\n  never_inspect:\n    hosts: [en.wikipedia.org]\n");
        var policy = p.Snapshot();
        Assert.True(policy.NeedsInspection("en.wikipedia.org")); // the rule alone would inspect it...
        Assert.Equal(new TunnelInspection(false, InspectionReason.NeverInspect, "never_inspect host 'en.wikipedia.org'"), Tunnel(policy, "en.wikipedia.org"));
        Assert.Equal(new TunnelInspection(true, InspectionReason.Rule, "no-wikipedia-edits"), Tunnel(policy, "de.wikipedia.org"));
    }

    [Fact]
    public void Issue17_NeverInspect_StatutoryBlockIsStillInspectedForTheBlockPage()
    {
        using var p = new TestPolicy(TestPolicy.Head + Rules + "inspection:\n  never_inspect:\n    hosts: [blocked-terror.test, facebook.com]\n");
        var policy = p.Snapshot();
        Assert.Equal(new TunnelInspection(true, InspectionReason.BlockPage, "statutory:terrorism"), Tunnel(policy, "blocked-terror.test"));
        // A pupil's social block is not statutory: never_inspect wins, and the proxy answers 403 without decrypting.
        Assert.Equal(new TunnelInspection(false, InspectionReason.NeverInspect, "never_inspect host 'facebook.com'"), Tunnel(policy, "www.facebook.com"));
    }

    [Fact]
    public void Issue17_BlockedHostNotNeverInspected_IsInspectedForTheBlockPage()
    {
        using var p = new TestPolicy(TestPolicy.Head + Rules);
        Assert.Equal(new TunnelInspection(true, InspectionReason.BlockPage, "pupils-social"), Tunnel(p.Snapshot(), "www.facebook.com"));
    }

    [Fact]
    public void Issue17_NamedHostsAndCategories_AreInspected_NeverInspectCategoryIsNot()
    {
        var yaml = TestPolicy.Head + Rules + "inspection:\n  hosts: [named.test]\n  categories: [social]\n  never_inspect:\n    categories: [terrorism]\n    lists: []\n";
        using var p = new TestPolicy(yaml);
        var policy = p.Snapshot();
        Assert.Equal(new TunnelInspection(true, InspectionReason.Named, "inspection host 'named.test'"), Tunnel(policy, "www.named.test"));
        // staff are not blocked from social: the tunnel is inspected because inspection names the category.
        Assert.Equal(new TunnelInspection(true, InspectionReason.Named, "inspection category 'social'"), Tunnel(policy, "www.instagram.com", "10.30.5.10"));
        Assert.Equal(new TunnelInspection(false, InspectionReason.NotNeeded, null), Tunnel(policy, "other.test"));
    }

    [Fact]
    public void Issue17_InspectionUnknownCategory_IsALocatedErrorWithASuggestion()
    {
        var yaml = TestPolicy.Head + Rules + "inspection:\n  categories: [socail]\n  never_inspect:\n    categories: [banking]\n";
        using var p = new TestPolicy(yaml);
        var errors = p.Load().Errors.Select(e => e.ToString()).ToList();
        Assert.Equal(
        [
            $"policy.yaml:{LineOf(yaml, "  categories: [socail]")}:16: error PM0603: unknown category 'socail' in inspection; did you mean 'social'?",
            $"policy.yaml:{LineOf(yaml, "    categories: [banking]")}:18: error PM0603: unknown category 'banking' in never_inspect",
        ], errors);
    }

    [Fact]
    public void Issue17_InspectionBadHostPattern_IsALocatedError()
    {
        var yaml = TestPolicy.Head + Rules + "inspection:\n  hosts: ['ex*ample.org']\n  never_inspect:\n    hosts: ['bad host']\n";
        using var p = new TestPolicy(yaml);
        var errors = p.Load().Errors.Select(e => e.ToString()).ToList();
        Assert.Equal(
        [
            $"policy.yaml:{LineOf(yaml, "  hosts: ['ex*ample.org']")}:11: error PM0604: bad host pattern 'ex*ample.org' in inspection hosts: '*' may only be the whole first label ('*.example.org': its subdomains)",
            $"policy.yaml:{LineOf(yaml, "    hosts: ['bad host']")}:13: error PM0604: bad host pattern 'bad host' in never_inspect hosts: not a host name",
        ], errors);
    }

    [Fact]
    public void Issue17_NeverInspectList_MissingFileAndBadLine_AreLocatedErrors()
    {
        var yaml = TestPolicy.Head + Rules + "inspection:\n  never_inspect:\n    lists: [lists/mine.txt, lists/missing.txt]\n";
        using var p = new TestPolicy(yaml);
        p.Write("lists/mine.txt", "good.example\n# comment\nnot a domain\n");
        var errors = p.Load().Errors.Select(e => e.ToString()).ToList();
        Assert.Equal(
        [
            "lists/mine.txt:3:1: error PM0605: never_inspect list line 'not a domain' is not a domain name",
            $"policy.yaml:{LineOf(yaml, "lists/missing.txt]")}:29: error PM0608: cannot read never_inspect list 'lists/missing.txt': file not found",
        ], errors);
    }

    [Fact]
    public void Issue17_NeverInspectHostUnderAPathRule_IsALocatedWarning()
    {
        var yaml = TestPolicy.Head + Rules + "inspection:\n  hosts: [www.nhs.uk]\n";
        using var p = new TestPolicy(yaml.Replace("hosts: [wikipedia.org]", "hosts: [wikipedia.org, nhs.uk]"));
        var result = p.Load();
        Assert.True(result.Succeeded);
        var text = yaml.Replace("hosts: [wikipedia.org]", "hosts: [wikipedia.org, nhs.uk]");
        var warnings = result.Diagnostics.Where(d => d.Code == "PM0606").Select(d => d.ToString()).ToList();
        Assert.Equal(
        [
            $"policy.yaml:{LineOf(text, "    hosts: [wikipedia.org, nhs.uk]")}:28: warning PM0606: rule 'no-wikipedia-edits' host 'nhs.uk' is never inspected (never_inspect list (built-in never-inspect.txt), entry 'nhs.uk'): its methods and paths cannot apply over HTTPS, where it is decided on the host alone",
            $"policy.yaml:{LineOf(text, "  hosts: [www.nhs.uk]")}:11: warning PM0606: inspection host 'www.nhs.uk' is never inspected (never_inspect list (built-in never-inspect.txt), entry 'nhs.uk'): never_inspect wins",
        ], warnings);
        Assert.Contains(result.Snapshot!.Warnings, w => w.Code == "PM0606");
    }

    /// <summary>
    /// The never-inspect lookup (a suffix walk over a frozen set, hosts patterns first) against a naive reference: a
    /// host is covered when it equals an entry or ends with "." + an entry. Seeded, bounded.
    /// </summary>
    [Fact]
    public void Issue17_NeverInspectLookup_AgreesWithANaiveSuffixReference()
    {
        string[] labels = ["a", "b", "nhs", "uk", "gov", "co", "x-y", "xn--bcher-kva"];
        var random = new Random(17);
        string Host(int max) => string.Join('.', Enumerable.Range(0, random.Next(1, max + 1)).Select(_ => labels[random.Next(labels.Length)]));
        var entries = Enumerable.Range(0, 12).Select(_ => Host(3)).Distinct().ToList();
        using var p = new TestPolicy(TestPolicy.Head + Rules + "inspection:\n  never_inspect:\n    lists: [lists/mine.txt]\n");
        p.Write("lists/mine.txt", string.Join('\n', entries) + "\n");
        var policy = p.Snapshot();
        for (var i = 0; i < 5000; i++)
        {
            var host = Host(5);
            bool expected = entries.Any(e => host == e || host.EndsWith("." + e, StringComparison.Ordinal));
            Assert.True(expected == (policy.NeverInspect(host) is not null), $"{host} against [{string.Join(", ", entries)}]");
        }
    }

    [Fact]
    public void Issue17_BuiltInList_IsDeployListsNeverInspect_AndEverySampleShipsTheSameFile()
    {
        var shipped = File.ReadAllText(Path.Combine(SampleFiles.RepoRoot, "deploy", "lists", "never-inspect.txt"));
        Assert.Equal(shipped, InspectionCompiler.BuiltInList());
        foreach (var sample in SampleFiles.Names)
        {
            Assert.Equal(shipped, File.ReadAllText(Path.Combine(SampleFiles.Dir(sample), "lists", "never-inspect.txt")));
            var policy = SampleFiles.Load(sample).Snapshot!;
            Assert.Equal(["lists/never-inspect.txt"], policy.Inspection.NeverLists);
            Assert.NotNull(policy.NeverInspect("www.nhs.uk"));
        }
    }
}
