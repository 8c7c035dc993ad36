using PolicyModel.Diagnostics;
using PolicyModel.Documents;

namespace PolicyModel.Tests.Samples;

/// <summary><c>check</c> passes on every sample in <c>deploy/samples</c>, and fails with located diagnostics on broken copies.</summary>
public sealed class SampleCheckTests
{
    public static TheoryData<string> Samples() => new(SampleFiles.Names);

    [Theory]
    [MemberData(nameof(Samples))]
    public void Check_Sample_LoadsWithoutErrors(string sample)
    {
        var result = SampleFiles.Load(sample);

        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        Assert.Empty(result.Errors);
        Assert.Contains(("terrorism", true), result.Snapshot!.Categories);
        Assert.Contains(("social", false), result.Snapshot!.Categories);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Check_Sample_WarnsOnlyAboutTheMalformedUpstreamLine(string sample)
    {
        var warnings = SampleFiles.Load(sample).Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning).ToList();

        // The Sinfonietta list is shipped byte for byte; its one bad line ("127.0.0.1 snapchat-com") is skipped and reported.
        var warning = Assert.Single(warnings);
        Assert.Equal("PM0202", warning.Code);
        Assert.Equal("lists/sinfonietta-social.hosts", warning.Location.File);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void VerifyPassword_SampleDemoUsers_AcceptTheDocumentedDemoPasswordOnly(string sample)
    {
        var snapshot = SampleFiles.Load(sample).Snapshot!;

        // 100,000 PBKDF2 iterations a check: one wrong password is enough to show they are not accepted.
        foreach (var user in new[] { "staff1", "pupil1", "marketing1", "risk1" })
        {
            Assert.True(snapshot.VerifyPassword(user, $"{user}-demo"), $"{sample}: {user}");
        }

        Assert.False(snapshot.VerifyPassword("staff1", "pupil1-demo"));
    }

    [Fact]
    public void Check_SeadownAfterAnExceptionExpires_WarnsPM0405AndStillLoads()
    {
        var text = File.ReadAllText(Path.Combine(SampleFiles.Dir("seadown-school"), PolicyLoader.FileName));
        var result = PolicyLoader.Load(SampleFiles.Dir("seadown-school"), new FixedClock(new DateTimeOffset(2027, 1, 5, 10, 0, 0, TimeSpan.Zero)));

        var (line, column) = TextPosition.Of(text, "2026-12-18");
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        var warning = Assert.Single(result.Diagnostics, d => d.Code == "PM0405");
        Assert.StartsWith($"policy.yaml:{line}:{column}: warning PM0405: exception 'staff1-parent-forum' expired", warning.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A broken copy of the Cherry Oak policy: <c>find</c> becomes <c>replace</c>; the diagnostic must start with
    /// <c>policy.yaml:LINE:COL: error CODE:</c> where LINE:COL is where <c>locate</c> is in the broken text, and
    /// (when given) carry exactly <c>message</c>.
    /// </summary>
    public static TheoryData<string, string, string, string, string, string?> Broken() => new()
    {
        {
            "unknown role typo",
            "    roles: [staff]\n    category: social\n    during: working-hours",
            "    roles: [staf]\n    category: social\n    during: working-hours",
            "staf]", "PM0103", "unknown role 'staf'; did you mean 'staff'?"
        },
        {
            "missing list file",
            "lists/social-extra.txt",
            "lists/social-extras.txt",
            "lists/social-extras.txt", "PM0201", "list file 'lists/social-extras.txt' not found"
        },
        {
            "bad CIDR",
            "staffroom:   { cidrs: [10.20.0.0/24] }",
            "staffroom:   { cidrs: [10.20.0.0/33] }",
            "10.20.0.0/33", "PM0501", null
        },
        {
            "bad time zone",
            "timezone: Europe/London",
            "timezone: Europe/Londn",
            "Europe/Londn", "PM0104", "unknown time zone 'Europe/Londn'; did you mean 'Europe/London'?"
        },
        {
            "duplicate rule name",
            "  - name: pupils-social",
            "  - name: staff-working-hours",
            "staff-working-hours\n    description: Pupils", "PM0106", null
        },
        {
            "YAML syntax error",
            "name: Cherry Oak Federation",
            "name: Cherry Oak: Federation",
            ": Federation", "PM0100", null
        },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void Check_BrokenCopy_FailsWithLocatedDiagnostic(string what, string find, string replace, string locate, string code, string? message)
    {
        using var copy = new SampleCopy("cherry-oak-federation");
        var original = copy.PolicyText;
        Assert.Contains(find, original);
        var text = original.Replace(find, replace, StringComparison.Ordinal);
        copy.PolicyText = text;

        var result = copy.Load();

        var (line, column) = TextPosition.Of(text, locate);
        var prefix = $"policy.yaml:{line}:{column}: error {code}:";
        Assert.False(result.Succeeded, what);
        var all = string.Join("\n", result.Diagnostics);
        var diagnostic = result.Diagnostics.Select(d => d.ToString()).FirstOrDefault(d => d.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(diagnostic is not null, $"{what}: no diagnostic starting '{prefix}' in:\n{all}");
        if (message is not null)
        {
            Assert.Equal($"{prefix} {message}", diagnostic);
        }
    }
}
