using PolicyModel.Matching;

namespace PolicyModel.Tests.Matching;

public sealed class DomainMatcherTests
{
    private const int Social = 3;
    private const int Video = 7;
    private const int Terror = 63;

    private static DomainMatcher Build(params (int Category, EntryKind Kind, string Value)[] entries)
    {
        var builder = new DomainMatcherBuilder();
        foreach (var (category, kind, value) in entries)
            builder.Add(builder.AddList($"lists/{category}-{kind}.txt", category), new ListEntry(kind, value, 1));
        return builder.Build();
    }

    [Theory]
    [InlineData("example.com")]
    [InlineData("www.example.com")]
    [InlineData("a.b.c.example.com")]
    public void Match_ListedDomainOrSubdomain_ReturnsCategory(string host)
    {
        var matcher = Build((Social, EntryKind.Subtree, "example.com"));

        Assert.Equal(1UL << Social, matcher.Match(host, ""));
    }

    [Theory]
    [InlineData("com")]
    [InlineData("notexample.com")]
    [InlineData("example.com.evil.test")]
    [InlineData("example.co")]
    public void Match_ParentOrLookalikeOfListedDomain_ReturnsZero(string host)
    {
        var matcher = Build((Social, EntryKind.Subtree, "example.com"));

        Assert.Equal(0UL, matcher.Match(host, "/"));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(9)]
    [InlineData(20)]
    [InlineData(40)]
    public void Match_HostWithManyLabels_MatchesEveryListedSuffix(int extraLabels)
    {
        // Long hosts take the slower dot search (over 64 characters) and probe in several batches (over 8 suffixes).
        var matcher = Build((Social, EntryKind.Subtree, "example.com"), (Video, EntryKind.Subtree, "l1.l0.example.com"),
            (Terror, EntryKind.Exact, "l2.l1.l0.example.com"));
        string host = string.Join('.', Enumerable.Range(0, extraLabels).Reverse().Select(i => "l" + i)) + ".example.com";

        ulong expected = (1UL << Social) | (extraLabels >= 2 ? 1UL << Video : 0) | (extraLabels == 3 ? 1UL << Terror : 0);
        Assert.Equal(expected, matcher.Match(host, ""));
        Assert.Equal("l1.l0.example.com", matcher.Explain(host, "", Video)?.Entry);
    }

    [Fact]
    public void Match_ExactEntry_MatchesHostButNotSubdomains()
    {
        var matcher = Build((Social, EntryKind.Exact, "cdn.example.com"));

        Assert.Equal(1UL << Social, matcher.Match("cdn.example.com", ""));
        Assert.Equal(0UL, matcher.Match("a.cdn.example.com", ""));
    }

    [Fact]
    public void Match_SingleLabelBrandTld_MatchesEveryNameUnderIt()
    {
        var matcher = Build((Video, EntryKind.Subtree, "youtube"));

        Assert.Equal(1UL << Video, matcher.Match("www.youtube", ""));
        Assert.Equal(0UL, matcher.Match("youtube.com", ""));
    }

    [Fact]
    public void Match_DomainInTwoCategories_ReturnsBothBits()
    {
        var matcher = Build((Social, EntryKind.Subtree, "example.com"), (Terror, EntryKind.Subtree, "bad.example.com"));

        Assert.Equal((1UL << Social) | (1UL << Terror), matcher.Match("x.bad.example.com", ""));
        Assert.Equal(1UL << Social, matcher.Match("good.example.com", ""));
    }

    [Fact]
    public void Match_SubtreeAndExactOfSameNameInDifferentLists_KeepsEachKind()
    {
        var matcher = Build((Social, EntryKind.Exact, "example.com"), (Video, EntryKind.Subtree, "example.com"));

        Assert.Equal((1UL << Social) | (1UL << Video), matcher.Match("example.com", ""));
        Assert.Equal(1UL << Video, matcher.Match("www.example.com", ""));
    }

    [Fact]
    public void Match_IPEntry_MatchesOnlyThatAddress()
    {
        var matcher = Build((Social, EntryKind.Exact, "203.0.113.9"), (Video, EntryKind.Subtree, "113.9"));

        Assert.Equal(1UL << Social, matcher.Match("203.0.113.9", ""));
        Assert.Equal(0UL, matcher.Match("1.0.113.9", ""));
    }

    [Fact]
    public void Match_UrlPrefix_MatchesPathPrefixOnHostAndSubdomainsIgnoringCase()
    {
        var matcher = Build((Social, EntryKind.UrlPrefix, "example.com/Chat/"));

        Assert.Equal(1UL << Social, matcher.Match("example.com", "/chat/room?x=1"));
        Assert.Equal(1UL << Social, matcher.Match("www.example.com", "/CHAT/"));
        Assert.Equal(0UL, matcher.Match("example.com", "/chat"));
        Assert.Equal(0UL, matcher.Match("example.com", "/other"));
        Assert.Equal(0UL, matcher.Match("example.com", ""));
        Assert.Equal(0UL, matcher.Match("www.example.org", "/chat/"));
    }

    [Fact]
    public void Match_UrlPrefixForWholeSite_MatchesWhenPathUnknown()
    {
        var matcher = Build((Social, EntryKind.UrlPrefix, "example.com"));

        Assert.Equal(1UL << Social, matcher.Match("example.com", ""));
        Assert.Equal(1UL << Social, matcher.Match("a.example.com", "/x"));
    }

    [Fact]
    public void Match_HashedHost_MatchesHostAndSubdomainsOnly()
    {
        var matcher = Build((Terror, EntryKind.Hash, EntryText.HashOf("blocked-terror.test")));

        Assert.Equal(1UL << Terror, matcher.Match("blocked-terror.test", ""));
        Assert.Equal(1UL << Terror, matcher.Match("www.blocked-terror.test", "/any/page"));
        Assert.Equal(0UL, matcher.Match("terror.test", ""));
        Assert.Equal(0UL, matcher.Match("not-blocked-terror.test", ""));
    }

    [Theory]
    [InlineData("example.com", "/bad/path", true)]
    [InlineData("example.com", "/Bad/Path/", true)]
    [InlineData("example.com", "/bad/path/deeper?q=1", true)]
    [InlineData("www.example.com", "/bad/path#frag", true)]
    [InlineData("example.com", "/bad/pathology", false)]
    [InlineData("example.com", "/bad", false)]
    [InlineData("example.com", "", false)]
    public void Match_HashedUrl_MatchesAtPathSegmentBoundaries(string host, string path, bool listed)
    {
        var matcher = Build((Terror, EntryKind.Hash, EntryText.HashOf("example.com/bad/path")));

        Assert.Equal(listed ? 1UL << Terror : 0UL, matcher.Match(host, path));
    }

    [Fact]
    public void Match_EmptyMatcher_ReturnsZero()
    {
        Assert.Equal(0UL, DomainMatcher.Empty.Match("example.com", "/"));
        Assert.Equal(0UL, DomainMatcher.Empty.Match("", ""));
    }

    [Fact]
    public void Match_AnyKindOfEntry_AllocatesNothing()
    {
        var matcher = Build(
            (Social, EntryKind.Subtree, "example.com"),
            (Video, EntryKind.UrlPrefix, "example.com/watch"),
            (Terror, EntryKind.Hash, EntryText.HashOf("example.com/bad")));
        string[] hosts = ["www.example.com", "example.org", "a.b.c.d.example.com", "203.0.113.1", "::1"];
        ulong sink = 0;
        for (int i = 0; i < 100; i++)
            sink |= matcher.Match(hosts[i % hosts.Length], "/watch/bad?x");

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
            sink |= matcher.Match(hosts[i % hosts.Length], "/watch/bad?x");
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.NotEqual(0UL, sink);
    }

    [Fact]
    public void Match_ManyThreads_AgreeWithOneThread()
    {
        var list = ListReader.Read(TestPaths.List("blocklistproject-tiktok.domains.txt"), "t");
        var builder = new DomainMatcherBuilder();
        int id = builder.AddList("t", Video);
        foreach (var entry in list.Entries)
            builder.Add(id, entry);
        var matcher = builder.Build();
        string[] queries = list.Entries.SelectMany(e => new[] { e.Value, "www." + e.Value, e.Value + ".evil" }).ToArray();
        ulong[] expected = queries.Select(q => matcher.Match(q, "")).ToArray();

        var actual = new ulong[queries.Length];
        Parallel.For(0, queries.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => actual[i] = matcher.Match(queries[i], ""));

        Assert.Equal(expected, actual);
        Assert.Equal(list.Entries.Count * 2, expected.Count(m => m != 0));
    }

    [Fact]
    public void Explain_SeveralEntriesMatch_ReturnsMostSpecific()
    {
        var builder = new DomainMatcherBuilder();
        int broad = builder.AddList("lists/broad.txt", Social);
        int narrow = builder.AddList("lists/narrow.txt", Social);
        int urls = builder.AddList("ut1/social", Social);
        builder.Add(broad, new ListEntry(EntryKind.Subtree, "example.com", 1));
        builder.Add(narrow, new ListEntry(EntryKind.Subtree, "chat.example.com", 4));
        builder.Add(urls, new ListEntry(EntryKind.UrlPrefix, "example.com/chat/room", 2));
        var matcher = builder.Build();

        Assert.Equal(new MatchHit(narrow, "lists/narrow.txt", EntryKind.Subtree, "chat.example.com"), matcher.Explain("a.chat.example.com", "/", Social));
        Assert.Equal(new MatchHit(urls, "ut1/social", EntryKind.UrlPrefix, "example.com/chat/room"), matcher.Explain("www.example.com", "/chat/room/1", Social));
        Assert.Equal(new MatchHit(broad, "lists/broad.txt", EntryKind.Subtree, "example.com"), matcher.Explain("www.example.com", "/", Social));
        Assert.Null(matcher.Explain("www.example.com", "/", Video));
        Assert.Null(matcher.Explain("example.org", "/", Social));
    }

    [Fact]
    public void Explain_ExactEntryOnSubdomain_IsNotAHit()
    {
        var matcher = Build((Social, EntryKind.Exact, "example.com"));

        Assert.Null(matcher.Explain("www.example.com", "", Social));
        Assert.Equal(EntryKind.Exact, matcher.Explain("example.com", "", Social)?.Kind);
    }

    [Fact]
    public void Explain_HashedEntry_ShowsDigestPrefixOnly()
    {
        string digest = EntryText.HashOf("blocked-terror.test");
        var matcher = Build((Terror, EntryKind.Hash, digest));

        var hit = matcher.Explain("www.blocked-terror.test", "/", Terror);

        Assert.Equal(new MatchHit(0, "lists/63-Hash.txt", EntryKind.Hash, "sha256:" + digest[..12]), hit);
    }

    [Fact]
    public void EntryCount_DuplicatesInOneList_CountedOnce()
    {
        var builder = new DomainMatcherBuilder();
        int a = builder.AddList("a", Social);
        int b = builder.AddList("b", Video);
        builder.Add(a, new ListEntry(EntryKind.Subtree, "example.com", 1));
        builder.Add(a, new ListEntry(EntryKind.Subtree, "EXAMPLE.com.", 2));
        builder.Add(a, new ListEntry(EntryKind.Exact, "example.com", 3));
        builder.Add(b, new ListEntry(EntryKind.Subtree, "example.com", 1));
        var matcher = builder.Build();

        Assert.Equal(2, matcher.EntryCount(a));
        Assert.Equal(1, matcher.EntryCount(b));
        Assert.Throws<ArgumentOutOfRangeException>(() => matcher.EntryCount(2));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(64)]
    public void AddList_CategoryOutside0To63_Throws(int category) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DomainMatcherBuilder().AddList("x", category));

    [Fact]
    public void Add_InvalidHost_ThrowsNamingTheLine()
    {
        var builder = new DomainMatcherBuilder();
        int id = builder.AddList("x", 0);

        var ex = Assert.Throws<ArgumentException>(() => builder.Add(id, new ListEntry(EntryKind.Subtree, "bad host", 12)));

        Assert.StartsWith("Line 12: 'bad host' is not a valid Subtree entry", ex.Message);
    }

    [Fact]
    public void Match_TikTokFixture_ListedSubdomainAndUnlistedHostsAnswerCorrectly()
    {
        var builder = new DomainMatcherBuilder();
        int id = builder.AddList("tiktok", Video);
        foreach (var entry in ListReader.Read(TestPaths.List("blocklistproject-tiktok.adblock.txt"), "t").Entries)
            builder.Add(id, entry);
        var matcher = builder.Build();

        Assert.Equal(3725, matcher.EntryCount(id));
        Assert.Equal(1UL << Video, matcher.Match("0pbxmo.xzcs3zlph.com", ""));
        Assert.Equal(1UL << Video, matcher.Match("a.b.0pbxmo.xzcs3zlph.com.edgesuite.net", ""));
        Assert.Equal(1UL << Video, matcher.Match("xzcs3zlph.com", ""));
        Assert.Equal(0UL, matcher.Match("xzcs3zlph.com.edgesuite.net", ""));
        Assert.Equal(0UL, matcher.Match("edgesuite.net", ""));
        Assert.Equal(0UL, matcher.Match("bbc.co.uk", ""));
    }

    /// <summary>
    /// Records hold 32 bits of a name's hash, not the name. Structured names are where a weak mixing step would show:
    /// labels that differ in one character, in order, by a swap of labels, or only in length. Their whole 64-bit
    /// hashes must all differ, and in a table of all of them each name's lookup must agree with its own record only.
    /// (The 1.4M benchmark names are checked in BenchDataCorrectnessTests when ../shared is present.)
    /// </summary>
    [Fact]
    public void Hashes_OfStructuredNames_AreAllDistinct_AndEachLookupFindsOnlyItsOwnRecord()
    {
        var seen = new Dictionary<ulong, string>();
        var names = new List<KeyValuePair<string, int>>();
        void Check(string name)
        {
            ulong hash = DomainTable.HashOf(name);
            if (seen.TryGetValue(hash, out var other))
            {
                Assert.True(other == name, $"{name} has the hash of {other}");
                return;
            }
            seen.Add(hash, name);
            names.Add(new(name, names.Count & 0xffff));
        }
        for (int i = 0; i < 300; i++)
        {
            for (int j = 0; j < 300; j++)
            {
                Check($"a{i}.b{j}.example.com");
                Check($"b{j}.a{i}.example.com");
                Check($"{i}-{j}.co.uk");
                Check($"x{new string('y', i % 40)}{j}.net");
            }
        }
        Assert.Equal(282_000, seen.Count); // 40 lengths x 300 of the last kind repeat

        var table = new DomainTable(names);
        var shared = names.Where(n => table.RecordsAgreeingWith(n.Key) != 1).Select(n => n.Key).Take(5).ToList();
        Assert.True(shared.Count == 0, $"lookups that agree with another name's record: {string.Join(", ", shared)}");
    }
}
