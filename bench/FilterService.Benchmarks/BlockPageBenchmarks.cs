using System.Net;
using BenchmarkDotNet.Attributes;
using FilterService.Proxy;
using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace FilterService.Benchmarks;

/// <summary>
/// The block page as the lean HTTP stage renders it for every blocked request (<c>BlockPage.RenderUtf8</c>), on the
/// default sample policy: a block by a rule and a statutory block.
/// <c>dotnet run -c Release --project bench/FilterService.Benchmarks -- --filter '*BlockPage*' --job short</c>
/// </summary>
[MemoryDiagnoser]
public class BlockPageBenchmarks
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 10, 15, 30, 250, TimeSpan.Zero);
    private PolicySnapshot _policy = null!;
    private Decision _rule = null!, _statutory = null!;

    [GlobalSetup]
    public void Setup()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "FilterService.sln")))
        {
            root = root.Parent ?? throw new DirectoryNotFoundException("the repository root (FilterService.sln)");
        }
        _policy = PolicyLoader.Load(Path.Combine(root.FullName, "deploy", "samples", "default")).Snapshot
            ?? throw new InvalidOperationException("the default sample policy did not load");
        FilterRequest Request(string host) => new(IPAddress.Parse("10.40.1.2"), null, "GET", "http", host, 80, "/index.html", At); // a pupil
        _rule = _policy.Decide(Request("www.facebook.com"));
        _statutory = _policy.Decide(Request("blocked-terror.test"));
        if (!_rule.IsBlocked || !_statutory.IsBlocked)
        {
            throw new InvalidOperationException($"not blocked: {_rule.Rule}, {_statutory.Rule}");
        }
    }

    [Benchmark]
    public int ByRule() => BlockPage.RenderUtf8(_policy, _rule, "http://www.facebook.com/index.html", IPAddress.Loopback, At, "7F3A09C2").Length;

    [Benchmark]
    public int Statutory() =>
        BlockPage.RenderUtf8(_policy, _statutory, "http://blocked-terror.test/index.html", IPAddress.Loopback, At, "7F3A09C3").Length;
}
