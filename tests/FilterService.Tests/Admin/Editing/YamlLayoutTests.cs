using FilterService.Admin.Editing;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin.Editing;

/// <summary>Issue 18: a console edit never destroys comments or layout in parts it did not touch. Each case asserts the one hunk that changed.</summary>
public sealed class YamlLayoutTests
{
    private static readonly string Sample = File.ReadAllText(Path.Combine(Samples.DefaultDir, "policy.yaml"));

    /// <summary>The single contiguous hunk between two texts: what was removed and what was added, every other byte equal.</summary>
    internal static (string Removed, string Added) Hunk(string before, string after)
    {
        var a = before.Split('\n').Select(l => l + "\n").ToArray();
        var b = after.Split('\n').Select(l => l + "\n").ToArray();
        var prefix = 0;
        while (prefix < a.Length && prefix < b.Length && a[prefix] == b[prefix])
        {
            prefix++;
        }
        var suffix = 0;
        while (suffix < a.Length - prefix && suffix < b.Length - prefix && a[^(suffix + 1)] == b[^(suffix + 1)])
        {
            suffix++;
        }
        return (string.Concat(a[prefix..^suffix]), string.Concat(b[prefix..^suffix]));
    }

    private const string Marketing =
        "  # Seed: \"marketing staff may use it\" (they run the federation's official accounts)\n" +
        "  - name: marketing-official\n" +
        "    description: Marketing staff run the federation's official social media accounts\n" +
        "    roles: [marketing]\n" +
        "    category: social\n" +
        "    action: allow\n";

    [Fact]
    public void ReplaceItem_Rule_ChangesOnlyItsOwnLines_KeepingTheCommentAbove()
    {
        var edited = YamlLayout.Parse(Sample).ReplaceItem(["rules"], 1,
            YamlMap.Of(("name", "marketing-official"), ("roles", new[] { "marketing", "staff" }), ("category", "social"), ("action", "allow"))).Text;

        var (removed, added) = Hunk(Sample, edited);
        // The name, category and action lines are written again as they were: the hunk is the lines in between.
        Assert.Equal("    description: Marketing staff run the federation's official social media accounts\n    roles: [marketing]\n", removed);
        Assert.Equal("    roles: [marketing, staff]\n", added);
        Assert.Contains(Marketing[..Marketing.IndexOf('\n')], edited);
    }

    [Fact]
    public void RemoveItem_Rule_TakesItsCommentWithIt_AndNothingElse()
    {
        var edited = YamlLayout.Parse(Sample).RemoveItem(["rules"], 1).Text;

        Assert.Equal(Sample.Replace(Marketing, ""), edited);
    }

    [Fact]
    public void MoveItem_Rule_MovesItsTextWithItsComment()
    {
        var edited = YamlLayout.Parse(Sample).MoveItem(["rules"], 1, 3).Text;

        var working = Sample.IndexOf("\n  # Seed: \"staff no personal", StringComparison.Ordinal);
        var workingEnd = Sample.IndexOf("    during: working-hours\n    action: block\n", StringComparison.Ordinal) + "    during: working-hours\n    action: block\n".Length;
        Assert.Equal(Sample.Length, edited.Length);
        Assert.Equal(Sample[..Sample.IndexOf(Marketing, StringComparison.Ordinal)], edited[..Sample.IndexOf(Marketing, StringComparison.Ordinal)]);
        Assert.Equal(Sample[workingEnd..], edited[workingEnd..]);
        Assert.Contains(Marketing, edited);
        Assert.True(edited.IndexOf(Marketing, StringComparison.Ordinal) > edited.IndexOf("- name: staff-working-hours", StringComparison.Ordinal));
        Assert.True(working > 0);
        Assert.Equal(Sample, YamlLayout.Parse(edited).MoveItem(["rules"], 3, 1).Text);
    }

    [Fact]
    public void SetEntry_Schedule_ReplacesOneLine()
    {
        var edited = YamlLayout.Parse(Sample).SetEntry(["schedules"], "lunch", YamlMap.Of(("weekly", YamlMap.Of(("mon-fri", "12:15-13:15"))))).Text;

        var (removed, added) = Hunk(Sample, edited);
        Assert.Equal("  lunch:         { weekly: { mon-fri: \"12:00-13:00\" } }\n", removed);
        Assert.Equal("  lunch: { weekly: { mon-fri: \"12:15-13:15\" } }\n", added);
    }

    [Fact]
    public void SetEntry_NewSchedule_IsOneLineAfterTheLast()
    {
        var edited = YamlLayout.Parse(Sample).SetEntry(["schedules"], "after-school", YamlMap.Of(("weekly", YamlMap.Of(("mon-fri", "15:30-18:00"))))).Text;

        Assert.Equal(Sample.Replace("  lunch:         { weekly: { mon-fri: \"12:00-13:00\" } }\n",
            "  lunch:         { weekly: { mon-fri: \"12:00-13:00\" } }\n  after-school: { weekly: { mon-fri: \"15:30-18:00\" } }\n"), edited);
    }

    [Fact]
    public void SetEntry_DisableABlockRule_AddsOneLine_AndEnablingRemovesIt()
    {
        var disabled = YamlLayout.Parse(Sample).SetEntry(["rules", 3], "enabled", false).Text;

        Assert.Equal(Sample.Replace("    during: working-hours\n    action: block\n", "    during: working-hours\n    action: block\n    enabled: false\n"), disabled);
        Assert.Equal(Sample, YamlLayout.Parse(disabled).SetEntry(["rules", 3], "enabled", null).Text);
    }

    [Fact]
    public void SetEntry_FlowItem_ChangesOnlyInsideItsBraces()
    {
        var edited = YamlLayout.Parse(Sample).SetEntry(["denied_users", 0], "reason", "Security risk: see log 12").Text;

        var (removed, added) = Hunk(Sample, edited);
        Assert.Equal("  - { user: risk1, reason: Identified as a security risk, by: DSL }\n", removed);
        Assert.Equal("  - { user: risk1, reason: \"Security risk: see log 12\", by: DSL }\n", added);
    }

    [Fact]
    public void InsertItem_MissingSection_IsAppendedAtTheEnd()
    {
        var edited = YamlLayout.Parse(Sample).InsertItem(["exceptions"], 0,
            YamlMap.Of(("name", "pe-page"), ("user", "staff1"), ("allow", "social"), ("until", "2026-12-18"), ("granted_by", "ict1"), ("reason", "PE page"))).Text;

        Assert.StartsWith(Sample, edited);
        Assert.Equal("exceptions:\n  - name: pe-page\n    user: staff1\n    allow: social\n    until: 2026-12-18\n    granted_by: ict1\n    reason: PE page\n", edited[Sample.Length..]);
    }

    [Fact]
    public void InsertItem_ListOfACategory_IsOneLineAfterTheLastList()
    {
        var edited = YamlLayout.Parse(Sample).InsertItem(["categories", "social", "lists"], 2, YamlMap.Of(("path", "lists/school-social.txt"), ("format", "domains"))).Text;

        Assert.Equal(Sample.Replace("      - { path: lists/social-extra.txt, format: domains }\n",
            "      - { path: lists/social-extra.txt, format: domains }\n      - path: lists/school-social.txt\n        format: domains\n"), edited);
    }

    [Fact]
    public void InsertItem_BeforeAnItem_GoesAboveItsComment()
    {
        var edited = YamlLayout.Parse(Sample).InsertItem(["denied_users"], 0, YamlMap.Of(("user", "risk2"), ("reason", "x"), ("by", "DSL"))).Text;

        Assert.Equal(Sample.Replace("# Seed: \"risk1 (staff) is denied all access as a security risk\"\ndenied_users:\n",
            "# Seed: \"risk1 (staff) is denied all access as a security risk\"\ndenied_users:\n  - user: risk2\n    reason: x\n    by: DSL\n"), edited);
    }

    [Theory]
    [InlineData("social", "social")]
    [InlineData("12:00-13:00", "\"12:00-13:00\"")]
    [InlineData("2026-12-18", "2026-12-18")]
    [InlineData("yes", "\"yes\"")]
    [InlineData("<script>alert(1)</script>", "\"<script>alert(1)</script>\"")]
    [InlineData("a \"b\"\n", "\"a \\\"b\\\"\\n\"")]
    [InlineData("# not a comment", "\"# not a comment\"")]
    public void Scalar_IsPlainOnlyWhenUnambiguous(string value, string written) => Assert.Equal(written, YamlRender.Scalar(value));
}
