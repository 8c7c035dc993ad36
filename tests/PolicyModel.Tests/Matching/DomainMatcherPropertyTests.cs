using FsCheck;
using FsCheck.Fluent;
using PolicyModel.Matching;

namespace PolicyModel.Tests.Matching;

/// <summary>The matcher against a naive reference (every entry tested against every query) on random lists.</summary>
public sealed class DomainMatcherPropertyTests
{
    // A tiny alphabet, so that equal names and subdomain relations are common.
    private static readonly string[] Labels = ["a", "b", "ab", "www", "x-y", "1", "c"];
    private static readonly string[] Paths = ["", "/", "/p", "/p/", "/p/q", "/P/Q?x=1", "/q/p/", "/pq", "/p/q#f"];
    private static readonly string[] EntryPaths = ["/", "/p", "/p/", "/P/q", "/q", "/pq"];

    private static readonly Gen<string> Host =
        Gen.Choose(1, 4).SelectMany(n => Gen.Elements(Labels).ArrayOf(n)).Select(ls => string.Join('.', ls));

    private static readonly Gen<string> Ip = Gen.Elements("192.0.2.1", "192.0.2.2", "1.1.1.1", "2001:db8::1");

    private static readonly Gen<(int List, EntryKind Kind, string Value)> Entry =
        from list in Gen.Choose(0, 3)
        from kind in Gen.Elements(EntryKind.Subtree, EntryKind.Exact, EntryKind.UrlPrefix, EntryKind.Hash)
        from host in Gen.Frequency((9, Host), (1, Ip))
        from path in Gen.Elements(EntryPaths)
        select (list, kind, kind switch
        {
            EntryKind.UrlPrefix => host + path,
            EntryKind.Hash => EntryText.HashOf(EntryText.HashInput(host + path)!),
            _ => host,
        });

    private static readonly Gen<Case> Cases =
        from categories in Gen.Choose(0, 5).ArrayOf(4)
        from entries in Entry.ListOf()
        from queries in Gen.Zip(Gen.Frequency((9, Host), (1, Ip)), Gen.Elements(Paths)).ArrayOf(40)
        select new Case(categories, entries.ToArray(), queries);

    public sealed record Case(int[] Categories, (int List, EntryKind Kind, string Value)[] Entries, (string Host, string Path)[] Queries)
    {
        public override string ToString() =>
            $"categories [{string.Join(',', Categories)}]; entries [{string.Join(", ", Entries.Select(e => $"{e.List}:{e.Kind}:{e.Value}"))}]";
    }

    [Fact]
    public void Match_RandomListsAndHosts_AgreesWithNaiveReference()
    {
        var property = Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var matcher = BuildMatcher(c);
            foreach (var (host, path) in c.Queries)
            {
                ulong expected = Reference(c, host, path);
                ulong actual = matcher.Match(host, path);
                if (expected != actual)
                    throw new Xunit.Sdk.XunitException($"{host}{path}: expected {expected:x}, matcher {actual:x}");
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(400), property);
    }

    [Fact]
    public void Explain_RandomListsAndHosts_FindsAHitExactlyForMatchedCategories()
    {
        var property = Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var matcher = BuildMatcher(c);
            foreach (var (host, path) in c.Queries)
            {
                ulong mask = matcher.Match(host, path);
                for (int category = 0; category <= 5; category++)
                {
                    var hit = matcher.Explain(host, path, category);
                    bool listed = (mask & (1UL << category)) != 0;
                    if (listed != hit is not null || (hit is not null && c.Categories[hit.ListId] != category))
                        throw new Xunit.Sdk.XunitException($"{host}{path} category {category}: mask {mask:x}, hit {hit}");
                }
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), property);
    }

    private static DomainMatcher BuildMatcher(Case c)
    {
        var builder = new DomainMatcherBuilder();
        foreach (int category in c.Categories)
            builder.AddList($"list{category}", category);
        foreach (var (list, kind, value) in c.Entries)
            builder.Add(list, new ListEntry(kind, value, 1));
        return builder.Build();
    }

    /// <summary>The semantics of Matching/README.md, written the slow and obvious way.</summary>
    private static ulong Reference(Case c, string host, string path)
    {
        bool literal = PolicyModel.Matching.HostName.IsIPLiteral(host);
        bool Under(string entryHost) => host == entryHost || (!literal && host.EndsWith("." + entryHost, StringComparison.Ordinal));

        var hashed = new HashSet<string>(HashCandidates(host, path, literal).Select(EntryText.HashOf));
        ulong mask = 0;
        foreach (var (list, kind, value) in c.Entries)
        {
            bool hit = kind switch
            {
                EntryKind.Subtree => Under(value),
                EntryKind.Exact => host == value,
                EntryKind.UrlPrefix => Under(value[..value.IndexOf('/')])
                    && (path.Length == 0 ? "/" : path).StartsWith(value[value.IndexOf('/')..], StringComparison.OrdinalIgnoreCase),
                EntryKind.Hash => hashed.Contains(value),
                _ => false,
            };
            if (hit)
                mask |= 1UL << c.Categories[list];
        }
        return mask;
    }

    private static IEnumerable<string> HashCandidates(string host, string path, bool literal)
    {
        var hosts = new List<string> { host };
        for (int i = host.IndexOf('.'); i >= 0 && !literal; i = host.IndexOf('.', i + 1))
            hosts.Add(host[(i + 1)..]);
        string p = path.Split('?', '#')[0].ToLowerInvariant();
        foreach (string h in hosts)
        {
            yield return h;
            if (!p.StartsWith('/'))
                continue;
            for (int j = 1; j < p.Length; j++)
            {
                if (p[j] == '/')
                    yield return h + p[..j];
            }
            if (p.Length > 1 && !p.EndsWith('/'))
                yield return h + p;
        }
    }
}
