using System.Collections.Frozen;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using FilterService.Audit;
using FilterService.Identity;
using FilterService.Policy;
using PolicyModel.Decisions;

namespace FilterService.Telemetry;

/// <summary>
/// Every instrument the service publishes (STYLE 8), on the meter <c>FilterService</c> from the host's
/// <see cref="IMeterFactory"/>. Told about each finished request as an <see cref="IDecisionObserver"/>, about
/// policy loads by <see cref="PolicyStore.Reloaded"/>, about failed logins by <see cref="AuthThrottle"/>.
/// Tags are low-cardinality and policy-defined only: action, category, role (the first), network (zone),
/// rule, list file, kind, reason. Never a user, an address, a host or a URL: auditors see how filtering works,
/// not who browsed what. Thread-safe; <see cref="OnDecision"/> never throws.
/// </summary>
internal sealed partial class FilterMetrics : IDecisionObserver
{
    public const string MeterName = "FilterService";
    private const string None = "none";

    /// <summary>Proxy refusals of malformed or abusive input, by the rule the proxy records (the <c>kind</c> tag).</summary>
    internal static readonly FrozenSet<string> HostileKinds = new[]
    {
        "malformed-request", "head-too-large", "head-timeout", "connect-with-body", "conflicting-framing", "bad-connect-target",
        "https-without-connect", "not-a-proxy-request", "connect-not-first", "sni-mismatch", "tunnel-not-tls", "client-hello-timeout",
        "client-hello-malformed", "connect-port", "upstream-address-refused", "upstream-loop",
    }.ToFrozenSet(StringComparer.Ordinal);

    private readonly PolicyStore _store;
    private readonly TimeProvider _time;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _blocks;
    private readonly Counter<long> _statutoryHits;
    private readonly Counter<long> _responses;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _decisionDuration;
    private readonly Histogram<double> _upstreamDuration;
    private long _activeTunnels;
    private readonly Counter<long> _bytes;
    private readonly Counter<long> _authFailures;
    private readonly Counter<long> _authChallenges;
    private readonly Counter<long> _refusedClients;
    private readonly Counter<long> _hostile;
    private readonly Counter<long> _upstreamErrors;
    private readonly Counter<long> _reloads;
    private readonly Counter<long> _shrinkRefused;
    private readonly Counter<long> _shrinkConfirmed;
    private readonly Counter<long> _safeSearch;
    private readonly Counter<long> _leafLookups;
    private readonly Histogram<double> _leafMintDuration;
    private StatutorySet _statutory = new(null, FrozenSet<string>.Empty);

    private sealed record StatutorySet(PolicySnapshot? Policy, FrozenSet<string> Names);

    public FilterMetrics(IMeterFactory factory, PolicyStore store, AuthThrottle throttle, TimeProvider time,
        LeafCacheEvents? inspection = null, LdapDirectory? directory = null)
    {
        _store = store;
        _time = time;
        var meter = factory.Create(MeterName);
        _safeSearch = meter.CreateCounter<long>("filterservice.safe_search", "{tunnel}",
            "Tunnels and requests connected to a search provider's safe-search address (safe_search in the policy), by provider.");
        _requests = meter.CreateCounter<long>("filterservice.requests", "{request}",
            "Finished proxy requests (HTTP requests and CONNECT tunnels) by kind, action, category, first role and network.");
        _blocks = meter.CreateCounter<long>("filterservice.blocks", "{request}",
            "Requests the policy blocked, by the rule that decided, category and first role.");
        _statutoryHits = meter.CreateCounter<long>("filterservice.statutory.hits", "{request}",
            "Requests blocked by a statutory category (IWF, terrorism lists), by category.");
        _responses = meter.CreateCounter<long>("filterservice.responses", "{response}",
            "Responses the proxy gave clients, by kind and status class (2xx..5xx); 5xx are proxy or upstream failures.");
        _requestDuration = meter.CreateHistogram("filterservice.request.duration", "s",
            "Time from a request's arrival to its completion (a tunnel's whole life), by kind.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800] });
        _decisionDuration = meter.CreateHistogram("filterservice.decision.duration", "s",
            "Time the policy engine took to decide one request.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1] });
        _upstreamDuration = meter.CreateHistogram("filterservice.upstream.duration", "s",
            "Time to reach the origin: response headers for HTTP, the TCP connect for CONNECT; by kind.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        // Observed rather than an UpDownCounter so the family shows 0 before the first tunnel.
        meter.CreateObservableUpDownCounter("filterservice.tunnels.active", () => Interlocked.Read(ref _activeTunnels), "{tunnel}",
            "CONNECT tunnels currently splicing bytes.");
        _bytes = meter.CreateCounter<long>("filterservice.transferred", "By",
            "Bytes carried for clients, by kind and direction (from_client, to_client).");
        _authFailures = meter.CreateCounter<long>("filterservice.proxy_auth.failures", "{attempt}",
            "Proxy logins refused: wrong or malformed credentials (bad_credentials), or refused unchecked while throttled (throttled).");
        _authChallenges = meter.CreateCounter<long>("filterservice.proxy_auth.challenges", "{response}",
            "407 answers: credentials missing or wrong (a browser's first request normally gets one).");
        _refusedClients = meter.CreateCounter<long>("filterservice.refused_clients", "{request}",
            "Requests refused because of who asked: not-a-client (address outside the policy's clients), auth-throttled.");
        _hostile = meter.CreateCounter<long>("filterservice.hostile_requests", "{request}",
            "Malformed or abusive requests the proxy refused, by kind (the proxy's refusal rule).");
        _upstreamErrors = meter.CreateCounter<long>("filterservice.upstream.errors", "{request}",
            "Requests that failed upstream (name not resolved, connect failed, timeout), by reason.");
        _reloads = meter.CreateCounter<long>("filterservice.policy.reloads", "{load}",
            "Policy load attempts by outcome (success, failure) and trigger (start, watch, signal, ...).");
        meter.CreateObservableGauge("filterservice.policy.info", PolicyInfo, "{policy}",
            "The active policy: always 1, labelled with its version.");
        meter.CreateObservableGauge("filterservice.policy.loaded.timestamp", PolicyLoaded, "s",
            "Unix time the active policy was loaded.");
        meter.CreateObservableGauge("filterservice.policy.last_reload.success", LastReloadSucceeded, "1",
            "1 if the most recent load or reload succeeded, 0 if it was rejected (the previous policy stays live).");
        meter.CreateObservableGauge("filterservice.policy.last_reload.timestamp", LastReloadAt, "s",
            "Unix time of the most recent load or reload attempt.");
        meter.CreateObservableGauge("filterservice.list.entries", ListEntries, "{entry}",
            "Entries loaded from each category list file of the active policy.");
        meter.CreateObservableGauge("filterservice.list.age", ListAges, "s",
            "Seconds since each list file was last modified (absent when unknown).");
        meter.CreateObservableGauge("filterservice.statutory.loaded", StatutoryLoaded, "1",
            "1 if the statutory category has entries loaded in the active policy, else 0.");

        _shrinkRefused = meter.CreateCounter<long>("filterservice.statutory.list_shrink_refused", "{load}",
            "Loads refused because a statutory list shrank against its last good count without a confirmation, by category.");
        _shrinkConfirmed = meter.CreateCounter<long>("filterservice.statutory.list_shrink_confirmed", "{load}",
            "Loads that accepted a statutory list shrinking because the operator confirmed those exact bytes, by category.");
        meter.CreateObservableGauge("filterservice.policy.watcher.up", WatcherUp, "1",
            "1 while the policy directory is watched (or polled) for edits, 0 while the watch is lost and being re-armed; absent with Policy:Watch=false.");

        _leafLookups = meter.CreateCounter<long>("filterservice.inspection.leaf_cache.lookups", "{lookup}",
            "Leaf certificates looked up for inspected tunnels, by outcome: hit (cached) or miss (minted now).");
        _leafMintDuration = meter.CreateHistogram("filterservice.inspection.leaf_mint.duration", "s",
            "Time to mint one leaf certificate for an inspected host (key, certificate, chain).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] });
        if (inspection is not null)
        {
            // Both series exist from the start at 0 (only with an inspection CA), so that a hit rate is defined.
            _leafLookups.Add(0, new KeyValuePair<string, object?>("outcome", "hit"));
            _leafLookups.Add(0, new KeyValuePair<string, object?>("outcome", "miss"));
            inspection.OnLookup(hit => _leafLookups.Add(1, new KeyValuePair<string, object?>("outcome", hit ? "hit" : "miss")));
            inspection.OnMinted(took => _leafMintDuration.Record(took.TotalSeconds));
        }

        if (directory is not null)
        {
            AddDirectory(meter, directory);
        }

        throttle.FailureRecorded += () => _authFailures.Add(1, new KeyValuePair<string, object?>("reason", "bad_credentials"));
        store.Reloaded += CountReload;
        if (store.LastReport is { } first)
        {
            CountReload(first); // the start load can happen before this singleton is built
        }
    }

    /// <summary>Times one engine decision.</summary>
    public void RecordDecisionTime(TimeSpan elapsed) => _decisionDuration.Record(elapsed.TotalSeconds);

    public void RecordUpstreamTime(bool connect, TimeSpan elapsed) =>
        _upstreamDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("kind", connect ? "connect" : "http"));

    /// <summary>Counts a tunnel as active until the returned scope is disposed.</summary>
    public TunnelScope TrackTunnel()
    {
        Interlocked.Increment(ref _activeTunnels);
        return new TunnelScope(this);
    }

    public readonly struct TunnelScope(FilterMetrics? owner) : IDisposable
    {
        public void Dispose()
        {
            if (owner is not null)
            {
                Interlocked.Decrement(ref owner._activeTunnels);
            }
        }
    }

    public void OnDecision(DecisionRecord record)
    {
        try
        {
            Count(record);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Debug.Fail(ex.ToString()); // metrics must never fail a request
        }
    }

    private void Count(DecisionRecord record)
    {
        if (record.SafeSearch is { } provider)
        {
            _safeSearch.Add(1, new KeyValuePair<string, object?>("provider", provider));
        }
        string kind = record.Method == "CONNECT" ? "connect" : "http";
        string action = record.Action == DecisionAction.Block ? "block" : "allow";
        string category = record.Category ?? None;
        string role = record.Roles.Count > 0 ? record.Roles[0] : None;
        string network = record.Network ?? None;

        var tags = new TagList
        {
            { "kind", kind },
            { "action", action },
            { "category", category },
            { "role", role },
            { "network", network },
        };
        _requests.Add(1, tags);
        _responses.Add(1, new TagList { { "kind", kind }, { "code_class", StatusClass(record.Status) } });
        _requestDuration.Record(record.Duration.TotalSeconds, new KeyValuePair<string, object?>("kind", kind));
        if (record.BytesFromClient > 0)
        {
            _bytes.Add(record.BytesFromClient, new TagList { { "kind", kind }, { "direction", "from_client" } });
        }
        if (record.BytesToClient > 0)
        {
            _bytes.Add(record.BytesToClient, new TagList { { "kind", kind }, { "direction", "to_client" } });
        }

        string rule = record.Rule;
        if (HostileKinds.Contains(rule))
        {
            _hostile.Add(1, new KeyValuePair<string, object?>("kind", rule));
            return;
        }
        switch (rule)
        {
            case "not-a-client":
                _refusedClients.Add(1, new KeyValuePair<string, object?>("reason", "not-a-client"));
                return;
            case "proxy-auth-throttled":
                _refusedClients.Add(1, new KeyValuePair<string, object?>("reason", "auth-throttled"));
                _authFailures.Add(1, new KeyValuePair<string, object?>("reason", "throttled"));
                return;
            case "proxy-auth":
                _authChallenges.Add(1);
                return;
        }
        if (rule.StartsWith("upstream-", StringComparison.Ordinal))
        {
            _upstreamErrors.Add(1, new KeyValuePair<string, object?>("reason", rule));
            return;
        }
        if (record.Decision is not null && record.UpstreamAddress is null && record.Status is 502 or 504)
        {
            // The HTTP stage keeps the engine's rule on an upstream failure; no upstream address means no response came.
            _upstreamErrors.Add(1, new KeyValuePair<string, object?>("reason", record.Status == 504 ? "upstream-timeout" : "upstream-failed"));
            return;
        }
        if (record.Decision is not null && record.Action == DecisionAction.Block)
        {
            _blocks.Add(1, new TagList { { "rule", rule }, { "category", category }, { "role", role } });
            if (record.Category is { } c && StatutoryCategories().Contains(c))
            {
                _statutoryHits.Add(1, new KeyValuePair<string, object?>("category", c));
            }
        }
    }

    private static string StatusClass(int status) => status switch
    {
        >= 100 and < 200 => "1xx",
        < 300 => "2xx",
        < 400 => "3xx",
        < 500 => "4xx",
        < 600 => "5xx",
        _ => "other", // 499: the client went away
    };

    private FrozenSet<string> StatutoryCategories()
    {
        var policy = _store.Current;
        var cached = Volatile.Read(ref _statutory);
        if (!ReferenceEquals(cached.Policy, policy))
        {
            cached = new StatutorySet(policy, policy.Categories.Where(c => c.Statutory).Select(c => c.Name).ToFrozenSet(StringComparer.Ordinal));
            Volatile.Write(ref _statutory, cached);
        }
        return cached.Names;
    }

    private void CountReload(PolicyLoadReport report)
    {
        _reloads.Add(1, new TagList { { "outcome", report.Succeeded ? "success" : "failure" }, { "trigger", report.Trigger } });
        if (report.Succeeded && TryCurrent() is { } policy)
        {
            // Each statutory category's series exists from the start at 0, so that increase() sees the first refusal.
            foreach (var (name, statutory) in policy.Categories.Where(c => c.Statutory))
            {
                _shrinkRefused.Add(0, new KeyValuePair<string, object?>("category", name));
                _shrinkConfirmed.Add(0, new KeyValuePair<string, object?>("category", name));
            }
        }
        foreach (var shrink in report.Shrinks ?? [])
        {
            if (shrink.Confirmation is null)
            {
                _shrinkRefused.Add(1, new KeyValuePair<string, object?>("category", shrink.Category));
            }
            else if (report.Succeeded)
            {
                _shrinkConfirmed.Add(1, new KeyValuePair<string, object?>("category", shrink.Category));
            }
        }
    }
}
