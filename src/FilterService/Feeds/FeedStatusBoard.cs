using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using FilterService.Policy;
using PolicyModel.Decisions;

namespace FilterService.Feeds;

/// <summary>One feed's freshness, as /health and the metrics show it. Immutable; replaced whole on each attempt.</summary>
internal sealed record FeedState(
    string List,
    string Category,
    bool Statutory,
    string Source,
    DateTimeOffset? LastAttempt,
    DateTimeOffset? LastSuccess,
    int? Entries,
    string? Version,
    string? ETag,
    string? LastModified,
    string? LastError,
    string? LastFailure,
    long NotModified,
    long Updates);

/// <summary>
/// The state of every feed: kept in <c>feeds.json</c> in <c>Feeds:CacheDirectory</c> (so a restart sends the same
/// conditional request and remembers the last success), published as instruments on the <c>FilterService.Feeds</c>
/// meter (<c>filterservice_feed_*</c>; tags category, list, statutory; failures also by reason) and shown in /health.
/// "Last success" is the last time the list was known current: a download installed, or a 304. Thread-safe.
/// </summary>
internal sealed class FeedStatusBoard
{
    public const string MeterName = "FilterService.Feeds";
    public const string FileName = "feeds.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly ConcurrentDictionary<string, FeedState> _feeds = new(StringComparer.Ordinal);
    private readonly string? _file;
    private readonly object _saveGate = new();
    private readonly Counter<long> _failures;
    private readonly Counter<long> _notModified;
    private readonly Counter<long> _updates;

    public FeedStatusBoard(string? cacheDirectory, IMeterFactory meters)
    {
        if (cacheDirectory is not null)
        {
            _file = Path.Combine(cacheDirectory, FileName);
            try
            {
                if (File.Exists(_file) && JsonSerializer.Deserialize<List<FeedState>>(File.ReadAllBytes(_file), Json) is { } saved)
                {
                    foreach (var s in saved)
                    {
                        _feeds[s.List] = s with { NotModified = 0, Updates = 0 };
                    }
                }
            }
            catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
            {
                // A lost state file costs one unconditional download per feed, nothing more.
            }
        }
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("filterservice.feed.last_success.timestamp", () => Observe(s => s.LastSuccess), "s",
            "Unix time each feed's list was last known current (a download installed, or 304 Not Modified); absent before the first success.");
        meter.CreateObservableGauge("filterservice.feed.last_attempt.timestamp", () => Observe(s => s.LastAttempt), "s",
            "Unix time of each feed's most recent update attempt.");
        meter.CreateObservableGauge("filterservice.feed.entries", () => _feeds.Values.Where(s => s.Entries is not null)
            .Select(s => new Measurement<long>(s.Entries!.Value, Tags(s))), "{entry}",
            "Entries in each feed's last good download.");
        meter.CreateObservableGauge("filterservice.feed.up", () => _feeds.Values.Where(s => s.LastAttempt is not null)
            .Select(s => new Measurement<long>(s.LastError is null ? 1 : 0, Tags(s))), "1",
            "1 if each feed's most recent attempt succeeded (or found it not modified), 0 if it kept the last good list.");
        _failures = meter.CreateCounter<long>("filterservice.feed.failures", "{attempt}",
            "Feed updates that kept the last good list, by reason (http_status, unreachable, too_large, truncated, hash_mismatch, bad_signature, malformed, empty, shrunk, reload_rejected, no_credentials).");
        _notModified = meter.CreateCounter<long>("filterservice.feed.not_modified", "{attempt}",
            "Feed checks answered 304 Not Modified (or an unchanged file): no download, no reload.");
        _updates = meter.CreateCounter<long>("filterservice.feed.updates", "{attempt}",
            "Feed downloads installed and loaded.");
    }

    private IEnumerable<Measurement<double>> Observe(Func<FeedState, DateTimeOffset?> at) =>
        _feeds.Values.Where(s => at(s) is not null).Select(s => new Measurement<double>(at(s)!.Value.ToUnixTimeMilliseconds() / 1000.0, Tags(s)));

    private static KeyValuePair<string, object?>[] Tags(FeedState s) =>
        [new("category", s.Category), new("list", s.List), new("statutory", s.Statutory ? "true" : "false")];

    public IReadOnlyList<FeedState> All => _feeds.Values.OrderBy(s => s.List, StringComparer.Ordinal).ToList();

    public FeedState? Get(string list) => _feeds.GetValueOrDefault(list);

    /// <summary>The feeds of a newly loaded policy: new ones appear (with zeroed counters), dropped ones go.</summary>
    public void Track(IEnumerable<FeedSpec> feeds)
    {
        var wanted = feeds.ToDictionary(f => f.ListPath, StringComparer.Ordinal);
        foreach (var key in _feeds.Keys.Where(k => !wanted.ContainsKey(k)))
        {
            _feeds.TryRemove(key, out _);
        }
        foreach (var f in wanted.Values)
        {
            var known = _feeds.GetValueOrDefault(f.ListPath);
            _feeds[f.ListPath] = known is null
                ? new FeedState(f.ListPath, f.Category, f.Statutory, FeedFetcher.Shown(f), null, null, null, null, null, null, null, null, 0, 0)
                : known with { Category = f.Category, Statutory = f.Statutory, Source = FeedFetcher.Shown(f) };
            var tags = Tags(_feeds[f.ListPath]);
            foreach (var reason in Enum.GetValues<FeedFailure>())
            {
                // Every series exists from the start at 0, so that increase() sees the first failure.
                _failures.Add(0, [.. tags, new("reason", reason.Label())]);
            }
            _notModified.Add(0, tags);
            _updates.Add(0, tags);
        }
    }

    public void Attempted(FeedSpec feed, DateTimeOffset at) => Update(feed, s => s with { LastAttempt = at });

    public void NotModified(FeedSpec feed, DateTimeOffset at)
    {
        var s = Update(feed, s => s with { LastSuccess = at, LastError = null, LastFailure = null, NotModified = s.NotModified + 1 });
        _notModified.Add(1, Tags(s));
        Save();
    }

    public void Updated(FeedSpec feed, DateTimeOffset at, int entries, string? version, FeedValidators? validators)
    {
        var s = Update(feed, s => s with { LastSuccess = at, Entries = entries, Version = version, ETag = validators?.ETag, LastModified = validators?.LastModified,
            LastError = null, LastFailure = null, Updates = s.Updates + 1 });
        _updates.Add(1, Tags(s));
        Save();
    }

    public void Failed(FeedSpec feed, FeedFailure failure, string message)
    {
        var s = Update(feed, s => s with { LastError = message, LastFailure = failure.Label() });
        _failures.Add(1, [.. Tags(s), new("reason", failure.Label())]);
        Save();
    }

    /// <summary>The validators to send, when the live list is still the one they describe.</summary>
    public FeedValidators? Validators(string list) =>
        _feeds.GetValueOrDefault(list) is { } s && (s.ETag is not null || s.LastModified is not null) ? new FeedValidators(s.ETag, s.LastModified) : null;

    /// <summary>Statutory feeds whose last attempt failed: /health is degraded while there are any.</summary>
    public IEnumerable<string> Problems =>
        All.Where(s => s.Statutory && s.LastError is not null).Select(s =>
            $"feed: statutory list {s.List} ({s.Category}) did not update ({s.LastFailure}); the last good list stays live: {s.LastError}");

    private FeedState Update(FeedSpec feed, Func<FeedState, FeedState> change) =>
        _feeds.AddOrUpdate(feed.ListPath,
            _ => change(new FeedState(feed.ListPath, feed.Category, feed.Statutory, FeedFetcher.Shown(feed), null, null, null, null, null, null, null, null, 0, 0)),
            (_, s) => change(s));

    private void Save()
    {
        if (_file is null)
        {
            return;
        }
        lock (_saveGate)
        {
            try
            {
                StateFile.WriteAtomically(_file, JsonSerializer.SerializeToUtf8Bytes(All, Json));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Kept in memory; a restart sends one unconditional request.
            }
        }
    }
}
