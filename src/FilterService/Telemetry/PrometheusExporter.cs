using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace FilterService.Telemetry;

/// <summary>
/// Serves this service's instruments in the Prometheus text exposition format 0.0.4 (prometheus-net is not on
/// our registry). A <see cref="MeterListener"/> aggregates every instrument of the meters named
/// <c>FilterService*</c> created by this host's <see cref="IMeterFactory"/> (so two services in one test process
/// never see each other's counts), and of the runtime's own <c>System.Runtime</c> meter (CPU, memory, GC, thread
/// pool). Observable instruments are read on each scrape. Thread-safe: measurements arrive on any thread; each
/// family has its own lock and a scrape holds one lock at a time.
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Seconds: 100 µs to 10 s, enough resolution for an engine decision and an upstream round trip.</summary>
    internal static readonly double[] DefaultSecondsBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly double[] DefaultBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

    private readonly object _scope;
    private readonly MeterListener _listener;
    private readonly Dictionary<string, Family> _families = new(StringComparer.Ordinal);
    private readonly object _familiesGate = new();
    private readonly object _scrapeGate = new();

    public PrometheusExporter(IMeterFactory factory)
    {
        _scope = factory;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (Wants(instrument.Meter) && FamilyFor(instrument) is { } family)
                {
                    listener.EnableMeasurementEvents(instrument, family);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, state) => ((Family)state!).Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, state) => ((Family)state!).Record(i, v, tags));
        _listener.SetMeasurementEventCallback<short>((i, v, tags, state) => ((Family)state!).Record(i, v, tags));
        _listener.SetMeasurementEventCallback<byte>((i, v, tags, state) => ((Family)state!).Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, state) => ((Family)state!).Record(i, v, tags));
        _listener.SetMeasurementEventCallback<float>((i, v, tags, state) => ((Family)state!).Record(i, v, tags));
        _listener.SetMeasurementEventCallback<decimal>((i, v, tags, state) => ((Family)state!).Record(i, (double)v, tags));
        _listener.Start();
    }

    private bool Wants(Meter meter) =>
        meter.Name == "System.Runtime"
        || (meter.Name.StartsWith("FilterService", StringComparison.Ordinal) && (ReferenceEquals(meter.Scope, _scope) || meter.Scope is null));

    /// <summary>The whole exposition: observable instruments are read now, families sorted by name.</summary>
    public string Scrape()
    {
        lock (_scrapeGate)
        {
            Family[] families;
            lock (_familiesGate)
            {
                families = [.. _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal)];
            }
            foreach (var f in families)
            {
                f.BeginObservation();
            }
            _listener.RecordObservableInstruments();
            var sb = new StringBuilder(8 * 1024);
            foreach (var f in families)
            {
                f.Write(sb);
            }
            return sb.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    private Family? FamilyFor(Instrument instrument)
    {
        var kind = KindOf(instrument);
        if (kind is null)
        {
            return null;
        }
        string? renamed = null;
        if (instrument.Meter.Name == "System.Runtime" && RuntimeRenames.TryGetValue(instrument.Name, out var rename))
        {
            (renamed, kind) = rename;
        }
        var name = renamed ?? MetricName(instrument.Name, instrument.Unit, kind.Value);
        lock (_familiesGate)
        {
            if (_families.TryGetValue(name, out var existing))
            {
                // Same name twice (a second meter of the same name): share the family if the type agrees.
                return existing.Kind == kind ? existing : null;
            }
            double[]? buckets = null;
            if (kind == FamilyKind.Histogram)
            {
                buckets = AdvisedBuckets(instrument) ?? (name.EndsWith("_seconds", StringComparison.Ordinal) ? DefaultSecondsBuckets : DefaultBuckets);
            }
            var family = new Family(name, instrument.Description ?? instrument.Name, kind.Value, buckets);
            _families[name] = family;
            return family;
        }
    }

    /// <summary>
    /// Runtime instruments whose generic name would end in <c>_count</c> (reserved for histograms), and levels the
    /// runtime publishes as observable counters although they go down (a counter that falls breaks rate()).
    /// </summary>
    private static readonly Dictionary<string, (string? Name, FamilyKind Kind)> RuntimeRenames = new(StringComparer.Ordinal)
    {
        ["dotnet.process.cpu.count"] = ("dotnet_process_cpus", FamilyKind.Gauge),
        ["dotnet.assembly.count"] = ("dotnet_assemblies_loaded", FamilyKind.Gauge),
        ["dotnet.timer.count"] = ("dotnet_timers", FamilyKind.Gauge),
        ["dotnet.thread_pool.thread.count"] = ("dotnet_thread_pool_threads", FamilyKind.Gauge),
        ["dotnet.thread_pool.queue.length"] = ("dotnet_thread_pool_queue_length", FamilyKind.Gauge),
    };

    private static double[]? AdvisedBuckets(Instrument instrument) => instrument switch
    {
        Histogram<double> h when h.Advice?.HistogramBucketBoundaries is { Count: > 0 } b => [.. b],
        Histogram<long> h when h.Advice?.HistogramBucketBoundaries is { Count: > 0 } b => [.. b.Select(x => (double)x)],
        Histogram<int> h when h.Advice?.HistogramBucketBoundaries is { Count: > 0 } b => [.. b.Select(x => (double)x)],
        _ => null,
    };

    internal enum FamilyKind
    {
        /// <summary>Counter: deltas summed.</summary>
        Counter,
        /// <summary>ObservableCounter: the callback reports the running total.</summary>
        ObservedCounter,
        /// <summary>UpDownCounter: deltas summed, exposed as a gauge.</summary>
        SummedGauge,
        /// <summary>ObservableGauge, ObservableUpDownCounter, Gauge: the last value.</summary>
        Gauge,
        Histogram,
    }

    private static FamilyKind? KindOf(Instrument instrument)
    {
        var t = instrument.GetType();
        if (!t.IsGenericType)
        {
            return null;
        }
        var g = t.GetGenericTypeDefinition();
        if (g == typeof(Counter<>))
        {
            return FamilyKind.Counter;
        }
        if (g == typeof(ObservableCounter<>))
        {
            return FamilyKind.ObservedCounter;
        }
        if (g == typeof(UpDownCounter<>))
        {
            return FamilyKind.SummedGauge;
        }
        if (g == typeof(ObservableGauge<>) || g == typeof(ObservableUpDownCounter<>) || g == typeof(Gauge<>))
        {
            return FamilyKind.Gauge;
        }
        if (g == typeof(Histogram<>))
        {
            return FamilyKind.Histogram;
        }
        return null;
    }

    /// <summary>
    /// <c>filterservice.decision.duration</c> (unit s, histogram) → <c>filterservice_decision_duration_seconds</c>;
    /// counters get <c>_total</c>; UCUM annotations (<c>{request}</c>) and <c>1</c> add nothing. A gauge may not end
    /// in <c>_count</c> (reserved for histograms, and promtool says so), so <c>dotnet.thread_pool.thread.count</c>
    /// becomes <c>dotnet_thread_pool_thread_current</c>.
    /// </summary>
    internal static string MetricName(string instrumentName, string? unit, FamilyKind kind)
    {
        var sb = new StringBuilder(instrumentName.Length + 16);
        foreach (char c in instrumentName)
        {
            sb.Append(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_' ? c : c is >= 'A' and <= 'Z' ? char.ToLowerInvariant(c) : '_');
        }
        if (sb.Length == 0 || char.IsAsciiDigit(sb[0]))
        {
            sb.Insert(0, '_');
        }
        var name = sb.ToString();
        string? suffix = unit switch
        {
            "s" => "seconds",
            "By" => "bytes",
            "ms" => "milliseconds",
            "%" => "percent",
            _ => null,
        };
        bool counter = kind is FamilyKind.Counter or FamilyKind.ObservedCounter;
        if (counter && name.EndsWith("_total", StringComparison.Ordinal))
        {
            name = name[..^6];
        }
        if (suffix is not null && !name.EndsWith("_" + suffix, StringComparison.Ordinal))
        {
            name += "_" + suffix;
        }
        if (counter)
        {
            return name + "_total";
        }
        foreach (var reserved in (string[])["_count", "_sum", "_bucket", "_total"])
        {
            if (name.EndsWith(reserved, StringComparison.Ordinal))
            {
                name = name[..^reserved.Length] + "_current";
                break;
            }
        }
        return name;
    }

    internal static string LabelName(string key)
    {
        var sb = new StringBuilder(key.Length);
        foreach (char c in key)
        {
            sb.Append(c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' ? c : '_');
        }
        if (sb.Length == 0 || char.IsAsciiDigit(sb[0]))
        {
            sb.Insert(0, '_');
        }
        var name = sb.ToString();
        return name == "le" || name.StartsWith("__", StringComparison.Ordinal) ? "tag_" + name.TrimStart('_') : name;
    }

    internal static void AppendEscapedLabelValue(StringBuilder sb, string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                default: sb.Append(c); break;
            }
        }
    }

    internal static void AppendEscapedHelp(StringBuilder sb, string help)
    {
        foreach (char c in help)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                default: sb.Append(c); break;
            }
        }
    }

    internal static string FormatValue(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>One metric family: its series keyed by their rendered label set.</summary>
    private sealed class Family(string name, string help, FamilyKind kind, double[]? buckets)
    {
        private readonly object _gate = new();
        private readonly Dictionary<string, Series> _series = new(StringComparer.Ordinal);
        private readonly Dictionary<TagKey, Series> _byTags = new();

        // Instruments recorded per request (counters, histograms) find their series by the tag values themselves,
        // without rendering the label string; observable series come and go at each scrape and take the slow path.
        private readonly bool _recordedPerRequest = kind is FamilyKind.Counter or FamilyKind.SummedGauge or FamilyKind.Histogram;

        public string Name { get; } = name;
        public FamilyKind Kind { get; } = kind;

        [ThreadStatic]
        private static StringBuilder? t_key;

        public void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (double.IsNaN(value))
            {
                return;
            }
            bool fast = _recordedPerRequest && tags.Length <= TagKey.Capacity;
            var tagKey = fast ? new TagKey(tags) : default;
            lock (_gate)
            {
                if (!fast || !_byTags.TryGetValue(tagKey, out var s))
                {
                    var key = Labels(tags);
                    if (!_series.TryGetValue(key, out s))
                    {
                        s = new Series(buckets is null ? null : new long[buckets.Length]);
                        _series[key] = s;
                    }
                    if (fast)
                    {
                        _byTags[tagKey] = s;
                    }
                }
                switch (Kind)
                {
                    case FamilyKind.Counter:
                    case FamilyKind.SummedGauge:
                        s.Value += value;
                        break;
                    case FamilyKind.ObservedCounter:
                    case FamilyKind.Gauge:
                        s.Value = value;
                        s.Observed = true;
                        break;
                    case FamilyKind.Histogram:
                        s.Value += value;
                        s.Count++;
                        for (int i = 0; i < buckets!.Length; i++)
                        {
                            if (value <= buckets[i])
                            {
                                s.Buckets![i]++;
                                break;
                            }
                        }
                        break;
                }
            }
        }

        /// <summary>Observable series are re-read on every scrape; a label set no longer reported disappears.</summary>
        public void BeginObservation()
        {
            if (Kind is not (FamilyKind.ObservedCounter or FamilyKind.Gauge))
            {
                return;
            }
            lock (_gate)
            {
                foreach (var s in _series.Values)
                {
                    s.Observed = false;
                }
            }
        }

        public void Write(StringBuilder sb)
        {
            lock (_gate)
            {
                bool observable = Kind is FamilyKind.ObservedCounter or FamilyKind.Gauge;
                if (observable)
                {
                    foreach (var key in _series.Where(p => !p.Value.Observed).Select(p => p.Key).ToList())
                    {
                        _series.Remove(key);
                    }
                }
                sb.Append("# HELP ").Append(Name).Append(' ');
                AppendEscapedHelp(sb, help);
                sb.Append('\n');
                sb.Append("# TYPE ").Append(Name).Append(' ').Append(Kind switch
                {
                    FamilyKind.Counter or FamilyKind.ObservedCounter => "counter",
                    FamilyKind.Histogram => "histogram",
                    _ => "gauge",
                }).Append('\n');
                foreach (var (labels, s) in _series.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (Kind != FamilyKind.Histogram)
                    {
                        Sample(sb, Name, labels, null, s.Value);
                        continue;
                    }
                    long cumulative = 0;
                    for (int i = 0; i < buckets!.Length; i++)
                    {
                        cumulative += s.Buckets![i];
                        Sample(sb, Name + "_bucket", labels, FormatValue(buckets[i]), cumulative);
                    }
                    Sample(sb, Name + "_bucket", labels, "+Inf", s.Count);
                    Sample(sb, Name + "_sum", labels, null, s.Value);
                    Sample(sb, Name + "_count", labels, null, s.Count);
                }
            }
        }

        private static void Sample(StringBuilder sb, string name, string labels, string? le, double value)
        {
            sb.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                sb.Append('{').Append(labels);
                if (le is not null)
                {
                    sb.Append(labels.Length > 0 ? ",le=\"" : "le=\"").Append(le).Append('"');
                }
                sb.Append('}');
            }
            sb.Append(' ').Append(FormatValue(value)).Append('\n');
        }

        /// <summary>The rendered label set, sorted by name, which doubles as the series key.</summary>
        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 0)
            {
                return "";
            }
            var sorted = tags.Length == 1 ? tags.ToArray() : [.. tags.ToArray().OrderBy(t => t.Key, StringComparer.Ordinal)];
            var sb = t_key ??= new StringBuilder(128);
            sb.Clear();
            string? previous = null;
            foreach (var (k, v) in sorted)
            {
                var label = LabelName(k);
                if (label == previous)
                {
                    continue;
                }
                previous = label;
                if (sb.Length > 0)
                {
                    sb.Append(',');
                }
                sb.Append(label).Append("=\"");
                AppendEscapedLabelValue(sb, Convert.ToString(v, CultureInfo.InvariantCulture) ?? "");
                sb.Append('"');
            }
            return sb.ToString();
        }
    }

    /// <summary>
    /// Up to four tags as recorded (name and value, in the caller's order), compared by value: a series lookup that
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

        public override int GetHashCode() => HashCode.Combine(_count, _a.Key, _a.Value, _b.Value, _c.Value, _d.Value, _e.Value, _f.Value);
    }

    private sealed class Series(long[]? buckets)
    {
        public double Value;
        public long Count;
        public bool Observed;
        public readonly long[]? Buckets = buckets;
    }
}
