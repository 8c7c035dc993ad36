using FilterService.Admin;
using FilterService.Admin.History;
using static FilterService.Tests.Admin.History.ChangeHistoryStoreTests;

namespace FilterService.Tests.Admin.History;

/// <summary>Issue 18: the hash chain shows an entry altered in the database, and names the first one.</summary>
public sealed class HistoryVerifierTests
{
    internal static async Task<(ConsoleDatabase Db, SqliteChangeHistory History)> ThreeEntriesAsync()
    {
        var (db, history) = NewStore();
        await history.RecordAsync(Edit("a", "one", "x\n", "y\n"), T0, "v1");
        await history.RecordAsync(Edit("b", "two", "y\n", "z\n"), T0.AddMinutes(1), "v2");
        await history.RecordAsync(Edit("c", "three", "z\n", "w\n"), T0.AddMinutes(2), "v3");
        return (db, history);
    }

    /// <summary>What someone with the database file can do: drop the append-only triggers and change a row.</summary>
    internal static void Tamper(ConsoleDatabase db, string sql)
    {
        using var connection = db.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "DROP TRIGGER change_history_no_update; DROP TRIGGER change_history_no_delete; "
            + "DROP TRIGGER change_history_files_no_update; DROP TRIGGER change_history_files_no_delete; " + sql;
        command.ExecuteNonQuery();
    }

    [Fact]
    public async Task Verify_Untouched_IsIntactWithTheCountAndNewestHash()
    {
        var (db, history) = await ThreeEntriesAsync();

        var result = HistoryVerifier.Verify(db);

        Assert.Equal(HistoryVerdict.Intact, result.Verdict);
        Assert.Equal(3, result.Verified);
        Assert.Equal((await history.GetAsync(3))!.Hash, result.HeadHash);
    }

    [Fact]
    public void Verify_Empty_IsIntact()
    {
        var (db, _) = NewStore();

        Assert.Equal(new HistoryVerification(HistoryVerdict.Intact, 0, EntryHash.Genesis, null), HistoryVerifier.Verify(db));
    }

    [Fact]
    public async Task Verify_ReasonChanged_NamesThatEntry()
    {
        var (db, _) = await ThreeEntriesAsync();
        Tamper(db, "UPDATE change_history SET reason = 'routine tidy-up' WHERE id = 2");

        var result = HistoryVerifier.Verify(db);

        Assert.Equal(HistoryVerdict.Broken, result.Verdict);
        Assert.Equal(1, result.Verified);
        Assert.Equal(2, result.FirstBad!.Id);
        Assert.StartsWith("its hash does not verify", result.FirstBad.Problem);
    }

    [Fact]
    public async Task Verify_DiffChanged_NamesThatEntryAndTheFile()
    {
        var (db, _) = await ThreeEntriesAsync();
        Tamper(db, "UPDATE change_history_files SET diff = '' WHERE entry_id = 3");

        var bad = HistoryVerifier.Verify(db).FirstBad!;

        Assert.Equal(3, bad.Id);
        Assert.EndsWith("(the diff of 'policy.yaml' is not the diff of its before and after)", bad.Problem);
    }

    [Fact]
    public async Task Verify_HashRecomputedAfterAChange_BreaksTheNextLink()
    {
        var (db, _) = await ThreeEntriesAsync();
        var forged = await Forge(db, 2, "routine tidy-up");
        Tamper(db, $"UPDATE change_history SET reason = 'routine tidy-up', hash = '{forged}' WHERE id = 2");

        var bad = HistoryVerifier.Verify(db).FirstBad!;

        Assert.Equal(3, bad.Id);
        Assert.StartsWith("its link does not verify", bad.Problem);
    }

    [Fact]
    public async Task Verify_EntryDeleted_SaysWhichAreMissing()
    {
        var (db, _) = await ThreeEntriesAsync();
        Tamper(db, "DELETE FROM change_history_files WHERE entry_id = 2; DELETE FROM change_history WHERE id = 2");

        var bad = HistoryVerifier.Verify(db).FirstBad!;

        Assert.Equal(3, bad.Id);
        Assert.Equal("follows entry 1: entry 2 was removed", bad.Problem);
    }

    private static Task<string> Forge(ConsoleDatabase db, long id, string reason)
    {
        var entry = SqliteChangeHistory.ReadAll(db).Single(e => e.Id == id) with { Reason = reason };
        return Task.FromResult(EntryHash.Compute(entry));
    }
}
