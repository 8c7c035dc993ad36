namespace FilterService.Admin.History;

internal enum HistoryVerdict
{
    /// <summary>Every entry's hash matches its contents and links to the entry before (an empty history too).</summary>
    Intact,
    /// <summary><see cref="HistoryVerification.FirstBad"/> says where the chain first fails.</summary>
    Broken,
}

/// <summary>Where the chain first fails: the entry's id, its time as stored, and what is wrong.</summary>
internal sealed record BrokenEntry(long Id, string At, string Problem);

/// <summary>
/// The outcome of walking the chain: the verdict, the entries that verified before the first bad one (all of them when
/// intact) and the newest hash (the one to write down and compare later: a chain alone cannot show entries cut off its end).
/// </summary>
internal sealed record HistoryVerification(HistoryVerdict Verdict, long Verified, string HeadHash, BrokenEntry? FirstBad);

/// <summary>
/// Walks the change history oldest first and checks, for each entry, that ids follow on (none removed), that it carries
/// the hash of the entry before (the first: <see cref="EntryHash.Genesis"/>), that its stored hash is the hash of its
/// stored fields (<see cref="EntryHash.Compute"/>), and that each file's diff is the one its before and after give.
/// Stops at the first failure: every entry after a changed one fails too, and the first is the one to look at.
/// </summary>
internal static class HistoryVerifier
{
    public static HistoryVerification Verify(ConsoleDatabase database)
    {
        var previousHash = EntryHash.Genesis;
        long previousId = 0;
        foreach (var entry in SqliteChangeHistory.ReadAll(database))
        {
            if (Problem(entry, previousId, previousHash) is { } problem)
            {
                return new HistoryVerification(HistoryVerdict.Broken, previousId, previousHash, new BrokenEntry(entry.Id, entry.At, problem));
            }
            (previousId, previousHash) = (entry.Id, entry.Hash);
        }
        return new HistoryVerification(HistoryVerdict.Intact, previousId, previousHash, null);
    }

    private static string? Problem(StoredEntry entry, long previousId, string previousHash)
    {
        if (entry.Id != previousId + 1)
        {
            return previousId == 0
                ? $"the history starts at entry {entry.Id}, not 1: earlier entries were removed"
                : entry.Id == previousId + 2
                    ? $"follows entry {previousId}: entry {previousId + 1} was removed"
                    : $"follows entry {previousId}: entries {previousId + 1}-{entry.Id - 1} were removed";
        }
        if (!string.Equals(entry.PreviousHash, previousHash, StringComparison.Ordinal))
        {
            return $"its link does not verify: it carries previous hash {entry.PreviousHash}, but entry {previousId}'s hash is {previousHash}";
        }
        var computed = EntryHash.Compute(entry);
        if (!string.Equals(entry.Hash, computed, StringComparison.Ordinal))
        {
            return $"its hash does not verify: stored {entry.Hash}, its contents hash to {computed}; a field was changed after it was recorded"
                + (DiffMismatch(entry) is { } path ? $" (the diff of '{path}' is not the diff of its before and after)" : "");
        }
        if (DiffMismatch(entry) is { } file)
        {
            // The hash matches, so whoever changed the diff recomputed it; the link of the next entry would not hold
            // unless they rewrote every hash after it too. Either way the entry is not what was recorded.
            return $"the diff of '{file}' is not the diff of its before and after";
        }
        if (EntryHash.ParseSource(entry.Source) is null || entry.Files.Any(f => EntryHash.ParseTracking(f.Tracking) is null))
        {
            return $"its source '{entry.Source}' or a file's tracking is not one the history writes";
        }
        return null;
    }

    private static string? DiffMismatch(StoredEntry entry)
    {
        foreach (var f in entry.Files)
        {
            var tracking = EntryHash.ParseTracking(f.Tracking) ?? FileTracking.Summary;
            if (!string.Equals(f.Diff, FileDiff.Render(new FileChange(f.Path, f.Before, f.After, tracking)), StringComparison.Ordinal))
            {
                return f.Path;
            }
        }
        return null;
    }
}
