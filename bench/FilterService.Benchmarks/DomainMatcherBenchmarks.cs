using System.Collections.Frozen;
using BenchmarkDotNet.Attributes;
using PolicyModel.Matching;

namespace FilterService.Benchmarks;

/// <summary>
/// Per-lookup cost of the three implementations over the 100,000 labelled queries (70% unlisted, 20% subdomain
/// of a listed domain, 10% exactly listed) against the 1,437,538-domain list. Mean and allocation are per lookup.
/// </summary>
[MemoryDiagnoser]
public class DomainMatcherBenchmarks
{
    private const int Lookups = BenchData.QueryCount;

    private string[] _queries = [];
    private HashSet<string> _hashSet = null!;
    private FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _frozen;
    private DomainMatcher _matcher = null!;

    [GlobalSetup]
    public void Setup()
    {
        string[] domains = BenchData.Domains();
        (_queries, string?[] expected) = BenchData.Queries();
        _hashSet = Implementations.BuildHashSet(domains);
        _frozen = Implementations.BuildFrozenSet(domains).GetAlternateLookup<ReadOnlySpan<char>>();
        _matcher = Implementations.BuildMatcher(domains);

        Implementations.Verify(nameof(HashSetSubstring), _queries, expected, q => Implementations.ListedHashSet(_hashSet, q));
        Implementations.Verify(nameof(FrozenSetSpan), _queries, expected, q => Implementations.ListedFrozen(_frozen, q));
        Implementations.Verify(nameof(DomainMatcher), _queries, expected, q => _matcher.Match(q, "") != 0);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Lookups)]
    public int HashSetSubstring()
    {
        int listed = 0;
        foreach (string q in _queries)
        {
            if (Implementations.ListedHashSet(_hashSet, q))
                listed++;
        }
        return listed;
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int FrozenSetSpan()
    {
        int listed = 0;
        foreach (string q in _queries)
        {
            if (Implementations.ListedFrozen(_frozen, q))
                listed++;
        }
        return listed;
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int DomainMatcher()
    {
        int listed = 0;
        foreach (string q in _queries)
        {
            if (_matcher.Match(q, "") != 0)
                listed++;
        }
        return listed;
    }
}
