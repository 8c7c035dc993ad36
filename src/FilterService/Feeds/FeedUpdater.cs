using FilterService.Policy;
using PolicyModel.Decisions;

namespace FilterService.Feeds;

/// <summary>
/// Keeps every feed of the live policy current: each on its own <c>refresh</c> timer (on the injected
/// <see cref="TimeProvider"/>), one update at a time. An update that passes every check is installed beside the live
/// list and loaded through <see cref="PolicyStore.Reload"/>, the normal reload path; if that reload is rejected the
/// file is rolled back, so a bad download never replaces a good policy, on disk or in memory. A statutory list that
/// shrank below <c>Policy:StatutoryShrinkFraction</c> of its live count (or below <c>Policy:StatutoryMinEntries</c>) is
/// refused before it is installed, unless <c>lists confirm</c> named those exact bytes.
/// </summary>
internal sealed partial class FeedUpdater : IHostedService, IDisposable
{
    private readonly PolicyStore _store;
    private readonly FeedFetcher _fetcher;
    private readonly FeedStatusBoard _board;
    private readonly FeedOptions _options;
    private readonly StatutoryGuard _guard;
    private readonly TimeProvider _time;
    private readonly ILogger<FeedUpdater> _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, (FeedSpec Feed, ITimer Timer)> _timers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private bool _stopped;

    public FeedUpdater(PolicyStore store, FeedFetcher fetcher, FeedStatusBoard board, FeedOptions options, StatutoryGuard guard, TimeProvider time, ILogger<FeedUpdater> logger)
    {
        _store = store;
        _fetcher = fetcher;
        _board = board;
        _options = options;
        _guard = guard;
        _time = time;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _board.Track(_store.Current.Feeds);
        if (_options.Enabled)
        {
            _store.Reloaded += OnReloaded;
            Schedule(_store.Current.Feeds);
        }
        return Task.CompletedTask;
    }

    private void OnReloaded(PolicyLoadReport report)
    {
        if (report.Succeeded)
        {
            _board.Track(_store.Current.Feeds);
            Schedule(_store.Current.Feeds);
        }
    }

    /// <summary>A timer per feed: due at its last success plus its refresh (at once if never, or overdue).</summary>
    private void Schedule(IEnumerable<FeedSpec> feeds)
    {
        lock (_timers)
        {
            if (_stopped)
            {
                return;
            }
            var wanted = feeds.ToDictionary(f => f.ListPath, StringComparer.Ordinal);
            foreach (var gone in _timers.Keys.Where(k => !wanted.ContainsKey(k)).ToList())
            {
                _timers[gone].Timer.Dispose();
                _timers.Remove(gone);
            }
            var now = _time.GetUtcNow();
            foreach (var feed in wanted.Values)
            {
                if (_timers.TryGetValue(feed.ListPath, out var known))
                {
                    if (known.Feed == feed)
                    {
                        continue;
                    }
                    known.Timer.Dispose();
                }
                var last = _board.Get(feed.ListPath)?.LastSuccess;
                var due = last is { } at && at + feed.Refresh > now ? at + feed.Refresh - now : TimeSpan.Zero;
                var list = feed.ListPath;
                var timer = _time.CreateTimer(_ => _ = RunScheduledAsync(list), null, due, Timeout.InfiniteTimeSpan);
                _timers[feed.ListPath] = (feed, timer);
            }
        }
    }

    private async Task RunScheduledAsync(string list)
    {
        FeedSpec feed;
        lock (_timers)
        {
            if (_stopped || !_timers.TryGetValue(list, out var entry))
            {
                return;
            }
            feed = entry.Feed;
        }
        try
        {
            await UpdateAsync(feed, _stopping.Token);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            // A bug must not stop the schedule: the feed is tried again at its next refresh.
            LogUpdateThrew(_logger, list, ex);
            _board.Failed(feed, FeedFailure.Unreachable, $"{list}: the update failed unexpectedly ({ex.GetType().Name}: {ex.Message})");
        }
        lock (_timers)
        {
            if (!_stopped && _timers.TryGetValue(list, out var entry))
            {
                entry.Timer.Change(entry.Feed.Refresh, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Fetches, checks, installs and loads one feed now. The outcome is on the board, the metrics and in the log.</summary>
    public async Task<FeedCheck> UpdateAsync(FeedSpec feed, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _board.Attempted(feed, _time.GetUtcNow());
            var directory = _store.Directory;
            var live = Path.GetFullPath(Path.Combine(directory, feed.ListPath));
            var check = await _fetcher.FetchAsync(feed, directory, Exists(live) ? _board.Validators(feed.ListPath) : null, cancellationToken);
            if (check.NotModified)
            {
                _board.NotModified(feed, _time.GetUtcNow());
                LogNotModified(_logger, feed.ListPath);
                return check;
            }
            if (!check.Ok)
            {
                return Refused(feed, live, check, check.Failure!.Value, check.Message!);
            }
            if (ShrinkRefusal(feed, check) is { } shrink)
            {
                return Refused(feed, live, check, FeedFailure.Shrunk, shrink);
            }
            FeedInstaller.Install(live, check.Staged!);
            var report = _store.Reload("feed " + feed.ListPath);
            if (!report.Succeeded)
            {
                FeedInstaller.RollBack(live);
                return Refused(feed, live, check, FeedFailure.ReloadRejected,
                    $"{feed.ListPath}: the policy did not load with the new list, which was rolled back: {report.FirstError}");
            }
            _board.Updated(feed, _time.GetUtcNow(), check.Parsed!.Entries.Count, check.Version, check.Validators);
            LogUpdated(_logger, feed.ListPath, check.Parsed.Entries.Count, check.Version);
            return check;
        }
        finally
        {
            _gate.Release();
        }
    }

    private FeedCheck Refused(FeedSpec feed, string live, FeedCheck check, FeedFailure failure, string message)
    {
        if (check.Staged is { } staged && Exists(staged))
        {
            FeedInstaller.Refuse(live, staged);
        }
        _board.Failed(feed, failure, message);
        LogRefused(_logger, feed.ListPath, failure.Label(), message);
        return check with { Failure = failure, Message = message };
    }

    /// <summary>The shrink guard of <see cref="StatutoryCounts"/>, applied before install against the live count.</summary>
    private string? ShrinkRefusal(FeedSpec feed, FeedCheck check) =>
        StatutoryShrink(feed, check, _store.Current.Lists.FirstOrDefault(l => l.Path == feed.ListPath)?.Entries, _guard, _store.Directory);

    internal static string? StatutoryShrink(FeedSpec feed, FeedCheck check, int? lastGood, StatutoryGuard guard, string directory)
    {
        int entries = check.Parsed!.Entries.Count;
        bool shrank = lastGood is int before && entries < before * guard.ShrinkFraction;
        if (!feed.Statutory || (!shrank && !(guard.MinEntries > 0 && entries < guard.MinEntries)))
        {
            return null;
        }
        if (ListConfirmations.Read(directory).Any(c => c.List == feed.ListPath && string.Equals(c.Sha256, check.Digest, StringComparison.OrdinalIgnoreCase)))
        {
            return null; // confirmed: the reload logs the accepted shrink
        }
        return $"{feed.ListPath}: error FS0104: statutory list '{feed.ListPath}' (category '{feed.Category}') would have {entries} entries"
            + (shrank ? $", down from {lastGood} (below {guard.ShrinkFraction:0.##} of it)" : $" (below Policy:StatutoryMinEntries {guard.MinEntries})")
            + $"; refused and kept as {feed.ListPath}{FeedInstaller.RefusedSuffix}. If the change is intended, confirm it: "
            + $"FilterService lists confirm --policy {directory} --list {feed.ListPath} --reason \"...\"";
    }

    private static bool Exists(string path) => File.Exists(path) || Directory.Exists(path);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_timers)
        {
            _stopped = true;
            foreach (var (_, timer) in _timers.Values)
            {
                timer.Dispose();
            }
            _timers.Clear();
        }
        _store.Reloaded -= OnReloaded;
        await _stopping.CancelAsync();
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _gate.Dispose();
    }

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Feed {List} updated: {Entries} entries, version {Version}")]
    private static partial void LogUpdated(ILogger logger, string list, int entries, string? version);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Debug, Message = "Feed {List} not modified")]
    private static partial void LogNotModified(ILogger logger, string list);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "Feed {List} refused ({Reason}); the last good list stays live: {Message}")]
    private static partial void LogRefused(ILogger logger, string list, string reason, string message);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "Feed {List} update threw; it is tried again at its next refresh")]
    private static partial void LogUpdateThrew(ILogger logger, string list, Exception ex);
}
