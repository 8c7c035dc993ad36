using FilterService.Admin.Editing;
using FilterService.Admin.History;
using FilterService.Tests.Admin.History;

namespace FilterService.Tests.Admin.Editing;

/// <summary>Issue 18: revert entry N through the PolicyWriter, refused naming the file when it changed since N; export.</summary>
public sealed class HistoryReverterTests
{
    [Fact]
    public async Task Revert_HandEdit_PutsBackTheFileMakesItLiveAndRecordsBothWithDiffs()
    {
        await using var rig = await HandEditDetectorTests.StartAsync();
        var before = rig.Read("policy.yaml");
        var version = rig.Store.Current.Version;
        rig.Write("policy.yaml", "# by hand\n" + before);
        Assert.True(rig.Store.Reload("file change").Succeeded);
        var edit = (await rig.WaitForEntriesAsync(2))[^1];

        var outcome = await new HistoryReverter(rig.History, rig.Writer).RevertAsync(edit.Id, "ict1", "not agreed");

        Assert.True(outcome.Applied, outcome.Refusal);
        Assert.Equal(before, rig.Read("policy.yaml"));
        Assert.Equal(version, rig.Store.Current.Version);
        var revert = (await rig.History.GetAsync(edit.Id + 1))!;
        Assert.Equal((ChangeSource.Revert, edit.Id, "ict1", "not agreed"), (revert.Change.Source, revert.Change.Reverts, revert.Change.Who, revert.Change.Reason));
        Assert.StartsWith("--- a/policy.yaml\n+++ b/policy.yaml\n@@ -1,4 +1,3 @@\n-# by hand\n", revert.Change.Files[0].Diff);
        Assert.Null(await rig.Detector.DetectAsync("test"));
    }

    [Fact]
    public async Task Revert_FileChangedSince_IsRefusedNamingTheFile_AndChangesNothing()
    {
        await using var rig = await HandEditDetectorTests.StartAsync();
        var before = rig.Read("policy.yaml");
        rig.Write("policy.yaml", "# one\n" + before);
        Assert.True(rig.Store.Reload("file change").Succeeded);
        var first = (await rig.WaitForEntriesAsync(2))[^1];
        rig.Write("policy.yaml", "# two\n# one\n" + before);
        Assert.True(rig.Store.Reload("file change").Succeeded);
        await rig.WaitForEntriesAsync(3);

        var outcome = await new HistoryReverter(rig.History, rig.Writer).RevertAsync(first.Id, "ict1", "undo one");

        Assert.False(outcome.Applied);
        Assert.Equal($"'policy.yaml' changed since entry {first.Id}; reverting it would undo the later change too: revert the later entries first, or edit it", outcome.Refusal);
        Assert.Equal("# two\n# one\n" + before, rig.Read("policy.yaml"));
        Assert.Equal(3, (await rig.History.PageAsync(null, 10)).Count);
    }

    [Fact]
    public async Task Revert_BaselineOrSummarisedFile_IsRefused()
    {
        await using var rig = await HandEditDetectorTests.StartAsync();
        var reverter = new HistoryReverter(rig.History, rig.Writer);
        rig.Write("users.csv", rig.Read("users.csv") + "\n");
        Assert.True(rig.Store.Reload("SIGHUP").Succeeded);
        await rig.WaitForEntriesAsync(2);

        Assert.StartsWith("entry 1 is the baseline", (await reverter.RevertAsync(1, "ict1", "x")).Refusal);
        Assert.StartsWith("'users.csv' is kept in the history by its hash only", (await reverter.RevertAsync(2, "ict1", "x")).Refusal);
        Assert.StartsWith("a reason is required", (await reverter.RevertAsync(2, "ict1", " ")).Refusal);
    }

    [Fact]
    public async Task Export_CsvAndJson_CarryEveryEntryWithDiffAndHash()
    {
        var (db, history) = await HistoryVerifierTests.ThreeEntriesAsync();
        var entries = await history.ListAsync(ChangeHistoryStoreTests.T0, ChangeHistoryStoreTests.T0.AddMinutes(2), 10);

        var csv = HistoryExport.Csv(entries);
        var json = System.Text.Json.JsonDocument.Parse(HistoryExport.Json(entries)).RootElement;

        Assert.StartsWith("id,at,who,source,reason,reverts,policy_version,files,diff,previous_hash,hash\r\n2,2026-12-05T09:01:00.0000000Z,b,console,two,,v2,policy.yaml,\"'--- a/policy.yaml\n+++ b/policy.yaml\n@@ -1 +1 @@\n-y\n+z\n\",", csv);
        Assert.Equal(2, json.GetArrayLength());
        Assert.Equal("+z\n", json[0].GetProperty("files")[0].GetProperty("diff").GetString()![^3..]);
        Assert.Equal((await history.GetAsync(2))!.Hash, json[0].GetProperty("hash").GetString());
    }

    [Fact]
    public void Export_Csv_NeutralisesFormulaCells()
    {
        // One admin's reason must not run as a formula in an auditor's spreadsheet (the incidents export does the same).
        var change = new PolicyChange("ict1", "=HYPERLINK(\"http://evil.example\",\"x\")", ChangeSource.Console, [new FileChange("policy.yaml", "a\n", "b\n")]);
        var entry = new ChangeEntry(7, ChangeHistoryStoreTests.T0, change, "v7", "p", "h");

        var csv = HistoryExport.Csv([entry]);

        Assert.Contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",", csv);
        Assert.DoesNotContain(",=HYPERLINK", csv);
    }
}
