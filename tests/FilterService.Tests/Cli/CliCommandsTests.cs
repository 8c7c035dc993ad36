using System.Text.Json;
using FilterService.Cli;

namespace FilterService.Tests.Cli;

public sealed class CliCommandsTests
{
    private static async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await CliCommands.RunAsync(args, stdout, stderr, new StringReader("s3cret-pass\n"));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    public static TheoryData<string> Samples() =>
        new(Directory.GetDirectories(Path.Combine(RepoPaths.Root, "deploy", "samples")).Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task Check_EverySample_ExitsZeroWithSummary(string sample)
    {
        var (exit, output, _) = await Run("check", "--policy", RepoPaths.Sample(sample));
        Assert.True(exit == 0, output);
        Assert.Contains("policy OK", output);
        Assert.Contains("category terrorism (statutory)", output);
    }

    [Fact]
    public async Task Check_BrokenCopy_ExitsOneWithEveryLocatedDiagnostic()
    {
        var dir = RepoPaths.CopyToTemp(RepoPaths.Sample("default"));
        var path = Path.Combine(dir, "policy.yaml");
        var text = File.ReadAllText(path).Replace("timezone: Europe/London", "timezone: Europe/Londn").Replace("roles: [pupil]", "roles: [pupils]");
        File.WriteAllText(path, text);

        var (exit, output, _) = await Run("check", "--policy", dir);

        Assert.Equal(1, exit);
        Assert.Matches(@"policy\.yaml:\d+:\d+: error PM0104: unknown time zone 'Europe/Londn'; did you mean 'Europe/London'\?", output);
        Assert.Matches(@"policy\.yaml:\d+:\d+: error PM0103: unknown role 'pupils'; did you mean 'pupil'\?", output);
        Assert.Contains("policy rejected: 2 errors", output);
    }

    [Fact]
    public async Task ExplainJson_PupilOnFacebook_PrintsExactlyOneJsonObject()
    {
        var (exit, output, err) = await Run("explain", "--policy", RepoPaths.Sample("default"), "--user", "pupil1", "--ip", "10.40.0.7",
            "--at", "2026-11-23T10:00:00Z", "--url", "https://www.facebook.com/", "--json");

        Assert.True(exit == 0, err);
        using var json = JsonDocument.Parse(output); // throws if there is anything besides one JSON value
        var root = json.RootElement;
        Assert.Equal("block", root.GetProperty("action").GetString());
        Assert.Equal("social", root.GetProperty("category").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("rule").GetString()));
        Assert.False(string.IsNullOrEmpty(root.GetProperty("reason").GetString()));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("until").ValueKind);
        Assert.Equal(JsonValueKind.True, root.GetProperty("alert").ValueKind); // pupils-social alerts at low severity
        Assert.True(root.GetProperty("trace").GetArrayLength() > 0);
    }

    [Fact]
    public async Task ExplainJson_LocalTimeWithoutOffset_IsPolicyLocal()
    {
        // 16:30 local on 1 June is 15:30Z (BST), inside school hours; they end at 17:00 BST = 16:00Z.
        var (_, output, _) = await Run("explain", "--policy", RepoPaths.Sample("default"), "--user", "staff1", "--ip", "10.30.0.7",
            "--at", "2026-06-01T16:30", "--url", "https://www.facebook.com/", "--json");
        using var json = JsonDocument.Parse(output);
        Assert.Equal("block", json.RootElement.GetProperty("action").GetString());
        Assert.Equal("2026-06-01T16:00:00Z", json.RootElement.GetProperty("until").GetString());
    }

    [Fact]
    public async Task ExplainText_StatutoryHit_SaysItCannotBeOverridden()
    {
        var (exit, output, _) = await Run("explain", "--policy", RepoPaths.Sample("default"), "--ip", "10.30.0.7",
            "--at", "2026-11-23T10:00", "--url", "blocked-terror.test:443");
        Assert.Equal(0, exit);
        Assert.StartsWith("BLOCKED  CONNECT blocked-terror.test:443", output);
        Assert.Contains("cannot be overridden", output);
    }

    [Fact]
    public async Task Item02_ExplainPostToDoubleSlashWikipediaPath_BlocksAndShowsTheJudgedPath()
    {
        string[] args = ["explain", "--policy", RepoPaths.Sample("default"), "--user", "staff1", "--ip", "10.30.0.7",
            "--at", "2026-11-23T10:00", "--method", "POST", "--url", "http://en.wikipedia.org/w//index.php?title=X&action=submit"];
        var (exit, output, err) = await Run(args);
        Assert.True(exit == 0, err);
        Assert.StartsWith("BLOCKED  POST http://en.wikipedia.org/w//index.php?title=X&action=submit", output);
        Assert.Contains("path:     judged as /w/index.php?title=X&action=submit", output);
        Assert.Contains("decided:  no-wikipedia-edits", output);

        var (_, json, _) = await Run([.. args, "--json"]);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("block", doc.RootElement.GetProperty("action").GetString());
        Assert.Equal("/w/index.php?title=X&action=submit", doc.RootElement.GetProperty("path").GetString());
    }

    [Fact]
    public async Task Explain_BadTime_ExitsTwoWithMessage()
    {
        var (exit, _, err) = await Run("explain", "--policy", RepoPaths.Sample("default"), "--ip", "10.30.0.7", "--at", "tomorrow", "--url", "https://a.test/");
        Assert.Equal(2, exit);
        Assert.Contains("--at: 'tomorrow' is not an ISO 8601 date-time", err);
    }

    [Fact]
    public async Task HashPassword_ProducesAHashTheLoaderAccepts()
    {
        var (exit, output, _) = await Run("hash-password", "--iterations", "10000");
        Assert.Equal(0, exit);
        var hash = PolicyModel.Documents.PasswordHash.TryParse(output.Trim(), out var problem);
        Assert.True(hash is not null, problem);
        Assert.True(hash!.Verify("s3cret-pass"));
        Assert.False(hash.Verify("wrong"));
    }
}
