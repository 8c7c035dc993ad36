using Microsoft.Extensions.DependencyInjection;
using FilterService.Admin;
using FilterService.Admin.Editing;
using FilterService.Admin.History;
using FilterService.Policy;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace FilterService.Tests.Admin.History;

/// <summary>Issue 18: hand edits found at reload, the baseline at first start, and console edits never taken for hand edits.</summary>
public sealed class HandEditDetectorTests
{
    internal sealed record Rig(string Policy, PolicyStore Store, ConsoleDatabase Db, SqliteChangeHistory History, HandEditDetector Detector, PolicyWriter Writer) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Detector.StopAsync(CancellationToken.None);
            Detector.Dispose();
        }

        public async Task<IReadOnlyList<ChangeEntry>> WaitForEntriesAsync(int count)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                var entries = await History.PageAsync(null, 100);
                if (entries.Count >= count || DateTime.UtcNow > deadline)
                {
                    return entries.OrderBy(e => e.Id).ToList();
                }
                await Task.Delay(50);
            }
        }

        public void Write(string path, string text) => File.WriteAllText(Path.Combine(Policy, path), text);

        public string Read(string path) => File.ReadAllText(Path.Combine(Policy, path));
    }

    internal static async Task<Rig> StartAsync()
    {
        var policy = Samples.CopyDefault();
        var store = new PolicyStore(policy, TimeProvider.System, NullLogger<PolicyStore>.Instance);
        Assert.True(store.LoadInitial(out var diagnostics), string.Join("\n", diagnostics));
        var (db, history) = ChangeHistoryStoreTests.NewStore();
        var gate = new PolicyDirectoryGate();
        var services = new ServiceCollection().AddSingleton<IChangeHistory>(history).BuildServiceProvider();
        var detector = new HandEditDetector(store, gate, services, TimeProvider.System, NullLogger<HandEditDetector>.Instance);
        await detector.StartAsync(CancellationToken.None);
        var writer = new PolicyWriter(store, gate, history, TimeProvider.System, NullLogger<PolicyWriter>.Instance);
        return new Rig(policy, store, db, history, detector, writer);
    }

    [Fact]
    public async Task Start_EmptyHistory_RecordsTheBaseline_UsersAndStatutoryListsByHashOnly()
    {
        await using var rig = await StartAsync();

        var baseline = Assert.Single(await rig.History.PageAsync(null, 10));

        Assert.Equal((ChangeSource.Baseline, HandEditDetector.BaselineWho), (baseline.Change.Source, baseline.Change.Who));
        Assert.Equal(rig.Store.Current.Version, baseline.PolicyVersion);
        var files = baseline.Change.Files.ToDictionary(f => f.Path);
        Assert.Equal("policy.yaml", baseline.Change.Files[0].Path);
        Assert.Equal(rig.Read("policy.yaml"), files["policy.yaml"].After);
        Assert.Equal(rig.Read("lists/social-extra.txt"), files["lists/social-extra.txt"].After);
        Assert.Equal(FileTracking.Content, files["lists/never-inspect.txt"].Tracking);
        foreach (var hidden in new[] { "users.csv", "lists/terrorism.sha256", "lists/ut1-doh/domains" })
        {
            Assert.Equal(FileTracking.Summary, files[hidden].Tracking);
            Assert.NotNull(FileSummary.Parse(files[hidden].After));
        }
        var firstUser = rig.Read("users.csv").Split('\n')[1].Split(',')[0];
        Assert.DoesNotContain(firstUser, files["users.csv"].After + files["users.csv"].Diff);
        Assert.StartsWith("list lists/terrorism.sha256 added: ", files["lists/terrorism.sha256"].Diff);
    }

    [Fact]
    public async Task Start_AgainWithNothingChanged_RecordsNothing()
    {
        await using var rig = await StartAsync();

        Assert.Null(await rig.Detector.DetectAsync("start"));
        Assert.Single(await rig.History.PageAsync(null, 10));
    }

    [Fact]
    public async Task HandEditOfPolicyYaml_AtReload_IsRecordedAsFileEditWithItsDiff()
    {
        await using var rig = await StartAsync();
        var before = rig.Read("policy.yaml");
        rig.Write("policy.yaml", "# edited by hand on the server\n" + before);

        Assert.True(rig.Store.Reload("file change").Succeeded);
        var entries = await rig.WaitForEntriesAsync(2);

        var edit = entries[^1];
        Assert.Equal((2L, ChangeSource.FileEdit, "file edit"), (edit.Id, edit.Change.Source, edit.Change.Who));
        Assert.Equal("changed outside the console; found at reload (file change)", edit.Change.Reason);
        Assert.Equal(rig.Store.Current.Version, edit.PolicyVersion);
        var file = Assert.Single(edit.Change.Files);
        Assert.Equal(("policy.yaml", before), (file.Path, file.Before));
        Assert.StartsWith("--- a/policy.yaml\n+++ b/policy.yaml\n@@ -1,3 +1,4 @@\n+# edited by hand on the server\n", file.Diff);
    }

    [Fact]
    public async Task UsersFileEdited_IsRecordedByHashAndLineCount_NeverTheNames()
    {
        await using var rig = await StartAsync();
        var users = rig.Read("users.csv");
        var added = users.Split('\n')[1].Replace(users.Split('\n')[1].Split(',')[0], "zz.newpupil");
        rig.Write("users.csv", users.TrimEnd('\n') + "\n" + added + "\n");

        Assert.True(rig.Store.Reload("SIGHUP").Succeeded);
        var file = Assert.Single((await rig.WaitForEntriesAsync(2))[^1].Change.Files);

        Assert.Equal(FileTracking.Summary, file.Tracking);
        Assert.Matches(@"^users\.csv changed: \d+ -> \d+ lines; [\d,]+ -> [\d,]+ bytes; sha256 [0-9a-f]{16} -> [0-9a-f]{16}\n$", file.Diff);
        Assert.DoesNotContain("zz.newpupil", file.Before + file.After + file.Diff);
    }

    [Fact]
    public async Task RejectedReload_RecordsNothing_UntilTheEditLoads()
    {
        await using var rig = await StartAsync();
        var good = rig.Read("policy.yaml");
        rig.Write("policy.yaml", good + "\nnot_a_key: [\n");

        var runs = rig.Detector.Runs;
        Assert.False(rig.Store.Reload("file change").Succeeded);
        await Task.Delay(500);
        Assert.Equal(runs, rig.Detector.Runs);
        rig.Write("policy.yaml", good + "# fixed\n");
        Assert.True(rig.Store.Reload("file change").Succeeded);

        var entries = await rig.WaitForEntriesAsync(2);
        Assert.Equal(2, entries.Count);
        Assert.EndsWith("+# fixed\n", entries[1].Change.Files[0].Diff);
    }

    [Fact]
    public async Task ConsoleEdit_ThroughThePolicyWriter_IsNeverAlsoAFileEdit()
    {
        await using var rig = await StartAsync();
        var list = rig.Read("lists/social-extra.txt");

        var outcome = await rig.Writer.ApplyAsync(new PolicyChange("ict1", "block it for pupils", ChangeSource.Console,
            [new FileChange("lists/social-extra.txt", list, list + "example-test.org\n")]));
        Assert.True(outcome.Applied, string.Join("\n", outcome.Diagnostics));

        Assert.Null(await rig.Detector.DetectAsync("test"));
        var entries = await rig.History.PageAsync(null, 10);
        Assert.Equal([ChangeSource.Console, ChangeSource.Baseline], entries.Select(e => e.Change.Source));
    }

    [Fact]
    public async Task HandEditNotYetReloaded_ThenAConsoleEditFromIt_BothRecordedInOrder()
    {
        await using var rig = await StartAsync();
        var list = rig.Read("lists/social-extra.txt");
        var handEdited = list + "hand-added.example\n";
        rig.Write("lists/social-extra.txt", handEdited); // no reload: Policy:Watch off, say

        var outcome = await rig.Writer.ApplyAsync(new PolicyChange("ict1", "and one more", ChangeSource.Console,
            [new FileChange("lists/social-extra.txt", handEdited, handEdited + "example-test.org\n")]));
        Assert.True(outcome.Applied, string.Join("\n", outcome.Diagnostics));

        var entries = (await rig.History.PageAsync(null, 10)).OrderBy(e => e.Id).ToList();
        Assert.Equal([ChangeSource.Baseline, ChangeSource.FileEdit, ChangeSource.Console], entries.Select(e => e.Change.Source));
        Assert.EndsWith("+hand-added.example\n", entries[1].Change.Files[0].Diff);
        Assert.EndsWith("+example-test.org\n", entries[2].Change.Files[0].Diff);
        Assert.Equal(HistoryVerdict.Intact, HistoryVerifier.Verify(rig.Db).Verdict);
    }
}
