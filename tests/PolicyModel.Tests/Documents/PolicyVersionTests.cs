namespace PolicyModel.Tests.Documents;

/// <summary>
/// The version is the hash of the bytes the load read (issue 16): every file the policy names counts, its contents
/// and nothing else, so touching a file changes nothing and changing one byte anywhere changes the version.
/// </summary>
public class PolicyVersionTests
{
    private const string Policy = TestPolicy.Head + """
        schedules:
          term: { calendar: term-dates.yaml, days: school }
        default: allow
        rules:
          - { name: social-in-term, category: social, during: term, action: block }

        """;

    private const string Calendar = """
        terms:
          - { name: Autumn 2026, start: 2026-09-02, end: 2026-12-18 }

        """;

    private static TestPolicy Create()
    {
        var p = new TestPolicy(Policy);
        p.Write("term-dates.yaml", Calendar);
        return p;
    }

    [Fact]
    public void Version_SameFilesLoadedTwice_IsTheSame()
    {
        using var p = Create();
        var version = p.Snapshot().Version;
        Assert.Matches("^[0-9a-f]{12}$", version);
        Assert.Equal(version, p.Snapshot().Version);
    }

    [Fact]
    public void Version_FilesTouchedButUnchanged_StaysTheSame()
    {
        using var p = Create();
        var version = p.Snapshot().Version;
        foreach (var file in new[] { "policy.yaml", "users.csv", "lists/social.txt", "lists/terror.sha256", "term-dates.yaml" })
        {
            File.SetLastWriteTimeUtc(Path.Combine(p.Directory, file), new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        }

        Assert.Equal(version, p.Snapshot().Version);
    }

    [Theory]
    [InlineData("lists/social.txt", "# test list\nfacebook.com\ninstagram.com\ntiktok.con\n")]
    [InlineData("lists/social.txt", "# test list!\nfacebook.com\ninstagram.com\ntiktok.com\n")]
    [InlineData("users.csv", TestPolicy.Users + "\nextra1,Ed Extra,guest,\n")]
    [InlineData("term-dates.yaml", "terms:\n  - { name: Autumn 2026, start: 2026-09-02, end: 2026-12-17 }\n")]
    [InlineData("policy.yaml", Policy + "# a comment\n")]
    public void Version_OneFileChanges_Changes(string file, string text)
    {
        using var p = Create();
        var version = p.Snapshot().Version;
        p.Write(file, text);
        Assert.NotEqual(version, p.Snapshot().Version);
    }

    [Fact]
    public void Version_ListOfTheSameLengthAndTime_StillChanges()
    {
        using var p = Create();
        var list = Path.Combine(p.Directory, "lists", "social.txt");
        var version = p.Snapshot().Version;
        var time = File.GetLastWriteTimeUtc(list);
        p.Write("lists/social.txt", "# test list\nfacebook.com\ninstagram.com\ntiktok.org\n");
        File.SetLastWriteTimeUtc(list, time);
        Assert.NotEqual(version, p.Snapshot().Version);
    }
}
