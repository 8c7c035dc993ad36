using System.Diagnostics.Metrics;
using System.Text;
using FilterService.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace FilterService.Tests.Telemetry;

/// <summary>The text exposition format 0.0.4, from instruments on a private meter factory.</summary>
public sealed class PrometheusExporterTests : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly IMeterFactory _factory;
    private readonly PrometheusExporter _exporter;
    private readonly Meter _meter;

    public PrometheusExporterTests()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        _factory = _services.GetRequiredService<IMeterFactory>();
        _exporter = new PrometheusExporter(_factory);
        _meter = _factory.Create("FilterService.Test");
    }

    public void Dispose()
    {
        _exporter.Dispose();
        _services.Dispose();
    }

    private string[] FamilyLines(string family) =>
        _exporter.Scrape().Split('\n').Where(l => l.Contains(family, StringComparison.Ordinal) && !l.StartsWith("dotnet", StringComparison.Ordinal)).ToArray();

    [Fact]
    public void Counter_DottedNameWithAnnotationUnit_GetsUnderscoresAndTotalWithHelpAndTypeOnce()
    {
        var c = _meter.CreateCounter<long>("filterservice.test.requests", "{request}", "Requests seen.");
        c.Add(2, new KeyValuePair<string, object?>("action", "block"));
        c.Add(3, new KeyValuePair<string, object?>("action", "block"));
        c.Add(1, new KeyValuePair<string, object?>("action", "allow"));
        Assert.Equal(
            [
                "# HELP filterservice_test_requests_total Requests seen.",
                "# TYPE filterservice_test_requests_total counter",
                "filterservice_test_requests_total{action=\"allow\"} 1",
                "filterservice_test_requests_total{action=\"block\"} 5",
            ],
            FamilyLines("filterservice_test_requests"));
    }

    [Fact]
    public void SeriesLookup_DistinguishesTagNamesAndEveryPosition_AndMergesOrderAndBoxing()
    {
        // Counters find their series by the recorded tags (PrometheusExporter.TagKey); this pins what that key must
        // tell apart (a tag's name, a value in the last positions it holds) and what it may not (order, a new box or string).
        var c = _meter.CreateCounter<long>("filterservice.test.keyed");
        KeyValuePair<string, object?> T(string name, object value) => new(name, value);
        c.Add(1, T("a", 1), T("b", "x"));
        c.Add(1, T("b", new string('x', 1)), T("a", 1));
        c.Add(1, T("a", 1), T("c", "x"));
        c.Add(1, T("a", 1), T("b", "x"), T("c", 3), T("d", 4));
        c.Add(1, T("a", 1), T("b", "x"), T("c", 3), T("d", 5));
        c.Add(1, T("a", 1), T("b", "x"), T("c", 3), T("d", 5), T("e", 6));
        c.Add(1, T("a", 1), T("b", "x"), T("c", 3), T("d", 5), T("e", 7));
        c.Add(1, T("a", 1), T("b", "x"), T("c", 3), T("d", 5), T("e", 7), T("f", 8));
        c.Add(1, T("a", 1), T("b", "x"), T("c", 3), T("d", 5), T("e", 7), T("f", 9));
        c.Add(1, T("a", 1), T("b", "x"), T("c", 3), T("d", 5), T("e", 7), T("f", 9), T("g", 10)); // seven tags: the rendered-label path
        Assert.Equal(
            [
                "filterservice_test_keyed_total{a=\"1\",b=\"x\"} 2",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"4\"} 1",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"5\"} 1",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"5\",e=\"6\"} 1",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"5\",e=\"7\"} 1",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"5\",e=\"7\",f=\"8\"} 1",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"5\",e=\"7\",f=\"9\"} 1",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"5\",e=\"7\",f=\"9\",g=\"10\"} 1",
                "filterservice_test_keyed_total{a=\"1\",c=\"x\"} 1",
            ],
            FamilyLines("filterservice_test_keyed").Where(l => !l.StartsWith('#')));
    }

    [Fact]
    public void Histogram_Seconds_HasCumulativeBucketsInfSumAndCount()
    {
        var h = _meter.CreateHistogram("filterservice.test.duration", "s", "How long.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        h.Record(0.05, new KeyValuePair<string, object?>("kind", "http"));
        h.Record(0.5, new KeyValuePair<string, object?>("kind", "http"));
        h.Record(5, new KeyValuePair<string, object?>("kind", "http"));
        Assert.Equal(
            [
                "# HELP filterservice_test_duration_seconds How long.",
                "# TYPE filterservice_test_duration_seconds histogram",
                "filterservice_test_duration_seconds_bucket{kind=\"http\",le=\"0.1\"} 1",
                "filterservice_test_duration_seconds_bucket{kind=\"http\",le=\"1\"} 2",
                "filterservice_test_duration_seconds_bucket{kind=\"http\",le=\"+Inf\"} 3",
                "filterservice_test_duration_seconds_sum{kind=\"http\"} 5.55",
                "filterservice_test_duration_seconds_count{kind=\"http\"} 3",
            ],
            FamilyLines("filterservice_test_duration"));
    }

    [Fact]
    public void LabelValues_WithQuoteBackslashNewline_AreEscaped_AndHelpIsEscaped()
    {
        var c = _meter.CreateCounter<long>("filterservice.test.escaped", null, "Line one\nback\\slash");
        c.Add(1, new KeyValuePair<string, object?>("list", "a\"b\\c\nd"), new KeyValuePair<string, object?>("cpu.mode", "user"));
        var lines = FamilyLines("filterservice_test_escaped");
        Assert.Equal("# HELP filterservice_test_escaped_total Line one\\nback\\\\slash", lines[0]);
        Assert.Equal("filterservice_test_escaped_total{cpu_mode=\"user\",list=\"a\\\"b\\\\c\\nd\"} 1", lines[2]);
    }

    [Fact]
    public void ObservableGauge_IsReadOnScrape_AndALabelSetNoLongerReportedDisappears()
    {
        var version = "v1";
        _meter.CreateObservableGauge("filterservice.test.info", () => new Measurement<long>(1, new KeyValuePair<string, object?>("version", version)), "{policy}", "Info.");
        Assert.Contains("filterservice_test_info{version=\"v1\"} 1", FamilyLines("filterservice_test_info"));
        version = "v2";
        var lines = FamilyLines("filterservice_test_info");
        Assert.Contains("filterservice_test_info{version=\"v2\"} 1", lines);
        Assert.DoesNotContain(lines, l => l.Contains("v1"));
        Assert.Contains("# TYPE filterservice_test_info gauge", lines);
    }

    [Fact]
    public void UpDownCounter_IsAGaugeOfTheRunningSum_BytesUnitGetsSuffix()
    {
        var u = _meter.CreateUpDownCounter<long>("filterservice.test.buffered", "By", "Buffered.");
        u.Add(10);
        u.Add(-4);
        Assert.Equal(["# HELP filterservice_test_buffered_bytes Buffered.", "# TYPE filterservice_test_buffered_bytes gauge", "filterservice_test_buffered_bytes 6"],
            FamilyLines("filterservice_test_buffered"));
    }

    [Fact]
    public void MeterOfAnotherFactory_IsNotExported()
    {
        using var other = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var c = other.GetRequiredService<IMeterFactory>().Create("FilterService.Test").CreateCounter<long>("filterservice.test.elsewhere");
        c.Add(1);
        Assert.DoesNotContain("filterservice_test_elsewhere", _exporter.Scrape());
    }

    [Fact]
    public void RuntimeMeter_GivesProcessCpuMemoryGcAndThreadPool()
    {
        GC.Collect();
        var text = _exporter.Scrape();
        foreach (var family in new[] { "dotnet_process_cpu_time_seconds_total", "dotnet_process_memory_working_set_bytes", "dotnet_gc_collections_total",
            "dotnet_thread_pool_threads", "dotnet_thread_pool_queue_length" })
        {
            Assert.Contains($"# TYPE {family} ", text);
        }
    }

    [Theory]
    [InlineData("filterservice.requests", "{request}", PrometheusExporter.FamilyKind.Counter, "filterservice_requests_total")]
    [InlineData("filterservice.transferred", "By", PrometheusExporter.FamilyKind.Counter, "filterservice_transferred_bytes_total")]
    [InlineData("dotnet.gc.pause.time", "s", PrometheusExporter.FamilyKind.Counter, "dotnet_gc_pause_time_seconds_total")]
    [InlineData("filterservice.list.age", "s", PrometheusExporter.FamilyKind.Gauge, "filterservice_list_age_seconds")]
    [InlineData("filterservice.jobs.total", null, PrometheusExporter.FamilyKind.Counter, "filterservice_jobs_total")]
    [InlineData("filterservice.queue.count", "{item}", PrometheusExporter.FamilyKind.Gauge, "filterservice_queue_current")]
    [InlineData("Odd-Name.x", "1", PrometheusExporter.FamilyKind.Gauge, "odd_name_x")]
    internal void MetricName_FollowsPrometheusConventions(string instrument, string? unit, PrometheusExporter.FamilyKind kind, string expected) =>
        Assert.Equal(expected, PrometheusExporter.MetricName(instrument, unit, kind));
}
