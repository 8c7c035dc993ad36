using System.Globalization;
using System.Text.RegularExpressions;

namespace FilterService.Tests.Telemetry;

/// <summary>
/// deploy/prometheus/families.txt lists every family (name, type, label names, histogram bounds) that a live scrape of
/// the default sample carried after the fixture's traffic when the hand-written exporter still served it. A family
/// renamed, retyped, relabelled, rebucketed or lost fails here; a family added by a later feature does not.
/// </summary>
public sealed partial class MetricFamiliesTests(TelemetryFixture fixture) : IClassFixture<TelemetryFixture>
{
    private static string FamiliesFile => Path.Combine(Promtool.DeployDir, "prometheus", "families.txt");

    internal sealed record Family(string Type, SortedSet<string> Labels, List<double> Bounds);

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();

    /// <summary>Families of a text-format scrape that have at least one sample.</summary>
    internal static SortedDictionary<string, Family> FamiliesWithSamples(string scrape)
    {
        var lines = scrape.Split('\n');
        var families = new Dictionary<string, Family>(StringComparer.Ordinal);
        foreach (var p in lines.Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')))
        {
            families[p[2]] = new Family(p[3], new SortedSet<string>(StringComparer.Ordinal), []);
        }
        var withSamples = new SortedDictionary<string, Family>(StringComparer.Ordinal);
        foreach (var line in lines.Where(l => l.Length > 0 && l[0] != '#'))
        {
            var name = line.Split('{', ' ')[0];
            var owner = families.ContainsKey(name) ? name
                : new[] { "_bucket", "_sum", "_count" }.Where(s => name.EndsWith(s, StringComparison.Ordinal))
                    .Select(s => name[..^s.Length]).FirstOrDefault(f => families.TryGetValue(f, out var h) && h.Type == "histogram");
            if (owner is null)
            {
                continue;
            }
            var family = families[owner];
            int brace = line.IndexOf('{'), close = line.LastIndexOf('}');
            if (brace >= 0 && close > brace)
            {
                foreach (Match m in Label().Matches(line[(brace + 1)..close]))
                {
                    if (m.Groups[1].Value != "le")
                    {
                        family.Labels.Add(m.Groups[1].Value);
                    }
                    else if (ParseBound(m.Groups[2].Value) is var b && !family.Bounds.Contains(b))
                    {
                        family.Bounds.Add(b);
                    }
                }
            }
            withSamples[owner] = family;
        }
        return withSamples;
    }

    private static double ParseBound(string s) => s == "+Inf" ? double.PositiveInfinity : double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);

    [Fact]
    public void FamiliesWithSamples_ReadsTypeLabelsAndBounds_AndSkipsFamiliesWithoutSamples()
    {
        var f = FamiliesWithSamples("""
            # HELP a_seconds x
            # TYPE a_seconds histogram
            a_seconds_bucket{kind="http",le="5E-06"} 1
            a_seconds_bucket{kind="http",le="+Inf"} 1
            a_seconds_sum{kind="http"} 1
            a_seconds_count{kind="http"} 1
            # TYPE b_total counter
            # TYPE c gauge
            c{x="a\"}",y="b"} 2
            """);
        Assert.Equal(["a_seconds", "c"], f.Keys);
        Assert.Equal(["kind"], f["a_seconds"].Labels);
        Assert.Equal([0.000005, double.PositiveInfinity], f["a_seconds"].Bounds);
        Assert.Equal(["x", "y"], f["c"].Labels);
    }

    [Fact]
    public async Task LiveScrape_HasEveryRecordedFamily_WithItsTypeLabelsAndBuckets()
    {
        await fixture.DriveAllTrafficAsync();
        var now = FamiliesWithSamples(await fixture.ScrapeAsync());
        var expected = File.ReadAllLines(FamiliesFile).Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.True(expected.Count >= 50, $"only {expected.Count} families in {FamiliesFile}");
        var problems = new List<string>();
        foreach (var e in expected)
        {
            var (name, type, labels) = (e[0], e[1], e[2] == "-" ? "" : e[2]);
            if (!now.TryGetValue(name, out var family))
            {
                problems.Add($"{name}: missing");
                continue;
            }
            if (family.Type != type)
            {
                problems.Add($"{name}: type {family.Type}, was {type}");
            }
            if (string.Join(',', family.Labels) != labels)
            {
                problems.Add($"{name}: labels {string.Join(',', family.Labels)}, were {labels}");
            }
            if (e.Length > 3 && !e[3].Split(',').Select(ParseBound).SequenceEqual(family.Bounds))
            {
                problems.Add($"{name}: buckets {string.Join(',', family.Bounds)}, were {e[3]}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems) + "\n\nthis scrape's families:\n"
            + string.Join("\n", now.Select(p => $"{p.Key} {p.Value.Type} {string.Join(',', p.Value.Labels)}")));
    }
}
