using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Prometheus;
using static FilterService.Telemetry.PrometheusNames;

namespace FilterService.Telemetry;

/// <summary>
/// Feeds this service's <c>System.Diagnostics.Metrics</c> instruments into prometheus-net, which keeps the values
/// and writes the exposition (text 0.0.4 or OpenMetrics, as the scraper asks). A <see cref="MeterListener"/> picks up
/// every instrument of the meters named <c>FilterService*</c> created by this host's <see cref="IMeterFactory"/>
/// (so two services in one test process never see each other's counts) and of the runtime's own
/// <c>System.Runtime</c> meter (CPU, memory, GC, thread pool), with no registration per metric: a feature adds an
/// instrument to its meter and it appears in the scrape.
/// <para>
/// The registry is this service's own, not prometheus-net's static default, and holds nothing else: no
/// prometheus-net process or .NET collectors (the runtime meter already gives those), no adapter metrics.
/// </para>
/// <para>
/// Stale series: an observable instrument is read at each scrape, and a label set its callback no longer reports
/// (a list removed from the policy, a policy version replaced) is removed from the registry, so it vanishes from the
/// scrape instead of freezing at its last value. Counters and histograms keep every series for the life of the
/// process, as Prometheus expects of them.
/// </para>
/// Thread-safe: measurements arrive on any thread; prometheus-net's children are lock-free; scrapes are serialised.
/// </summary>
internal sealed partial class PrometheusBridge : IDisposable
{
    private readonly object _scope;
    private readonly MeterListener _listener;
    private readonly MetricFactory _factory;
    private readonly object _collectGate = new();
    private readonly List<Bridged> _observed = [];
    private readonly ILogger? _logger;

    public PrometheusBridge(IMeterFactory factory, ILogger<PrometheusBridge>? logger = null)
    {
        _scope = factory;
        _logger = logger;
        Registry = Metrics.NewCustomRegistry();
        _factory = Metrics.WithCustomRegistry(Registry);
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (Wants(instrument.Meter) && FamilyOf(instrument) is { } family)
                {
                    var bridged = new Bridged(_factory, family.Name, Help(instrument), family.Kind, family.Buckets);
                    if (bridged.Observed)
                    {
                        lock (_collectGate)
                        {
                            _observed.Add(bridged);
                        }
                    }
                    listener.EnableMeasurementEvents(instrument, bridged);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, v, tags, state) => ((Bridged)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<int>((_, v, tags, state) => ((Bridged)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<short>((_, v, tags, state) => ((Bridged)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<byte>((_, v, tags, state) => ((Bridged)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<double>((_, v, tags, state) => ((Bridged)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<float>((_, v, tags, state) => ((Bridged)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<decimal>((_, v, tags, state) => ((Bridged)state!).Record((double)v, tags));
        Registry.AddBeforeCollectCallback(Observe);
        _listener.Start();
    }

    /// <summary>This service's registry: what <c>/metrics</c> serves.</summary>
    public CollectorRegistry Registry { get; }

    private bool Wants(Meter meter) =>
        meter.Name == "System.Runtime"
        || (meter.Name.StartsWith("FilterService", StringComparison.Ordinal) && (ReferenceEquals(meter.Scope, _scope) || meter.Scope is null));

    /// <summary>
    /// prometheus-net writes HELP as given: a newline would end the line and break the exposition, so the escapes of
    /// the text format are applied here (backslash, newline); a double quote, which OpenMetrics would need escaped
    /// and the text format may not, becomes a single one.
    /// </summary>
    internal static string Help(Instrument instrument) =>
        (instrument.Description ?? instrument.Name).Replace("\\", "\\\\").Replace("\n", "\\n").Replace('"', '\'');

    /// <summary>
    /// Reads the observable instruments, then drops the series they no longer report. A callback that throws reports
    /// nothing, so its series leave the scrape (unknown, not stale) and the rest is still served: a failed scrape
    /// would blind every alert at once.
    /// </summary>
    private void Observe()
    {
        lock (_collectGate)
        {
            foreach (var b in _observed)
            {
                b.BeginObservation();
            }
            try
            {
                _listener.RecordObservableInstruments();
            }
            catch (AggregateException ex)
            {
                if (_logger is not null)
                {
                    LogObserveFailed(_logger, ex.InnerExceptions.Count, ex.InnerException);
                }
            }
            foreach (var b in _observed)
            {
                b.EndObservation();
            }
        }
    }

    /// <summary>The text exposition 0.0.4, as <c>/metrics</c> serves it, for tests and the benchmark.</summary>
    public async Task<string> ScrapeTextAsync()
    {
        using var buffer = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(buffer, ExpositionFormat.PrometheusText, CancellationToken.None);
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public void Dispose() => _listener.Dispose();

    [LoggerMessage(EventId = 1650, Level = LogLevel.Error, Message = "{Count} observable instrument(s) failed while /metrics was scraped; their series are left out of this scrape")]
    private static partial void LogObserveFailed(ILogger logger, int count, Exception? exception);

    /// <summary>
    /// One instrument's family. prometheus-net fixes a metric's label names when it is created, and an instrument
    /// may record different tag sets, so there is one prometheus-net metric per label-name set (prometheus-net
    /// exposes them as one family).
    /// </summary>
    private sealed class Bridged(MetricFactory factory, string name, string help, FamilyKind kind, double[]? buckets)
    {
        private readonly Dictionary<string, Collector> _metrics = new(StringComparer.Ordinal);

        // Counters and histograms are recorded per request: their series are found by the recorded tags themselves,
        // without sorting or rendering them; the miss path asks prometheus-net once per series.
        private readonly ConcurrentDictionary<TagKey, object> _children = new();

        // Observable instruments: the series reported in the current scrape, and those of the previous one.
        private HashSet<object> _seen = [];
        private HashSet<object> _live = [];

        public bool Observed { get; } = kind is FamilyKind.ObservedCounter or FamilyKind.ObservedGauge;

        [ThreadStatic]
        private static List<KeyValuePair<string, string>>? t_labels;

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            // A listener callback that throws stops the instrument for good: a bad measurement is dropped instead.
            try
            {
                if (double.IsNaN(value))
                {
                    return;
                }
                object? child;
                if (Observed)
                {
                    child = Resolve(tags);
                    if (child is not null)
                    {
                        _seen.Add(child); // the scrape gate is held: observable callbacks run inside Observe
                    }
                }
                else if (tags.Length <= TagKey.Capacity)
                {
                    var key = new TagKey(tags);
                    if (!_children.TryGetValue(key, out child) && Resolve(tags) is { } resolved)
                    {
                        child = _children.GetOrAdd(key, resolved);
                    }
                }
                else
                {
                    child = Resolve(tags);
                }
                switch (child)
                {
                    case ICounter c when kind == FamilyKind.ObservedCounter:
                        c.IncTo(value);
                        break;
                    case ICounter c when value >= 0:
                        c.Inc(value);
                        break;
                    case IGauge g when kind == FamilyKind.SummedGauge:
                        g.Inc(value);
                        break;
                    case IGauge g:
                        g.Set(value);
                        break;
                    case IHistogram h:
                        h.Observe(value);
                        break;
                }
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                Debug.Fail($"{name}: {ex.Message}");
            }
        }

        public void BeginObservation() => _seen = [];

        public void EndObservation()
        {
            foreach (var gone in _live.Where(c => !_seen.Contains(c)))
            {
                switch (gone)
                {
                    case ChildBase labelled:
                        labelled.Remove();
                        break;
                    // A metric without labels is its own only series: hidden until the callback reports it again.
                    case Counter c:
                        c.Unpublish();
                        break;
                    case Gauge g:
                        g.Unpublish();
                        break;
                }
            }
            _live = _seen;
        }

        /// <summary>
        /// The prometheus-net series for these tags (label names sorted, converted, duplicates dropped): a child of a
        /// labelled metric, or the metric itself when it has no labels.
        /// </summary>
        private object? Resolve(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = t_labels ??= new List<KeyValuePair<string, string>>(8);
            labels.Clear();
            foreach (var (k, v) in tags)
            {
                labels.Add(new(LabelName(k), Convert.ToString(v, CultureInfo.InvariantCulture) ?? ""));
            }
            labels.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            for (int i = labels.Count - 1; i > 0; i--)
            {
                if (labels[i].Key == labels[i - 1].Key)
                {
                    labels.RemoveAt(i);
                }
            }
            var names = new string[labels.Count];
            var values = new string[labels.Count];
            for (int i = 0; i < labels.Count; i++)
            {
                (names[i], values[i]) = (labels[i].Key, labels[i].Value);
            }
            var metric = MetricFor(names);
            return metric switch
            {
                null => null,
                _ when names.Length == 0 => metric,
                Counter c => c.WithLabels(values),
                Gauge g => g.WithLabels(values),
                Histogram h => h.WithLabels(values),
                _ => null,
            };
        }

        private Collector? MetricFor(string[] labelNames)
        {
            var key = string.Join(',', labelNames);
            lock (_metrics)
            {
                if (!_metrics.TryGetValue(key, out var metric))
                {
                    try
                    {
                        // A series appears at its first measurement, as before: no zero sample for a label set never seen.
                        metric = kind switch
                        {
                            FamilyKind.Counter or FamilyKind.ObservedCounter =>
                                factory.CreateCounter(name, help, labelNames, new CounterConfiguration { SuppressInitialValue = true }),
                            FamilyKind.Histogram =>
                                factory.CreateHistogram(name, help, labelNames, new HistogramConfiguration { Buckets = buckets, SuppressInitialValue = true }),
                            _ => factory.CreateGauge(name, help, labelNames, new GaugeConfiguration { SuppressInitialValue = true }),
                        };
                    }
                    catch (InvalidOperationException)
                    {
                        metric = null; // the same name already serves another type (two instruments disagree): keep the first
                    }
                    _metrics[key] = metric!;
                }
                return metric;
            }
        }
    }

    /// <summary>
    /// Up to six tags as recorded (name and value, in the caller's order), compared by value: a series lookup that
    /// allocates nothing. The same tags in another order make another key for the same series, which is harmless.
    /// </summary>
    private readonly struct TagKey : IEquatable<TagKey>
    {
        /// <summary>The requests counter has five tags (kind, action, category, role, network).</summary>
        public const int Capacity = 6;
        private readonly int _count;
        private readonly KeyValuePair<string, object?> _a, _b, _c, _d, _e, _f;

        public TagKey(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            _count = tags.Length;
            if (_count > 0) _a = tags[0];
            if (_count > 1) _b = tags[1];
            if (_count > 2) _c = tags[2];
            if (_count > 3) _d = tags[3];
            if (_count > 4) _e = tags[4];
            if (_count > 5) _f = tags[5];
        }

        public bool Equals(TagKey other) =>
            _count == other._count && Same(_a, other._a) && Same(_b, other._b) && Same(_c, other._c) && Same(_d, other._d)
            && Same(_e, other._e) && Same(_f, other._f);

        private static bool Same(KeyValuePair<string, object?> x, KeyValuePair<string, object?> y) =>
            string.Equals(x.Key, y.Key, StringComparison.Ordinal) && Equals(x.Value, y.Value);

        public override bool Equals(object? obj) => obj is TagKey other && Equals(other);

        /// <summary>
        /// The values' lengths and three of their characters, not their full hashes: a string's hash is computed anew at
        /// each call, and hashing five tags in full was a third of a measurement's cost (bench/results/metrics.md). The
        /// values come from the policy and fixed sets, never from a request, so a crafted collision is no concern; an
        /// accidental one costs an Equals.
        /// </summary>
        public override int GetHashCode() => HashCode.Combine(_count, Cheap(_a.Value), Cheap(_b.Value), Cheap(_c.Value), Cheap(_d.Value),
            Cheap(_e.Value), Cheap(_f.Value));

        private static int Cheap(object? value) => value switch
        {
            null => 0,
            string { Length: 0 } => 1,
            string s => s.Length ^ (s[0] << 8) ^ (s[s.Length / 2] << 16) ^ (s[^1] << 24),
            _ => value.GetHashCode(),
        };
    }
}
