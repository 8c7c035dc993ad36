using System.Net;
using FilterService.Admin;
using FilterService.Admin.Editing;
using FilterService.Admin.History;
using FilterService.Policy;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using PolicyModel.Decisions;

namespace FilterService.Tests.Admin.Editing;

/// <summary>Issue 18, "one truth on disk": every console edit is staged, loaded by the loader, written atomically and made live by the reload path.</summary>
public sealed class PolicyWriterTests
{
    private static readonly DateTimeOffset Monday10 = DateTimeOffset.Parse("2026-11-23T10:00:00Z");

    internal static (PolicyStore Store, PolicyWriter Writer, IChangeHistory History) Start(string policy, IChangeHistory? history = null)
    {
        var store = new PolicyStore(policy, TimeProvider.System, NullLogger<PolicyStore>.Instance);
        Assert.True(store.LoadInitial(out var diagnostics), string.Join("\n", diagnostics));
        history ??= TestHistory.Create();
        return (store, new PolicyWriter(store, new PolicyDirectoryGate(), history, TimeProvider.System, NullLogger<PolicyWriter>.Instance), history);
    }

    private static DecisionAction PupilAt(PolicyStore store, string host) =>
        store.Current.Decide(new FilterRequest(IPAddress.Parse("10.40.1.5"), null, "GET", "http", host, 80, "/", Monday10)).Action;

    private static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    [Fact]
    public async Task Apply_EntryAddedToAPupilBlockedList_IsLiveAndRecorded()
    {
        var policy = Samples.CopyDefault();
        var (store, writer, history) = Start(policy);
        var before = writer.Read("lists/social-extra.txt")!;
        Assert.Equal(DecisionAction.Allow, PupilAt(store, "example-test.org"));
        var version = store.Current.Version;

        var outcome = await writer.ApplyAsync(new PolicyChange("ict1", "pupils reach it in lessons", ChangeSource.Console,
            [new FileChange("lists/social-extra.txt", before, before + "example-test.org\n")]));

        Assert.True(outcome.Applied, string.Join("\n", outcome.Diagnostics));
        Assert.Equal(DecisionAction.Block, PupilAt(store, "example-test.org"));
        Assert.NotEqual(version, store.Current.Version);
        Assert.Equal(store.Current.Version, outcome.Version);
        Assert.Equal(before + "example-test.org\n", File.ReadAllText(Path.Combine(policy, "lists/social-extra.txt")));
        var recorded = Assert.Single(await history.ListAsync(DateTimeOffset.MinValue, DateTimeOffset.MaxValue, 10));
        Assert.Equal("ict1", recorded.Change.Who);
        Assert.Equal("pupils reach it in lessons", recorded.Change.Reason);
        Assert.Equal(store.Current.Version, recorded.PolicyVersion);
        Assert.Empty(Directory.GetFiles(policy, ".*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Apply_OverlappingWindows_ChangesNothingOnDisk_AndReturnsTheLocatedDiagnostic()
    {
        var policy = Samples.CopyDefault();
        var (store, writer, history) = Start(policy);
        var files = Snapshot(policy);
        var version = store.Current.Version;
        var before = writer.Read("policy.yaml")!;
        var after = before.Replace("lunch:         { weekly: { mon-fri: \"12:00-13:00\" } }", "lunch:         { weekly: { mon-fri: \"12:00-13:00, 12:30-14:00\" } }");
        Assert.NotEqual(before, after);

        var outcome = await writer.ApplyAsync(new PolicyChange("ict1", "longer lunch", ChangeSource.Console, [new FileChange("policy.yaml", before, after)]));

        Assert.False(outcome.Applied);
        var line = before.Split('\n').ToList().FindIndex(l => l.Contains("lunch:         {", StringComparison.Ordinal)) + 1;
        Assert.Contains(outcome.Errors, d => d.ToString().StartsWith($"policy.yaml:{line}:", StringComparison.Ordinal) && d.Code == "PM0305");
        Assert.Equal(version, store.Current.Version);
        Assert.Equivalent(files, Snapshot(policy));
        Assert.Empty(await history.ListAsync(DateTimeOffset.MinValue, DateTimeOffset.MaxValue, 10));
    }

    [Fact]
    public async Task Apply_FileChangedSinceRead_IsAConflict_AndNothingIsWritten()
    {
        var policy = Samples.CopyDefault();
        var (_, writer, _) = Start(policy);
        var before = writer.Read("lists/social-extra.txt")!;
        File.AppendAllText(Path.Combine(policy, "lists/social-extra.txt"), "hand.example\n");

        var outcome = await writer.ApplyAsync(new PolicyChange("ict1", "add", ChangeSource.Console,
            [new FileChange("lists/social-extra.txt", before, before + "example-test.org\n")]));

        var d = Assert.Single(outcome.Errors);
        Assert.Equal("lists/social-extra.txt: error FS0132: 'lists/social-extra.txt' changed on disk after this page read it (a hand edit or another admin); nothing was written: reload the page and edit again", d.ToString());
        Assert.Equal(before + "hand.example\n", File.ReadAllText(Path.Combine(policy, "lists/social-extra.txt")));
    }

    [Fact]
    public async Task Apply_StatutoryListFile_IsRefused()
    {
        var policy = Samples.CopyDefault();
        var (_, writer, _) = Start(policy);
        var before = writer.Read("lists/terrorism.sha256");

        var outcome = await writer.ApplyAsync(new PolicyChange("ict1", "tidy", ChangeSource.Console, [new FileChange("lists/terrorism.sha256", before, "")]));

        Assert.Equal("lists/terrorism.sha256: error FS0133: 'lists/terrorism.sha256' is a statutory list; it cannot be changed from the console",
            Assert.Single(outcome.Errors).ToString());
        Assert.Equal(before, File.ReadAllText(Path.Combine(policy, "lists/terrorism.sha256")));
    }

    [Fact]
    public async Task Apply_CategoryNoLongerStatutory_IsRefusedByTheReloadsStatutoryCheck()
    {
        var policy = Samples.CopyDefault();
        var (_, writer, _) = Start(policy);
        var before = writer.Read("policy.yaml")!;
        var after = before.Replace("    statutory: true\n", "");

        var outcome = await writer.ApplyAsync(new PolicyChange("ict1", "x", ChangeSource.Console, [new FileChange("policy.yaml", before, after)]));

        Assert.False(outcome.Applied);
        Assert.Contains(outcome.Errors, d => d.ToString() == "policy.yaml: error FS0102: this edit removes statutory category 'terrorism'; statutory lists cannot be dropped by a reload");
        Assert.Equal(before, File.ReadAllText(Path.Combine(policy, "policy.yaml")));
    }

    [Theory]
    [InlineData("../outside.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("lists/.hidden")]
    [InlineData("lists//x.txt")]
    public async Task Apply_PathOutsideThePolicyDirectory_IsRefused(string path)
    {
        var policy = Samples.CopyDefault();
        var (_, writer, _) = Start(policy);

        var outcome = await writer.ApplyAsync(new PolicyChange("ict1", "x", ChangeSource.Console, [new FileChange(path, null, "x\n")]));

        Assert.Equal("FS0131", Assert.Single(outcome.Errors).Code);
        Assert.False(File.Exists(Path.Combine(policy, "..", "outside.txt")));
    }

    [Fact]
    public async Task Apply_ThroughALinkedFolder_IsRefused()
    {
        var policy = Samples.CopyDefault();
        var elsewhere = TempDir.Create("elsewhere");
        Directory.CreateSymbolicLink(Path.Combine(policy, "shared"), elsewhere);
        var (_, writer, _) = Start(policy);

        var outcome = await writer.ApplyAsync(new PolicyChange("ict1", "x", ChangeSource.Console, [new FileChange("shared/x.txt", null, "x\n")]));

        Assert.Equal("shared/x.txt: error FS0131: 'shared/x.txt' goes through the symbolic link 'shared'; edit it by hand", Assert.Single(outcome.Errors).ToString());
        Assert.Empty(Directory.GetFiles(elsewhere));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Apply_WithoutAReason_IsRefused(string reason)
    {
        var policy = Samples.CopyDefault();
        var (_, writer, _) = Start(policy);
        var before = writer.Read("lists/social-extra.txt")!;

        var outcome = await writer.ApplyAsync(new PolicyChange("ict1", reason, ChangeSource.Console,
            [new FileChange("lists/social-extra.txt", before, before + "example-test.org\n")]));

        Assert.Equal("reason: error FS0130: a reason is required: the change history records why", Assert.Single(outcome.Errors).ToString());
        Assert.Equal(before, File.ReadAllText(Path.Combine(policy, "lists/social-extra.txt")));
    }

    [Fact]
    public async Task Apply_NewListFileAndThePolicyNamingIt_AreOneChange()
    {
        var policy = Samples.CopyDefault();
        var (store, writer, _) = Start(policy);
        var before = writer.Read("policy.yaml")!;
        var after = before.Replace("      - { path: lists/social-extra.txt, format: domains }\n",
            "      - { path: lists/social-extra.txt, format: domains }\n      - { path: lists/school-social.txt, format: domains }\n");

        var outcome = await writer.ApplyAsync(new PolicyChange("ict1", "our own list", ChangeSource.Console,
            [new FileChange("policy.yaml", before, after), new FileChange("lists/school-social.txt", null, "# ours\nexample-test.org\n")]));

        Assert.True(outcome.Applied, string.Join("\n", outcome.Diagnostics));
        Assert.Contains(store.Current.Lists, l => l.Path == "lists/school-social.txt" && l.Entries == 1);
        Assert.Equal(DecisionAction.Block, PupilAt(store, "example-test.org"));
    }
}
