using System.Net;
using System.Text.RegularExpressions;
using FilterService.Admin.Reports;
using FilterService.Cli;
using FilterService.Tests.TestSupport;
using PolicyModel.Documents;

namespace FilterService.Tests.Admin.Reports;

/// <summary>
/// Issue 19, must show: the review pack runs against the cherry-oak sample and lists every group and category with the
/// outcome, and a deliberately weakened copy of the policy (pupils allowed social media) is flagged.
/// </summary>
public sealed partial class ReviewPackTests
{
    private static async Task<(int Exit, string Html, string Output)> RunPack(string policy, string? extra = null)
    {
        var dir = TempDir.Create("pack");
        var settings = WeeklyReportEmailTests.Settings(dir, Path.Combine(dir, "logs"), SmtpSink.FreePort(), policy, extra);
        var file = Path.Combine(dir, "pack.html");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await CliCommands.RunAsync(["review-pack", "--out", file, "--config", settings], stdout, stderr, new StringReader(""));
        return (exit, File.Exists(file) ? await File.ReadAllTextAsync(file) : "", stdout + "\n" + stderr);
    }

    private static List<(string Group, string Category, string Outcome)> Rows(string html) =>
        ResultRow().Matches(html).Select(m => (WebUtility.HtmlDecode(m.Groups[1].Value), m.Groups[2].Value, m.Groups[3].Value)).ToList();

    [Fact]
    public async Task ReviewPack_CherryOakSample_ListsEveryGroupAndCategoryWithItsOutcome()
    {
        var (exit, html, output) = await RunPack(RepoPaths.Sample("default"));
        Assert.True(exit == 0, output);
        Assert.Contains("review pack: 20 groups x 3 categories; 0 critical, 0 flagged", output);
        var rows = Rows(html);

        // Every network's unsigned devices, the device outside every network, and each role with an account on each network.
        string[] places = ["on staffroom", "on school-wifi", "on pupil-lan", "on guest-wifi", "outside the named networks"];
        var groups = rows.Select(r => r.Group).Distinct().ToList();
        Assert.Equal(20, groups.Count);
        foreach (var place in places)
        {
            Assert.Contains(groups, g => g.StartsWith($"device {place}, not signed in"));
            foreach (var role in new[] { "pupil", "staff", "marketing" })
            {
                Assert.Contains(groups, g => g.StartsWith($"{role} signed in {place}"));
            }
        }
        Assert.Contains("device on guest-wifi, not signed in (role guest)", groups);
        Assert.Contains("device outside the named networks, not signed in (anonymous, no role)", groups);
        foreach (var group in groups)
        {
            Assert.Equal(["circumvention", "social", "terrorism"], rows.Where(r => r.Group == group).Select(r => r.Category).Order());
        }

        // Outcomes the sample's rules promise (decided at Wednesday 10:30, a lesson).
        Assert.All(rows.Where(r => r.Category == "terrorism" && !r.Group.Contains("staffroom, not") && !r.Group.Contains("school-wifi, not")),
            r => Assert.Equal("blocked", r.Outcome));
        Assert.Equal("blocked", rows.Single(r => r.Group == "device on pupil-lan, not signed in (role pupil)" && r.Category == "social").Outcome);
        Assert.Equal("blocked", rows.Single(r => r.Group == "pupil signed in on school-wifi" && r.Category == "circumvention").Outcome);
        Assert.Equal("blocked", rows.Single(r => r.Group == "staff signed in on staffroom" && r.Category == "social").Outcome);
        Assert.Equal("allowed", rows.Single(r => r.Group.StartsWith("marketing signed in on staffroom") && r.Category == "social").Outcome);
        Assert.Equal("blocked", rows.Single(r => r.Group == "device on guest-wifi, not signed in (role guest)" && r.Category == "circumvention").Outcome);
        Assert.Equal("sign-in required first", rows.Single(r => r.Group.StartsWith("device on staffroom, not signed in") && r.Category == "social").Outcome);

        Assert.Contains("data-flags=\"0\"", html);
        Assert.Contains("blocked-terror.test", html); // the statutory hashed list's known test entry
        Assert.Contains("pupils-social: Block social sites for role pupil.", html);
        Assert.Contains("risk1 is denied all access: Identified as a security risk (decided by DSL).", html);
        Assert.Contains("@media print", html);
        Assert.DoesNotContain("pupil1", html);
    }

    [Fact]
    public async Task ReviewPack_WeakenedCopy_PupilsAllowedSocialMedia_IsFlaggedForEveryPupilGroup()
    {
        var dir = RepoPaths.CopyToTemp(RepoPaths.Sample("default"));
        var path = Path.Combine(dir, "policy.yaml");
        var text = File.ReadAllText(path);
        const string rule = "  - name: pupils-social\n    description: Pupils may not use social media\n    roles: [pupil]\n    category: social\n    action: block\n";
        Assert.Contains(rule, text);
        File.WriteAllText(path, text.Replace(rule, rule.Replace("action: block", "action: allow")));

        var (exit, html, output) = await RunPack(dir);
        Assert.True(exit == 0, output);
        var pupilGroups = Rows(html).Select(r => r.Group).Distinct().Where(g => g.StartsWith("pupil signed in") || g.Contains("(role pupil)")).ToList();
        Assert.Equal(6, pupilGroups.Count);
        Assert.Contains("review pack: 20 groups x 3 categories; 0 critical, 6 flagged", output);
        foreach (var group in pupilGroups)
        {
            Assert.Matches($"<li class=\"warn flag\" data-group=\"{Regex.Escape(WebUtility.HtmlEncode(group))}\" data-category=\"social\">Flag: Pupils must not reach &#39;social&#39;", html);
        }
    }

    [Fact]
    public void Run_ConfiguredStatutoryTestAddressNotOnTheList_IsCritical()
    {
        // The school's configured test entry for the terrorism list is not on it: the category is reachable at that address.
        var policy = PolicyLoader.Load(RepoPaths.Sample("default")).Snapshot!;
        var settings = new ReviewSettings { TestAddresses = { ["terrorism"] = ["example.org"] } };
        var result = ReviewPackRunner.Run(policy, settings, ["pupil"], inspection: false, new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero));
        var critical = result.Flags.Where(f => f.Critical).ToList();
        Assert.NotEmpty(critical);
        Assert.All(critical, f => Assert.Equal("terrorism", f.Category));
        Assert.Contains(critical, f => f.Group.Name == "device on pupil-lan, not signed in (role pupil)");
        Assert.All(critical, f => Assert.Contains(f.Probes, p => p.Allowed && p.Address.Address == "example.org"));
    }

    [GeneratedRegex("<tr class=\"[^\"]*\" data-group=\"([^\"]*)\" data-category=\"([^\"]*)\" data-outcome=\"([^\"]*)\">")]
    private static partial Regex ResultRow();
}
