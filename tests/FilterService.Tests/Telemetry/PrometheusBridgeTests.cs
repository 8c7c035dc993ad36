using System.Diagnostics.Metrics;
using FilterService.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace FilterService.Tests.Telemetry;

/// <summary>Instruments on a private meter factory, as prometheus-net exposes them through the bridge.</summary>
public sealed class PrometheusBridgeTests : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly IMeterFactory _factory;
    private readonly PrometheusBridge _bridge;
    private readonly Meter _meter;

    public PrometheusBridgeTests()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        _factory = _services.GetRequiredService<IMeterFactory>();
        _bridge = new PrometheusBridge(_factory);
        _meter = _factory.Create("FilterService.Test");
    }

    public void Dispose()
    {
        _bridge.Dispose();
        _services.Dispose();
    }

    private string Scrape() => _bridge.ScrapeTextAsync().GetAwaiter().GetResult();

    /// <summary>The family's lines: HELP and TYPE first, then its samples sorted (prometheus-net keeps creation order).</summary>
    private string[] FamilyLines(string family, string? text = null)
    {
        var lines = (text ?? Scrape()).Split('\n').Where(l => l.Contains(family, StringComparison.Ordinal) && !l.StartsWith("dotnet", StringComparison.Ordinal)).ToList();
        return [.. lines.Where(l => l.StartsWith('#')), .. lines.Where(l => !l.StartsWith('#')).Order(StringComparer.Ordinal)];
    }

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
        // Counters find their series by the recorded tags (PrometheusBridge.TagKey); this pins what that key must tell
        // apart (a tag's name, a value in the last positions it holds) and what it may not (order, a new box or string).
        // Different tag-name sets are different prometheus-net metrics of one family.
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
        c.Add(1, T("a", 1), T("b", "x"), T("c", 3), T("d", 5), T("e", 7), T("f", 9), T("g", 10)); // seven tags: the uncached path
        c.Add(1, T("a", 1), T("b", "x"), T("c", 3), T("d", 5), T("e", 7), T("f", 9), T("g", 10));
        // The key hashes a string by its length and three of its characters: values that hash alike stay apart.
        c.Add(1, T("a", 2), T("b", "abcd"));
        c.Add(1, T("a", 2), T("b", "axcd"));
        c.Add(1, T("a", 2), T("b", "axcd"));
        var lines = FamilyLines("filterservice_test_keyed");
        Assert.Equal(new[]
            {
                "filterservice_test_keyed_total{a=\"1\",b=\"x\"} 2",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"4\"} 1",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"5\"} 1",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"5\",e=\"6\"} 1",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"5\",e=\"7\"} 1",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"5\",e=\"7\",f=\"8\"} 1",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"5\",e=\"7\",f=\"9\"} 1",
                "filterservice_test_keyed_total{a=\"1\",b=\"x\",c=\"3\",d=\"5\",e=\"7\",f=\"9\",g=\"10\"} 2",
                "filterservice_test_keyed_total{a=\"1\",c=\"x\"} 1",
                "filterservice_test_keyed_total{a=\"2\",b=\"abcd\"} 1",
                "filterservice_test_keyed_total{a=\"2\",b=\"axcd\"} 2",
            }.Order(StringComparer.Ordinal),
            lines.Where(l => !l.StartsWith('#')).Order(StringComparer.Ordinal));
        Assert.Single(lines, l => l.StartsWith("# TYPE ", StringComparison.Ordinal));
    }

    [Fact]
    public void Histogram_Seconds_HasCumulativeBucketsInfSumAndCount()
    {
        var h = _meter.CreateHistogram("filterservice.test.duration", "s", "How long.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        h.Record(0.05, new KeyValuePair<string, object?>("kind", "http"));
        h.Record(0.5, new KeyValuePair<string, object?>("kind", "http"));
        h.Record(5, new KeyValuePair<string, object?>("kind", "http"));
        var lines = Scrape().Split('\n');
        int at = Array.IndexOf(lines, "# HELP filterservice_test_duration_seconds How long.");
        Assert.Equal(
            [
                "# HELP filterservice_test_duration_seconds How long.",
                "# TYPE filterservice_test_duration_seconds histogram",
                "filterservice_test_duration_seconds_sum{kind=\"http\"} 5.55",
                "filterservice_test_duration_seconds_count{kind=\"http\"} 3",
                "filterservice_test_duration_seconds_bucket{kind=\"http\",le=\"0.1\"} 1",
                "filterservice_test_duration_seconds_bucket{kind=\"http\",le=\"1\"} 2",
                "filterservice_test_duration_seconds_bucket{kind=\"http\",le=\"+Inf\"} 3",
            ],
            lines[at..(at + 7)]);
    }

    [Fact]
    public void LabelValues_WithQuoteBackslashNewline_AreEscaped_AndHelpIsEscaped()
    {
        // prometheus-net escapes label values but writes HELP as given (PrometheusBridge.Help escapes it).
        var c = _meter.CreateCounter<long>("filterservice.test.escaped", null, "Line one\nback\\slash \"quoted\"");
        c.Add(1, new KeyValuePair<string, object?>("list", "a\"b\\c\nd"), new KeyValuePair<string, object?>("cpu.mode", "user"));
        var lines = FamilyLines("filterservice_test_escaped");
        Assert.Equal("# HELP filterservice_test_escaped_total Line one\\nback\\\\slash 'quoted'", lines[0]);
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
        version = "v1";
        Assert.Equal(["filterservice_test_info{version=\"v1\"} 1"], FamilyLines("filterservice_test_info").Where(l => !l.StartsWith('#')));
    }

    [Fact]
    public void ObservableInstruments_SeriesDropWhenNotReported_AndComeBackFromTheirValue_UnlabelledToo()
    {
        string[] lists = ["a.txt", "b.txt"];
        bool up = true;
        long total = 5;
        _meter.CreateObservableGauge("filterservice.test.entries",
            () => lists.Select(l => new Measurement<long>(l.Length, new KeyValuePair<string, object?>("list", l))), "{entry}", "Entries.");
        _meter.CreateObservableGauge("filterservice.test.up", () => up ? [new Measurement<long>(1)] : Array.Empty<Measurement<long>>(), "1", "Up.");
        _meter.CreateObservableCounter("filterservice.test.errors", () => up ? [new Measurement<long>(total)] : Array.Empty<Measurement<long>>(), "{error}", "Errors.");
        var text = Scrape();
        Assert.Contains("filterservice_test_entries{list=\"a.txt\"} 5", text);
        Assert.Contains("filterservice_test_entries{list=\"b.txt\"} 5", text);
        Assert.Contains("filterservice_test_up 1", text);
        Assert.Contains("filterservice_test_errors_total 5", text);

        lists = ["b.txt"];
        up = false;
        text = Scrape();
        Assert.DoesNotContain("a.txt", text);
        Assert.Contains("filterservice_test_entries{list=\"b.txt\"} 5", text);
        Assert.DoesNotContain("\nfilterservice_test_up ", text);
        Assert.DoesNotContain("\nfilterservice_test_errors_total ", text);

        lists = ["a.txt", "b.txt"];
        up = true;
        total = 7;
        text = Scrape();
        Assert.Contains("filterservice_test_entries{list=\"a.txt\"} 5", text);
        Assert.Contains("filterservice_test_up 1", text);
        Assert.Contains("filterservice_test_errors_total 7", text);
    }

    [Fact]
    public void ObservableCallbackThatThrows_LeavesItsSeriesOut_TheScrapeStillServesTheRest()
    {
        bool fail = false;
        _meter.CreateObservableGauge("filterservice.test.fragile", () => fail ? throw new InvalidOperationException("boom") : 3L, "1", "Fragile.");
        _meter.CreateObservableGauge("filterservice.test.sturdy", () => 4L, "1", "Sturdy.");
        Assert.Contains("\nfilterservice_test_fragile 3", Scrape());
        fail = true;
        var text = Scrape();
        Assert.DoesNotContain("\nfilterservice_test_fragile ", text);
        Assert.Contains("\nfilterservice_test_sturdy 4", text);
        fail = false;
        Assert.Contains("\nfilterservice_test_fragile 3", Scrape());
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
    public void Gauge_KeepsItsLastValueAcrossScrapes()
    {
        var g = _meter.CreateGauge<double>("filterservice.test.level", "1", "Level.");
        g.Record(0.5, new KeyValuePair<string, object?>("zone", "a"));
        Assert.Contains("filterservice_test_level{zone=\"a\"} 0.5", Scrape());
        Assert.Contains("filterservice_test_level{zone=\"a\"} 0.5", Scrape());
    }

    [Fact]
    public void NegativeCounterIncrement_IsDropped_AndTheInstrumentKeepsCounting()
    {
        var c = _meter.CreateCounter<long>("filterservice.test.odd");
        c.Add(2);
        c.Add(-1);
        c.Add(3);
        Assert.Contains("filterservice_test_odd_total 5", Scrape());
    }

    [Fact]
    public void NoSampleBeforeTheFirstMeasurement()
    {
        var c = _meter.CreateCounter<long>("filterservice.test.later");
        Assert.DoesNotContain("\nfilterservice_test_later_total ", Scrape());
        c.Add(1);
        Assert.Contains("filterservice_test_later_total 1", Scrape());
    }

    [Fact]
    public void InstrumentAddedLaterToTheServiceMeter_IsExportedWithoutRegistration()
    {
        // FilterMetrics' meter, from the same factory (the factory hands back the same Meter): a feature that adds an
        // instrument there after the bridge started needs nothing else to be scraped.
        var first = _factory.Create(FilterMetrics.MeterName).CreateCounter<long>("filterservice.test.first", "{request}", "First.");
        first.Add(1);
        Assert.Contains("filterservice_test_first_total 1", Scrape());
        var meter = _factory.Create(FilterMetrics.MeterName);
        var fetches = meter.CreateCounter<long>("filterservice.test.feed.fetches", "{fetch}", "Feed fetches, by outcome.");
        meter.CreateObservableGauge("filterservice.test.feed.age", () => 12.5, "s", "Feed age.");
        fetches.Add(2, new KeyValuePair<string, object?>("outcome", "success"));
        var text = Scrape();
        Assert.Contains("filterservice_test_feed_fetches_total{outcome=\"success\"} 2", text);
        Assert.Contains("filterservice_test_feed_age_seconds 12.5", text);
    }

    [Fact]
    public void MeterOfAnotherFactory_IsNotExported()
    {
        using var other = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var c = other.GetRequiredService<IMeterFactory>().Create("FilterService.Test").CreateCounter<long>("filterservice.test.elsewhere");
        c.Add(1);
        Assert.DoesNotContain("filterservice_test_elsewhere", Scrape());
    }

    [Fact]
    public void Registry_HoldsNoPrometheusNetDefaultCollectors()
    {
        var text = Scrape();
        foreach (var family in new[] { "process_cpu_seconds_total", "dotnet_collection_count_total", "prometheus_net_", "process_open_handles" })
        {
            Assert.DoesNotContain(family, text);
        }
    }

    [Fact]
    public void RuntimeMeter_GivesProcessCpuMemoryGcAndThreadPool()
    {
        GC.Collect();
        var text = Scrape();
        foreach (var family in new[] { "dotnet_process_cpu_time_seconds_total", "dotnet_process_memory_working_set_bytes", "dotnet_gc_collections_total",
            "dotnet_thread_pool_threads", "dotnet_thread_pool_queue_length" })
        {
            Assert.Contains($"# TYPE {family} ", text);
        }
    }

    [Theory]
    [InlineData("filterservice.requests", "{request}", PrometheusNames.FamilyKind.Counter, "filterservice_requests_total")]
    [InlineData("filterservice.transferred", "By", PrometheusNames.FamilyKind.Counter, "filterservice_transferred_bytes_total")]
    [InlineData("dotnet.gc.pause.time", "s", PrometheusNames.FamilyKind.ObservedCounter, "dotnet_gc_pause_time_seconds_total")]
    [InlineData("filterservice.list.age", "s", PrometheusNames.FamilyKind.ObservedGauge, "filterservice_list_age_seconds")]
    [InlineData("filterservice.jobs.total", null, PrometheusNames.FamilyKind.Counter, "filterservice_jobs_total")]
    [InlineData("filterservice.queue.count", "{item}", PrometheusNames.FamilyKind.Gauge, "filterservice_queue_current")]
    [InlineData("Odd-Name.x", "1", PrometheusNames.FamilyKind.Gauge, "odd_name_x")]
    internal void MetricName_FollowsPrometheusConventions(string instrument, string? unit, PrometheusNames.FamilyKind kind, string expected) =>
        Assert.Equal(expected, PrometheusNames.MetricName(instrument, unit, kind));
}
