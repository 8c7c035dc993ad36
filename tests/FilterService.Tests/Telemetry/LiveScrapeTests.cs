using System.Text.Json;
using System.Text.RegularExpressions;

namespace FilterService.Tests.Telemetry;

/// <summary>A live scrape of the in-process service after real traffic: valid, complete and anonymous.</summary>
public sealed partial class LiveScrapeTests(TelemetryFixture fixture) : IClassFixture<TelemetryFixture>
{
    [Fact]
    public async Task Scrape_AfterTraffic_PassesPromtoolCheckMetrics()
    {
        await fixture.DriveAllTrafficAsync();
        var scrape = await fixture.ScrapeAsync();
        var result = await Promtool.RunAsync(scrape, Path.GetTempPath(), "check", "metrics");
        Assert.True(result.ExitCode == 0 && result.Stdout.Length == 0 && result.Stderr.Length == 0,
            $"promtool check metrics: exit {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
    }

    [Fact]
    public async Task Scrape_AskedForOpenMetricsAsPrometheusAsks_AnswersTheTextFormat()
    {
        // Prometheus 2.x asks for OpenMetrics first; prometheus-net's OpenMetrics would spell integer bucket bounds
        // le="1.0" where the text format (and the exporter before it) wrote le="1": every such bucket a new series.
        await fixture.DriveAllTrafficAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{fixture.Service.AdminPort}/metrics");
        request.Headers.TryAddWithoutValidation("Accept",
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
        using var response = await http.SendAsync(request);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("# EOF", text);
        Assert.Contains("filterservice_request_duration_seconds_bucket{kind=\"http\",le=\"1\"} ", text);
    }

    [Fact]
    public async Task Scrape_AfterTraffic_NamesNoUserAddressOrDomain()
    {
        await fixture.DriveAllTrafficAsync();
        var scrape = await fixture.ScrapeAsync();
        foreach (var secret in new[] { "pupil1", "staff1", "facebook", "blocked-terror", "allowed.test", "secure.test", "dead.test", "127.0.0.1", "10.40", "http://" })
        {
            Assert.DoesNotContain(secret, scrape, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Scrape_AfterTraffic_CountsBlocksStatutoryHitsTunnelsAndRefusals()
    {
        await fixture.DriveAllTrafficAsync();
        var lines = (await fixture.ScrapeAsync()).Split('\n');
        Assert.Contains("filterservice_blocks_total{category=\"social\",role=\"pupil\",rule=\"pupils-social\"} 1", lines);
        Assert.Contains(lines, l => l.StartsWith("filterservice_statutory_hits_total{category=\"terrorism\"} 1", StringComparison.Ordinal));
        Assert.Contains("filterservice_statutory_loaded{category=\"terrorism\"} 1", lines);
        Assert.Contains("filterservice_hostile_requests_total{kind=\"not-a-proxy-request\"} 1", lines);
        Assert.Contains("filterservice_refused_clients_total{reason=\"auth-throttled\"} 1", lines);
        Assert.Contains("filterservice_proxy_auth_failures_total{reason=\"bad_credentials\"} 2", lines);
        Assert.Contains("filterservice_upstream_errors_total{reason=\"upstream-failed\"} 1", lines);
        Assert.Contains("filterservice_tunnels_active 0", lines);
        Assert.Contains(lines, l => l.StartsWith("filterservice_requests_total{action=\"allow\",category=\"none\",kind=\"connect\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("filterservice_policy_info{version=\"", StringComparison.Ordinal) && l.EndsWith("} 1", StringComparison.Ordinal));
        Assert.Contains("filterservice_policy_reloads_total{outcome=\"success\",trigger=\"start\"} 1", lines);
        Assert.Contains(lines, l => l.StartsWith("filterservice_decision_duration_seconds_count ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("filterservice_upstream_duration_seconds_count{kind=\"connect\"}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("filterservice_list_age_seconds{category=\"terrorism\",list=\"lists/terrorism.sha256\",statutory=\"true\"} ", StringComparison.Ordinal));
    }

    /// <summary>Families the dashboard and alert rules may query that this branch's service does not publish.</summary>
    private static readonly HashSet<string> NotFromThisService = new(StringComparer.Ordinal)
    {
        "up", // written by Prometheus itself for every scrape
    };

    private static readonly HashSet<string> PromQlWords = new(StringComparer.Ordinal)
    {
        "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
        "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool",
        "rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "time", "sort", "sort_desc", "abs",
        "clamp_min", "clamp_max", "label_replace", "label_join", "vector", "scalar", "absent", "changes", "resets",
        "max_over_time", "min_over_time", "avg_over_time", "sum_over_time", "last_over_time", "round", "ceil", "floor",
        "timestamp", "label_values", "inf", "nan",
    };

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""")]
    private static partial Regex QuotedString();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex RangeOrSubquery();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Matchers();

    [GeneratedRegex(@"(?<![\w$.:])([a-zA-Z_][a-zA-Z0-9_:]*)")]
    private static partial Regex Identifier();

    /// <summary>Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or variables.</summary>
    internal static IEnumerable<string> MetricNames(string expr)
    {
        var e = QuotedString().Replace(expr, "\"\"");
        e = RangeOrSubquery().Replace(e, " ");
        e = Matchers().Replace(e, " ");
        // "by (a, b)" / "without (...)" / "on (...)" lists are label names, not metrics.
        e = Regex.Replace(e, @"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ");
        foreach (Match m in Identifier().Matches(e))
        {
            var name = m.Groups[1].Value;
            var rest = e[(m.Index + m.Length)..].TrimStart();
            if (PromQlWords.Contains(name) || rest.StartsWith('(') || name.StartsWith("__", StringComparison.Ordinal))
            {
                continue; // a function call or keyword
            }
            yield return name;
        }
    }

    private static IEnumerable<string> DashboardExpressions()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Promtool.DeployDir, "grafana", "filterservice.json")));
        var exprs = new List<string>();
        void Walk(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in e.EnumerateObject())
                {
                    if (p.Name == "expr" && p.Value.ValueKind == JsonValueKind.String)
                    {
                        exprs.Add(p.Value.GetString()!);
                    }
                    else
                    {
                        Walk(p.Value);
                    }
                }
            }
            else if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var i in e.EnumerateArray())
                {
                    Walk(i);
                }
            }
        }
        Walk(doc.RootElement);
        return exprs;
    }

    [Fact]
    public void MetricNames_OfAnExpression_SkipFunctionsLabelsAndRanges()
    {
        Assert.Equal(["filterservice_decision_duration_seconds_bucket"],
            MetricNames("histogram_quantile(0.5, sum by (le, kind) (rate(filterservice_decision_duration_seconds_bucket{instance=~\"$instance\", x=\"a b\"}[$__rate_interval])))"));
        Assert.Equal(["up", "filterservice_policy_loaded_timestamp_seconds"],
            MetricNames("min(up{job=~\"$job\"}) + time() - max(filterservice_policy_loaded_timestamp_seconds)"));
    }

    [Fact]
    public async Task Dashboard_EveryQueriedMetric_ExistsInALiveScrape()
    {
        await fixture.DriveAllTrafficAsync();
        var scrape = await fixture.ScrapeAsync();
        var families = scrape.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal))
            .Select(l => l.Split(' ')).ToDictionary(p => p[2], p => p[3]);
        var samples = scrape.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split('{', ' ')[0]).ToHashSet(StringComparer.Ordinal);
        var exprs = DashboardExpressions().ToList();
        Assert.True(exprs.Count >= 30, $"only {exprs.Count} expressions found in the dashboard");
        var missing = new List<string>();
        foreach (var expr in exprs)
        {
            foreach (var name in MetricNames(expr))
            {
                if (NotFromThisService.Contains(name))
                {
                    continue;
                }
                // A sample line must exist (a family with no series is no data on a panel).
                if (!samples.Contains(name))
                {
                    missing.Add($"{name} (in {expr})");
                }
            }
        }
        Assert.True(missing.Count == 0, "dashboard queries metrics the live scrape lacks:\n" + string.Join("\n", missing)
            + "\nfamilies: " + string.Join(", ", families.Keys));
    }
}
