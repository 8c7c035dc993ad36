using PolicyModel.Matching;

namespace PolicyModel.Tests.Matching;

public sealed class ListReaderTests
{
    public static TheoryData<string, ListFormat> TikTokFiles => new()
    {
        { "blocklistproject-tiktok.hosts.txt", ListFormat.Hosts },
        { "blocklistproject-tiktok.adblock.txt", ListFormat.Adblock },
        { "blocklistproject-tiktok.domains.txt", ListFormat.Domains },
        { "blocklistproject-tiktok.dnsmasq.conf", ListFormat.Dnsmasq },
    };

    [Theory]
    [MemberData(nameof(TikTokFiles))]
    public void Read_TikTokInAnyFormat_DetectsFormatAndYields3725CleanSubtreeEntries(string file, ListFormat expected)
    {
        var list = ListReader.Read(TestPaths.List(file), "lists/" + file);

        Assert.Equal(expected, list.Format);
        Assert.Equal(3725, list.Entries.Count);
        Assert.All(list.Entries, e => Assert.Equal(EntryKind.Subtree, e.Kind));
        Assert.Empty(list.Warnings);
        Assert.Equal(0, list.SkippedLines);
    }

    [Fact]
    public void Read_TikTokFourFormats_YieldIdenticalDomainSets()
    {
        var sets = TikTokFiles.Select(row => (string)row[0])
            .Select(f => ListReader.Read(TestPaths.List(f), f).Entries.Select(e => e.Value).ToHashSet())
            .ToList();

        Assert.Equal(3725, sets[0].Count);
        Assert.All(sets, s => Assert.True(s.SetEquals(sets[0])));
    }

    [Fact]
    public void Read_DomainsWithExactFlag_MarksEveryEntryExact()
    {
        var list = ListReader.Read(TestPaths.List("blocklistproject-tiktok.domains.txt"), "t", exact: true);

        Assert.All(list.Entries, e => Assert.Equal(EntryKind.Exact, e.Kind));
    }

    [Fact]
    public void Read_SinfoniettaSocialHosts_SkipsSnapchatComWithWarningNamingTheLine()
    {
        var list = ListReader.Read(TestPaths.List("sinfonietta-social.hosts"), "lists/social.hosts");

        Assert.Equal(ListFormat.Hosts, list.Format);
        var warning = Assert.Single(list.Warnings);
        Assert.Equal(new ListWarning("lists/social.hosts", 3228, "'snapchat-com' is a single-label name, not a site"), warning);
        Assert.Equal(1, list.SkippedLines);
        Assert.DoesNotContain(list.Entries, e => e.Value == "snapchat-com");
        Assert.Contains(new ListEntry(EntryKind.Subtree, "p19-sign.tiktokcdn-us.com", 3041), list.Entries);
        Assert.Contains(list.Entries, e => e.Value == "threads.net");
    }

    [Fact]
    public void Read_GoodbyeAdsHosts_IgnoresLocalhostPreambleAndBanner()
    {
        var list = ListReader.Read(TestPaths.List("goodbyeads-spotify.hosts"), "spotify.hosts");

        Assert.Equal(ListFormat.Hosts, list.Format);
        Assert.Empty(list.Warnings);
        string[] preamble = ["localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost", "ip6-allnodes", "0.0.0.0"];
        Assert.DoesNotContain(list.Entries, e => preamble.Contains(e.Value));
        Assert.Equal("000000000.fls.doubleclick.net", list.Entries[0].Value);
        Assert.All(list.Entries, e => Assert.Contains('.', e.Value));
    }

    [Fact]
    public void Read_Ut1DynamicDns_StripsLeadingDotsAndNamesDomainsFileInWarnings()
    {
        var list = ListReader.Read(TestPaths.List("ut1/dynamic-dns"), "ut1/dynamic-dns");

        Assert.Equal(ListFormat.Ut1, list.Format);
        Assert.Contains(new ListEntry(EntryKind.Subtree, "afshin.ir", 1), list.Entries);
        Assert.Contains(new ListEntry(EntryKind.Subtree, "giswebservice.com", 2), list.Entries);
        Assert.All(list.Warnings, w => Assert.Equal("ut1/dynamic-dns/domains", w.File));
    }

    [Fact]
    public void Read_Ut1Chat_ReadsIPv4AsExactAndUrlsAsPrefixes()
    {
        var list = ListReader.Read(TestPaths.List("ut1/chat"), "ut1/chat");

        var ips = list.Entries.Where(e => HostName.IsDottedQuad(e.Value)).ToList();
        Assert.Equal(73, ips.Count);
        Assert.All(ips, e => Assert.Equal(EntryKind.Exact, e.Kind));
        Assert.Contains(new ListEntry(EntryKind.UrlPrefix, "207.46.5.10/gateway/gateway.dll", 1), list.Entries);
        Assert.Contains(new ListEntry(EntryKind.UrlPrefix, "cri.univ-tlse1.fr/tools/test_filtrage/chat/", 5), list.Entries);
        Assert.Equal(17, list.Entries.Count(e => e.Kind == EntryKind.UrlPrefix));
    }

    [Fact]
    public void Read_Ut1UrlWithUpperCasePath_LowerCasesTheEntry()
    {
        var list = ListReader.Read(TestPaths.List("ut1/dangerous_material"), "ut1/dangerous_material");

        Assert.Contains(new ListEntry(EntryKind.UrlPrefix, "20six.fr/vix/weblogcategory/10alsxd6z3vsz", 1), list.Entries);
        Assert.Contains(new ListEntry(EntryKind.UrlPrefix, "membres.lycos.fr/aftermath2050/explosifs.htm", 13), list.Entries);
        Assert.Equal(19, list.Entries.Count(e => e.Kind == EntryKind.UrlPrefix));
    }

    [Fact]
    public void Read_HostsQuirks_SkipsPreambleReadsRawIPsAndInlineComments()
    {
        using var file = TempList.Create(
            "\uFEFF# header\r\n" +
            "127.0.0.1 localhost\r\n" +
            "::1 localhost ip6-localhost ip6-loopback\r\n" +
            "fe80::1%lo0 localhost\r\n" +
            "0.0.0.0 0.0.0.0\r\n" +
            "0.0.0.0 a.example b.example # two names\r\n" +
            "0.0.0.0 203.0.113.9\r\n" +
            "127.0.0.1 anitokyo.t\r\n" +
            "0.0.0.0 bad_host!.example\r\n" +
            "not-an-ip c.example\r\n");

        var list = ListReader.Read(file.Path, "h.hosts");

        Assert.Equal(ListFormat.Hosts, list.Format);
        Assert.Equal(
            [
                new ListEntry(EntryKind.Subtree, "a.example", 6),
                new ListEntry(EntryKind.Subtree, "b.example", 6),
                new ListEntry(EntryKind.Exact, "203.0.113.9", 7),
                new ListEntry(EntryKind.Subtree, "anitokyo.t", 8),
            ],
            list.Entries);
        Assert.Equal(
            [
                new ListWarning("h.hosts", 9, "'bad_host!.example' is not a valid host name"),
                new ListWarning("h.hosts", 10, "'not-an-ip' is not an IP address"),
            ],
            list.Warnings);
    }

    [Fact]
    public void Read_AdblockRules_KeepsAnchoredHostsAndNamesWhyOthersAreSkipped()
    {
        using var file = TempList.Create(
            "[Adblock Plus 2.0]\n" +
            "! comment\n" +
            "||sub.example^\n" +
            "|exact.example^\n" +
            "||noanchor.example\n" +
            "||youtube^\n" +
            "||relay.example^$dnsrewrite=NXDOMAIN;;\n" +
            "@@||allowed.example^\n" +
            "||v*.tiktokcdn-eu.com^\n" +
            "/_spotify-connect._tcp.local/\n" +
            "example.org##.banner\n" +
            "plain.example\n");

        var list = ListReader.Read(file.Path, "a.txt");

        Assert.Equal(ListFormat.Adblock, list.Format);
        Assert.Equal(
            [
                new ListEntry(EntryKind.Subtree, "sub.example", 3),
                new ListEntry(EntryKind.Exact, "exact.example", 4),
                new ListEntry(EntryKind.Subtree, "noanchor.example", 5),
                new ListEntry(EntryKind.Subtree, "youtube", 6),
            ],
            list.Entries);
        Assert.Equal(
            [
                "7: unsupported adblock modifier '$dnsrewrite'",
                "8: unsupported adblock exception rule '@@||allowed.example^'",
                "9: unsupported adblock wildcard rule 'v*.tiktokcdn-eu.com'",
                "10: unsupported adblock regex rule '/_spotify-connect._tcp.local/'",
                "11: unsupported adblock cosmetic rule 'example.org##.banner'",
                "12: unsupported adblock rule without '||' or '|' anchor 'plain.example'",
            ],
            list.Warnings.Select(w => $"{w.Line}: {w.Message}"));
        Assert.Equal(6, list.SkippedLines);
    }

    [Fact]
    public void Read_DomainsQuirks_AcceptsWildcardPrefixAndIPsAndWarnsOnGarbage()
    {
        using var file = TempList.Create(
            "# comment\n\n*.wild.example\n.dot.example\nUPPER.Example.\n192.0.2.1\n[2001:db8::1]\nbad domain\nok.example # trailing\n");

        var list = ListReader.Read(file.Path, "d.txt");

        Assert.Equal(ListFormat.Domains, list.Format);
        Assert.Equal(
            [
                new ListEntry(EntryKind.Subtree, "wild.example", 3),
                new ListEntry(EntryKind.Subtree, "dot.example", 4),
                new ListEntry(EntryKind.Subtree, "upper.example", 5),
                new ListEntry(EntryKind.Exact, "192.0.2.1", 6),
                new ListEntry(EntryKind.Exact, "2001:db8::1", 7),
                new ListEntry(EntryKind.Subtree, "ok.example", 9),
            ],
            list.Entries);
        Assert.Equal([new ListWarning("d.txt", 8, "'bad domain' is not a valid host name")], list.Warnings);
    }

    [Fact]
    public void Read_HashedWithHeader_LowerCasesDigestsAndWarnsOnBadLines()
    {
        string digest = EntryText.HashOf("blocked-terror.test");
        using var file = TempList.Create($"{ListWriter.HashedHeader}\n{digest.ToUpperInvariant()}\nnot-a-digest\n{digest[..63]}\n");

        var list = ListReader.Read(file.Path, "ctiru.hashed");

        Assert.Equal(ListFormat.Hashed, list.Format);
        Assert.Equal([new ListEntry(EntryKind.Hash, digest, 2)], list.Entries);
        Assert.Equal([3, 4], list.Warnings.Select(w => w.Line));
        Assert.Equal(2, list.SkippedLines);
    }

    [Fact]
    public void Read_HashedWithoutHeader_IsDetectedFromDigestLines()
    {
        using var file = TempList.Create(EntryText.HashOf("a.example") + "\n");

        Assert.Equal(ListFormat.Hashed, ListReader.Read(file.Path, "x").Format);
    }

    [Fact]
    public void Read_ManyBadLines_KeepsFirst100WarningsAndCountsAll()
    {
        using var file = TempList.Create(string.Concat(Enumerable.Range(0, 250).Select(i => $"bad name {i}\n")) + "good.example\n");

        var list = ListReader.Read(file.Path, "many.txt", ListFormat.Domains);

        Assert.Equal(100, list.Warnings.Count);
        Assert.Equal(250, list.SkippedLines);
        Assert.Equal(100, list.Warnings[^1].Line);
        Assert.Single(list.Entries);
    }

    [Fact]
    public void Read_MissingFile_ThrowsFileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => ListReader.Read(TestPaths.List("no-such-list.txt"), "no-such-list.txt"));

    [Fact]
    public void Read_WriteHashedOutput_RoundTripsToMatchingDigests()
    {
        var writer = new StringWriter();
        ListWriter.WriteHashed(["Blocked-Terror.test", "http://Example.com/Bad/Path/?q=1", "# comment", "", "blocked-terror.test"], writer);
        using var file = TempList.Create(writer.ToString());

        var list = ListReader.Read(file.Path, "h");

        Assert.Equal(
            [EntryText.HashOf("blocked-terror.test"), EntryText.HashOf("example.com/bad/path")],
            list.Entries.Select(e => e.Value));
    }

    [Fact]
    public void WriteHashed_InvalidEntry_ThrowsNamingIt()
    {
        var ex = Assert.Throws<InvalidListEntryException>(() => ListWriter.WriteHashed(["ok.example", "bad host"], new StringWriter()));
        Assert.Equal("entry 2: 'bad host' is not a valid host name or host/path", ex.Message);
    }
}

/// <summary>A temporary list file, deleted on dispose.</summary>
internal sealed class TempList : IDisposable
{
    private TempList(string path) => Path = path;

    public string Path { get; }

    public static TempList Create(string content)
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"list-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, content, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return new TempList(path);
    }

    public void Dispose() => File.Delete(Path);
}
