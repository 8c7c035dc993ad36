using System.Diagnostics;
using FilterService.Runtime;
using Microsoft.Data.Sqlite;

namespace FilterService.Admin.Decisions;

/// <summary>
/// Brings the decision index up to date with the audit files in one pass (<see cref="RunPass"/>): new lines of the day
/// being written, rolled and gzipped days, days written while the service was down, each from the position persisted
/// with its rows (so a restart resumes, never re-adds); and the rows of days whose files retention deleted are
/// deleted, so the console never shows what the audit log no longer keeps.
/// </summary>
/// <remarks>
/// Memory is bounded by one read buffer (<see cref="AuditDayReader.BufferSize"/>), one batch of rows and the writer's
/// bounded term cache, whatever the size or growth of a file. Rows go in batches of <see cref="BatchSize"/>, each in a
/// transaction with the day's new position. <see cref="Pace"/> sleeps after each batch in proportion to the CPU time it
/// took on this thread, so the service's indexer uses at most a share of one core while it catches up; <c>decisions reindex</c> runs
/// unpaced. A day that has both its plain file and its <c>.gz</c> is being compressed: it is read at the next pass.
/// </remarks>
internal sealed class DecisionIndexer(DecisionIndexStore store, string auditDirectory)
{
    /// <summary>
    /// Rows per transaction. Every commit writes each page it dirtied, and the search's indexes on host, site, user and
    /// client take rows in key order, not time order, so a batch dirties about one leaf page per row of each until the
    /// batch outgrows the index's leaves: the larger the batch, the fewer page writes a row costs. At 20,000 a row cost
    /// 5-13% less CPU than at 5,000 (bench/results/index-cpu.md, three paired runs), and 1,000 rows a pass cost 1.8 times
    /// what 5,000 did. A day that grows by fewer rows between passes (every school short of 10,000 requests a second)
    /// commits them all at once, as before.
    /// </summary>
    public const int BatchSize = 20_000;

    /// <summary>Rows between checks of the stop token inside a batch: a stop never waits for the rest of a batch.</summary>
    private const int CancelCheckRows = 1_024;

    private readonly byte[] _buffer = new byte[AuditDayReader.BufferSize];
    private readonly IndexedDecision _record = new();

    /// <summary>Sleep after a batch, as a multiple of the batch's own time (0: unpaced).</summary>
    public double Pace { get; init; }

    /// <summary>The clock that waits out a batch's pause (the service's TimeProvider), and times it where CPU time cannot be read.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>This thread's CPU time so far, null where it cannot be read (<see cref="ThreadCpuTime"/>; a test's own).</summary>
    public Func<TimeSpan?> CpuTime { get; init; } = ThreadCpuTime.Now;

    /// <summary>Rows of a deleted day deleted per transaction.</summary>
    public int DeleteBatch { get; init; } = 20_000;

    /// <summary>The audit directory it follows.</summary>
    public string AuditDirectory => auditDirectory;

    /// <summary>
    /// One pass over the audit directory. Throws on a database or file failure (the caller counts it and retries later;
    /// what was committed stays).
    /// </summary>
    public IndexPass RunPass(CancellationToken cancel, SqliteConnection? connection = null)
    {
        var pass = new IndexPass();
        bool own = connection is null;
        connection ??= store.Open();
        try
        {
            var indexed = store.Files(connection);
            var days = AuditDay.List(auditDirectory);
            var present = days.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in indexed.Keys.Where(n => !present.Contains(n)).Order(StringComparer.Ordinal))
            {
                pass.RowsDeleted += store.DeleteFile(connection, gone, DeleteBatch, cancel);
                pass.DaysDeleted++;
            }
            using var writer = new DecisionBatchWriter(connection);
            foreach (var day in days)
            {
                cancel.ThrowIfCancellationRequested();
                if (day.PlainPath is not null && day.GzPath is not null)
                {
                    pass.Pending++;
                    continue;
                }
                indexed.TryGetValue(day.Name, out var state);
                state ??= new IndexedFile(day.Name, 0, -1, 0, 0);
                state = IndexDay(connection, writer, day, state, pass, cancel);
            }
            pass.LagBytes = Lag(connection);
            pass.TotalRecords = DecisionIndexStore.TotalRecords(connection);
            // The pool keeps this connection, and with it a page cache of up to Open's 16 MB, until the next pass two
            // seconds on: hand the cache back, so the index holds none of it between passes (the next pass reads its
            // pages again from the system's file cache). No malloc_trim here: the MemoryTrimmer's round returns what
            // glibc keeps, and a trim after every pass under load cost the request path 2-7% per CPU-second with RSS
            // unchanged (bench/results/load-issue16-cache-release.md).
            if (own)
            {
                DecisionIndexStore.ReleaseCache(connection);
            }
            return pass;
        }
        finally
        {
            if (own)
            {
                connection.Dispose();
            }
        }
    }

    private IndexedFile IndexDay(SqliteConnection connection, DecisionBatchWriter writer, AuditDay day, IndexedFile state, IndexPass pass, CancellationToken cancel)
    {
        long length;
        try
        {
            length = new FileInfo(day.PlainPath ?? day.GzPath!).Length;
        }
        catch (FileNotFoundException)
        {
            return state; // deleted or compressed since the listing: the next pass sees it
        }
        if (day.PlainPath is not null)
        {
            if (length < state.Position)
            {
                state = Restart(connection, state, pass, cancel); // replaced by a shorter file: read it again
            }
            if (length == state.Position)
            {
                return state;
            }
        }
        else if (state.GzLength == length)
        {
            return state;
        }
        AuditDayReader reader;
        try
        {
            reader = AuditDayReader.Open(day, state.Position, _buffer);
        }
        catch (InvalidDataException)
        {
            // A .gz shorter than what was indexed from the day: not the same day any more. Read it again.
            state = Restart(connection, state, pass, cancel);
            reader = AuditDayReader.Open(day, 0, _buffer);
        }
        catch (FileNotFoundException)
        {
            return state;
        }
        using (reader)
        {
            bool more = true;
            while (more)
            {
                cancel.ThrowIfCancellationRequested();
                var started = Time.GetTimestamp();
                var cpuStarted = CpuTime();
                int skippedBefore = reader.Skipped, unreadable = 0;
                writer.Begin();
                try
                {
                    while (writer.Count + unreadable < BatchSize)
                    {
                        if (writer.Count % CancelCheckRows == CancelCheckRows - 1)
                        {
                            cancel.ThrowIfCancellationRequested(); // the batch is rolled back and read again after the restart
                        }
                        if (!reader.TryReadLine(out var line))
                        {
                            more = false;
                            break;
                        }
                        switch (AuditLineParser.Parse(line, _record))
                        {
                            case AuditLine.Decision:
                                writer.Add(_record);
                                break;
                            case AuditLine.Unreadable:
                                unreadable++;
                                break;
                        }
                    }
                    unreadable += reader.Skipped - skippedBefore;
                    int added = writer.Count;
                    long gzLength = !more && day.GzPath is not null ? length : -1;
                    state = state with { Position = reader.Position, GzLength = gzLength, Records = state.Records + added, Malformed = state.Malformed + unreadable };
                    writer.Commit(state);
                    pass.Records += added;
                    pass.Malformed += unreadable;
                }
                catch
                {
                    writer.Rollback();
                    throw;
                }
                if (Pace > 0)
                {
                    Task.Delay(PauseAfter(cpuStarted, started), Time, cancel).GetAwaiter().GetResult();
                }
            }
        }
        return state;
    }

    /// <summary>
    /// The pause after a batch: <see cref="Pace"/> times the CPU the batch took on this thread, so the indexer uses at
    /// most 1 / (1 + Pace) of a core however busy the machine. Not the batch's wall time: on the indexer's nice-19
    /// thread under load that counts the time spent waiting for a core, so the pause grew with the machine's load rather
    /// than with the indexer's own work. The wall time where this thread's
    /// CPU time cannot be read. Waited on the injected clock (a fake one drives it in a test) and cut short by the stop
    /// token, so a shutdown does not wait out a pause.
    /// </summary>
    private TimeSpan PauseAfter(TimeSpan? cpuStarted, long started)
    {
        var spent = cpuStarted is { } from && CpuTime() is { } now ? now - from : Time.GetElapsedTime(started);
        return TimeSpan.FromTicks((long)(Math.Max(0, spent.Ticks) * Pace));
    }

    private IndexedFile Restart(SqliteConnection connection, IndexedFile state, IndexPass pass, CancellationToken cancel)
    {
        pass.RowsDeleted += store.DeleteFile(connection, state.Name, DeleteBatch, cancel);
        return new IndexedFile(state.Name, 0, -1, 0, 0);
    }

    /// <summary>Bytes in the audit directory not yet indexed: plain days past their position, gzipped days not finished.</summary>
    private long Lag(SqliteConnection connection)
    {
        var indexed = store.Files(connection);
        long lag = 0;
        foreach (var day in AuditDay.List(auditDirectory))
        {
            try
            {
                indexed.TryGetValue(day.Name, out var state);
                if (day.PlainPath is not null)
                {
                    lag += Math.Max(0, new FileInfo(day.PlainPath).Length - (state?.Position ?? 0));
                }
                else if (new FileInfo(day.GzPath!).Length is var gz && state?.GzLength != gz)
                {
                    lag += gz;
                }
            }
            catch (FileNotFoundException)
            {
            }
        }
        return lag;
    }
}

/// <summary>What one pass did.</summary>
internal sealed class IndexPass
{
    public long Records { get; set; }
    public long Malformed { get; set; }
    public long RowsDeleted { get; set; }
    public int DaysDeleted { get; set; }

    /// <summary>Days skipped because they are being compressed (plain file and <c>.gz</c> both present).</summary>
    public int Pending { get; set; }

    /// <summary>Bytes not yet indexed when the pass ended.</summary>
    public long LagBytes { get; set; }

    /// <summary>Records in the index when the pass ended.</summary>
    public long TotalRecords { get; set; }
}
