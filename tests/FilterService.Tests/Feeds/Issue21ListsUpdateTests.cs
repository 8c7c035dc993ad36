using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using FilterService.Cli;
using FilterService.Tests.TestSupport;
using PolicyModel.Documents;

namespace FilterService.Tests.Feeds;

/// <summary>
/// Issue 21: <c>lists update</c> against a local HTTPS feed server with its own test CA: a real UT1 category archive
/// (fixture ut1-chat, CC BY-SA 4.0) loads with the expected counts; <c>--dry-run</c> prints added and removed per list
/// and writes nothing; a statutory list shrunk by half is refused (kept as .refused) until <c>lists confirm</c> names it.
/// </summary>
public sealed class Issue21ListsUpdateTests
{
    private static string Fixture => Path.Combine(RepoPaths.Root, "tests", "FilterService.Tests", "Fixtures", "ut1-chat");

    /// <summary>Lines that are neither blank nor comments: the naive count of a UT1 file.</summary>
    private static int Lines(string file) =>
        File.ReadAllLines(Path.Combine(Fixture, file)).Count(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#'));

    /// <summary>The category as UT1 publishes it: <c>chat/domains</c>, <c>chat/urls</c>, <c>chat/usage</c> in a tar.gz.</summary>
    private static byte[] Archive(string category = "chat")
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, category + "/"));
            foreach (var name in new[] { "domains", "urls", "usage" })
            {
                tar.WriteEntry(Path.Combine(Fixture, name), $"{category}/{name}");
            }
        }
        return memory.ToArray();
    }

    private static string Policy(string categories)
    {
        var dir = TempDir.Create("feedpolicy");
        Directory.CreateDirectory(Path.Combine(dir, "lists"));
        File.WriteAllText(Path.Combine(dir, "policy.yaml"), $"""
            timezone: Europe/London
            clients: [127.0.0.0/8]
            roles: [pupil]
            categories:
            {categories}
            default: allow

            """);
        return dir;
    }

    /// <summary>A statutory list of 10 entries on disk whose feed now serves 5 of them: a halving.</summary>
    private static (string Dir, string Full, string Half) StatutoryHalving(FeedServer server)
    {
        var full = string.Concat(Enumerable.Range(1, 10).Select(i => $"listed-{i}.test\n"));
        var half = string.Concat(Enumerable.Range(1, 5).Select(i => $"listed-{i}.test\n"));
        server.Publish("/iwf.txt", half);
        var dir = Policy($"""
              iwf:
                statutory: true
                lists:
                  - {"{"} path: lists/iwf.txt, format: domains, source: "{server.Url("/iwf.txt")}", verify: sha256 {"}"}
            """);
        File.WriteAllText(Path.Combine(dir, "lists", "iwf.txt"), full);
        return (dir, full, half);
    }

    private static async Task<(int Exit, string Out)> CliAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await CliCommands.RunAsync(args, stdout, stderr, new StringReader(""));
        return (exit, stdout.ToString() + stderr);
    }

    [Fact]
    public async Task Issue21_Ut1ArchiveOfARealCategory_LoadsWithTheExpectedCounts()
    {
        await using var server = await FeedServer.StartAsync();
        server.Publish("/blacklists/chat.tar.gz", Archive());
        var dir = Policy($"""
              chat:
                lists:
                  - {"{"} path: lists/ut1-chat, format: ut1, source: "{server.Url("/blacklists/chat.tar.gz")}", refresh: 1d, verify: sha256 {"}"}
            """);

        var (exit, output) = await CliAsync("lists", "update", "--policy", dir, "--trusted-ca", server.CaFile);

        int expected = Lines("domains") + Lines("urls");
        Assert.Equal(285, expected);
        Assert.True(exit == 0, output);
        Assert.Contains($"lists/ut1-chat: updated: {expected} entries (+{expected} -0), version ", output);
        var loaded = PolicyLoader.Load(dir);
        Assert.True(loaded.Succeeded, string.Join("\n", loaded.Diagnostics));
        var list = Assert.Single(loaded.Snapshot!.Lists);
        Assert.Equal((expected, 0, "ut1"), (list.Entries, list.SkippedLines, list.Format));
        Assert.Equal(File.ReadAllBytes(Path.Combine(Fixture, "domains")), File.ReadAllBytes(Path.Combine(dir, "lists", "ut1-chat", "domains")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(Fixture, "urls")), File.ReadAllBytes(Path.Combine(dir, "lists", "ut1-chat", "urls")));
    }

    [Fact]
    public async Task Issue21_DryRun_PrintsAddedAndRemovedPerList_AndWritesNothing()
    {
        await using var server = await FeedServer.StartAsync();
        server.Publish("/social.txt", "a.test\nb.test\nnew-1.test\nnew-2.test\n");
        var dir = Policy($"""
              social:
                lists:
                  - {"{"} path: lists/social.txt, format: domains, source: "{server.Url("/social.txt")}" {"}"}
            """);
        File.WriteAllText(Path.Combine(dir, "lists", "social.txt"), "a.test\nb.test\ngone.test\n");
        var before = Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order().ToArray();

        var (exit, output) = await CliAsync("lists", "update", "--policy", dir, "--dry-run", "--trusted-ca", server.CaFile);

        Assert.Equal(0, exit);
        Assert.StartsWith("lists/social.txt: would update: 4 entries (+2 -1), version \"", output);
        Assert.Equal("a.test\nb.test\ngone.test\n", File.ReadAllText(Path.Combine(dir, "lists", "social.txt")));
        Assert.Equal(before, Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order().ToArray());
    }

    [Fact]
    public async Task Issue21_StatutoryFeedShrunkByHalf_IsRefused_UntilConfirmed()
    {
        await using var server = await FeedServer.StartAsync();
        var (dir, full, half) = StatutoryHalving(server);

        var (exit, output) = await CliAsync("lists", "update", "--policy", dir, "--trusted-ca", server.CaFile);
        Assert.Equal(1, exit);
        Assert.StartsWith("lists/iwf.txt: refused (shrunk): lists/iwf.txt: error FS0104: statutory list 'lists/iwf.txt' (category 'iwf') would have 5 entries, down from 10 (below 0.9 of it)", output);
        Assert.Equal(full, File.ReadAllText(Path.Combine(dir, "lists", "iwf.txt")));
        Assert.Equal(half, File.ReadAllText(Path.Combine(dir, "lists", "iwf.txt.refused")));

        (exit, output) = await CliAsync("lists", "confirm", "--policy", dir, "--list", "lists/iwf.txt", "--reason", "IWF removed five entries in its 05:00 update");
        Assert.Equal(0, exit);
        Assert.StartsWith("confirmed: the refused download of lists/iwf.txt (iwf) with 5 entries", output);

        (exit, output) = await CliAsync("lists", "update", "--policy", dir, "--trusted-ca", server.CaFile);
        Assert.True(exit == 0, output);
        Assert.StartsWith("lists/iwf.txt: updated: 5 entries (+0 -5)", output);
        Assert.Equal(half, File.ReadAllText(Path.Combine(dir, "lists", "iwf.txt")));
        Assert.Equal(full, File.ReadAllText(Path.Combine(dir, "lists", "iwf.txt.previous")));
    }

    [Fact]
    public async Task ListsUpdate_TakesTheShrinkGuardFromTheServiceSettings()
    {
        await using var server = await FeedServer.StartAsync();
        var (dir, full, half) = StatutoryHalving(server);
        var settings = Path.Combine(TempDir.Create("listsettings"), "appsettings.json");

        // A school that set a minimum count: refused although the fraction (0.4) would allow the halving.
        File.WriteAllText(settings, """{ "Policy": { "StatutoryShrinkFraction": 0.4, "StatutoryMinEntries": 6 } }""");
        var (exit, output) = await CliAsync("lists", "update", "--policy", dir, "--trusted-ca", server.CaFile, "--config", settings);
        Assert.Equal(1, exit);
        Assert.StartsWith("lists/iwf.txt: refused (shrunk): ", output);
        Assert.Equal(full, File.ReadAllText(Path.Combine(dir, "lists", "iwf.txt")));

        // The configured fraction, not the default 0.9: halving is within 0.4.
        File.WriteAllText(settings, """{ "Policy": { "StatutoryShrinkFraction": 0.4 } }""");
        (exit, output) = await CliAsync("lists", "update", "--policy", dir, "--trusted-ca", server.CaFile, "--config", settings);
        Assert.True(exit == 0, output);
        Assert.Equal(half, File.ReadAllText(Path.Combine(dir, "lists", "iwf.txt")));

        // A setting the service would refuse is refused here too, before anything is fetched.
        File.WriteAllText(settings, """{ "Policy": { "StatutoryShrinkFraction": 1.5 } }""");
        (exit, output) = await CliAsync("lists", "update", "--policy", dir, "--trusted-ca", server.CaFile, "--config", settings);
        Assert.Equal(2, exit);
        Assert.Contains("config: error FS0001: Policy:StatutoryShrinkFraction: 1.5 is outside 0-1", output);
    }

    [Fact]
    public async Task Issue21_ConfidentialFeed_IsWrittenHashed_ThePlainListNeverOnDisk()
    {
        await using var server = await FeedServer.StartAsync();
        server.Publish("/ctiru.txt", "blocked-terror.test\nsecond-terror.test\n");
        var dir = Policy($"""
              terrorism:
                statutory: true
                lists:
                  - {"{"} path: lists/ctiru.sha256, format: domains, source: "{server.Url("/ctiru.txt")}", hash: true, verify: sha256 {"}"}
            """);

        var (exit, output) = await CliAsync("lists", "update", "--policy", dir, "--trusted-ca", server.CaFile);

        Assert.True(exit == 0, output);
        var text = File.ReadAllText(Path.Combine(dir, "lists", "ctiru.sha256"));
        Assert.StartsWith("# format: sha256\n", text);
        Assert.DoesNotContain("blocked-terror", text);
        Assert.DoesNotContain(Directory.GetFiles(dir, "*", SearchOption.AllDirectories), f => File.ReadAllText(f).Contains("blocked-terror.test"));
        var loaded = PolicyLoader.Load(dir);
        Assert.True(loaded.Succeeded, string.Join("\n", loaded.Diagnostics));
        Assert.Equal(2, loaded.Snapshot!.Lists.Single().Entries);
    }

    [Fact]
    public async Task Issue21_MembersOnlyFeed_TakesItsCredentialsFromTheSecretsFile_NeverFromPolicyYaml()
    {
        await using var server = await FeedServer.StartAsync();
        server.Publish("/members/ctiru.txt", "blocked-terror.test\n");
        server.Authorization["/members/ctiru.txt"] = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("school-42:s3cret"));
        var dir = Policy($"""
              terrorism:
                statutory: true
                lists:
                  - {"{"} path: lists/ctiru.sha256, format: domains, hash: true, source: "{server.Url("/members/ctiru.txt")}", credentials: ctiru, verify: sha256 {"}"}
            """);
        var secrets = Path.Combine(TempDir.Create("secrets"), "feeds.json");

        // Not configured: refused before any request, saying where credentials go.
        var (exit, output) = await CliAsync("lists", "update", "--policy", dir, "--trusted-ca", server.CaFile);
        Assert.Equal(1, exit);
        Assert.StartsWith("lists/ctiru.sha256: refused (no_credentials): credentials 'ctiru' are not configured: set Feeds:Credentials:ctiru:Username and :Password (or :Token), or add them to Feeds:CredentialsFile", output);
        Assert.False(server.Hits.ContainsKey("/members/ctiru.txt"));

        // A wrong password: the server's 401, kept as a failure; nothing written.
        File.WriteAllText(secrets, """{ "ctiru": { "Username": "school-42", "Password": "wrong" } }""");
        (exit, output) = await CliAsync("lists", "update", "--policy", dir, "--trusted-ca", server.CaFile, "--credentials-file", secrets);
        Assert.Equal(1, exit);
        Assert.Contains("refused (http_status): ", output);
        Assert.Contains("the server answered 401 Unauthorized", output);
        Assert.False(File.Exists(Path.Combine(dir, "lists", "ctiru.sha256")));

        File.WriteAllText(secrets, """{ "ctiru": { "Username": "school-42", "Password": "s3cret" } }""");
        (exit, output) = await CliAsync("lists", "update", "--policy", dir, "--trusted-ca", server.CaFile, "--credentials-file", secrets);
        Assert.True(exit == 0, output);
        Assert.StartsWith("lists/ctiru.sha256: updated: 1 entries (+1 -0)", output);
        Assert.DoesNotContain("s3cret", output);
    }

    [Fact]
    public async Task Issue21_NoFeeds_ExitsTwo()
    {
        var dir = Policy("""
              social:
                lists: [lists/social.txt]
            """);
        File.WriteAllText(Path.Combine(dir, "lists", "social.txt"), "a.test\n");
        var (exit, output) = await CliAsync("lists", "update", "--policy", dir);
        Assert.Equal(2, exit);
        Assert.Contains("error FS0121: no list in", output);
    }
}
