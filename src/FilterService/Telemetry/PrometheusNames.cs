using System.Diagnostics.Metrics;
using System.Text;

namespace FilterService.Telemetry;

/// <summary>
/// How an instrument of <c>System.Diagnostics.Metrics</c> is named and typed in Prometheus. prometheus-net's own
/// <c>MeterAdapter</c> prefixes the meter's name, adds no unit and exposes counters as gauges, which would rename
/// every family the dashboard and the alert rules query; these rules keep the names we have always published.
/// </summary>
internal static class PrometheusNames
{
    /// <summary>Seconds: 100 µs to 10 s, enough resolution for an engine decision and an upstream round trip.</summary>
    internal static readonly double[] DefaultSecondsBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    internal static readonly double[] DefaultBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

    internal enum FamilyKind
    {
        /// <summary>Counter: deltas summed.</summary>
        Counter,
        /// <summary>ObservableCounter: the callback reports the running total.</summary>
        ObservedCounter,
        /// <summary>UpDownCounter: deltas summed, exposed as a gauge.</summary>
        SummedGauge,
        /// <summary>Gauge: the last value set.</summary>
        Gauge,
        /// <summary>ObservableGauge, ObservableUpDownCounter: the value the callback reports at each scrape.</summary>
        ObservedGauge,
        Histogram,
    }

    /// <summary>
    /// Runtime instruments whose generic name would end in <c>_count</c> (reserved for histograms), and levels the
    /// runtime publishes as observable counters although they go down (a counter that falls breaks rate()).
    /// </summary>
    private static readonly Dictionary<string, (string Name, FamilyKind Kind)> RuntimeRenames = new(StringComparer.Ordinal)
    {
        ["dotnet.process.cpu.count"] = ("dotnet_process_cpus", FamilyKind.ObservedGauge),
        ["dotnet.assembly.count"] = ("dotnet_assemblies_loaded", FamilyKind.ObservedGauge),
        ["dotnet.timer.count"] = ("dotnet_timers", FamilyKind.ObservedGauge),
        ["dotnet.thread_pool.thread.count"] = ("dotnet_thread_pool_threads", FamilyKind.ObservedGauge),
        ["dotnet.thread_pool.queue.length"] = ("dotnet_thread_pool_queue_length", FamilyKind.ObservedGauge),
    };

    /// <summary>The family an instrument feeds, or null for an instrument type we do not know.</summary>
    internal static (string Name, FamilyKind Kind, double[]? Buckets)? FamilyOf(Instrument instrument)
    {
        if (KindOf(instrument) is not { } kind)
        {
            return null;
        }
        string name;
        if (instrument.Meter.Name == "System.Runtime" && RuntimeRenames.TryGetValue(instrument.Name, out var rename))
        {
            (name, kind) = rename;
        }
        else
        {
            name = MetricName(instrument.Name, instrument.Unit, kind);
        }
        double[]? buckets = kind != FamilyKind.Histogram ? null
            : AdvisedBuckets(instrument) ?? (name.EndsWith("_seconds", StringComparison.Ordinal) ? DefaultSecondsBuckets : DefaultBuckets);
        return (name, kind, buckets);
    }

    private static double[]? AdvisedBuckets(Instrument instrument) => instrument switch
    {
        Histogram<double> h when h.Advice?.HistogramBucketBoundaries is { Count: > 0 } b => [.. b],
        Histogram<long> h when h.Advice?.HistogramBucketBoundaries is { Count: > 0 } b => [.. b.Select(x => (double)x)],
        Histogram<int> h when h.Advice?.HistogramBucketBoundaries is { Count: > 0 } b => [.. b.Select(x => (double)x)],
        _ => null,
    };

    private static FamilyKind? KindOf(Instrument instrument)
    {
        var t = instrument.GetType();
        if (!t.IsGenericType)
        {
            return null;
        }
        var g = t.GetGenericTypeDefinition();
        return g == typeof(Counter<>) ? FamilyKind.Counter
            : g == typeof(ObservableCounter<>) ? FamilyKind.ObservedCounter
            : g == typeof(UpDownCounter<>) ? FamilyKind.SummedGauge
            : g == typeof(Gauge<>) ? FamilyKind.Gauge
            : g == typeof(ObservableGauge<>) || g == typeof(ObservableUpDownCounter<>) ? FamilyKind.ObservedGauge
            : g == typeof(Histogram<>) ? FamilyKind.Histogram
            : null;
    }

    /// <summary>
    /// <c>filterservice.decision.duration</c> (unit s, histogram) → <c>filterservice_decision_duration_seconds</c>;
    /// counters get <c>_total</c>; UCUM annotations (<c>{request}</c>) and <c>1</c> add nothing. A gauge may not end
    /// in <c>_count</c> (reserved for histograms, and promtool says so), so <c>filterservice.queue.count</c>
    /// becomes <c>filterservice_queue_current</c>.
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

    /// <summary>A tag name as a label name: <c>cpu.mode</c> → <c>cpu_mode</c>; <c>le</c> and <c>__x</c> are reserved.</summary>
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
}
