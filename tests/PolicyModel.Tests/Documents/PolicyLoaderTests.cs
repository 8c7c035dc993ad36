namespace PolicyModel.Tests.Documents;

/// <summary>Every broken policy is rejected with each problem located as file:line:col and the exact message.</summary>
public sealed class PolicyLoaderTests
{
    private static string[] Errors(string policy, Action<TestPolicy>? arrange = null)
    {
        using var p = new TestPolicy(policy);
        arrange?.Invoke(p);
        var result = p.Load();
        Assert.False(result.Succeeded);
        return result.Errors.Select(e => e.ToString()).ToArray();
    }

    private const string Rules = "default: allow\nrules:\n";

    [Fact]
    public void Load_ValidPolicy_Succeeds()
    {
        using var p = new TestPolicy(TestPolicy.Head + "default: allow\n");
        Assert.True(p.Load().Succeeded);
    }

    [Fact]
    public void Load_UnknownRole_SuggestsTheClosest()
    {
        var errors = Errors(TestPolicy.Head + Rules + "  - { name: a, roles: [staf], action: block }\n");
        Assert.Equal(["policy.yaml:23:24: error PM0103: unknown role 'staf'; did you mean 'staff'?"], errors);
    }

    [Fact]
    public void Load_UnknownKey_SuggestsTheClosest()
    {
        var errors = Errors(TestPolicy.Head + Rules + "  - { name: a, role: [staff], action: block }\n");
        Assert.Equal(["policy.yaml:23:16: error PM0102: unknown key 'role' in a rule; did you mean 'roles'?"], errors);
    }

    [Fact]
    public void Load_CidrWithHostBits_SaysTheNetworkAddress()
    {
        var errors = Errors(TestPolicy.Head.Replace("[10.20.0.0/24]", "[10.20.0.1/24]") + "default: allow\n");
        Assert.Equal(["policy.yaml:4:24: error PM0501: bad CIDR '10.20.0.1/24': host bits are set; write the network address 10.20.0.0/24"], errors);
    }

    [Fact]
    public void Load_BadTimeZone_SuggestsTheClosest()
    {
        var errors = Errors(TestPolicy.Head.Replace("Europe/London", "Europe/Londn") + "default: allow\n");
        Assert.Equal(["policy.yaml:1:11: error PM0104: unknown time zone 'Europe/Londn'; did you mean 'Europe/London'?"], errors);
    }

    [Fact]
    public void Load_DuplicateRuleName_PointsAtTheSecond()
    {
        var errors = Errors(TestPolicy.Head + Rules +
            "  - { name: a, roles: [staff], category: social, action: block }\n  - { name: a, roles: [pupil], category: social, action: block }\n");
        Assert.Equal(["policy.yaml:24:13: error PM0106: duplicate rule name 'a' (first at line 23)"], errors);
    }

    [Fact]
    public void Load_RuleShadowedByEarlierBroaderRule_IsUnreachable()
    {
        var errors = Errors(TestPolicy.Head + Rules +
            "  - { name: staff-social, roles: [staff], category: social, action: block }\n" +
            "  - { name: staff-social-wifi, roles: [staff], networks: [school-wifi], category: social, action: allow }\n");
        Assert.Equal(["policy.yaml:24:5: error PM0403: rule 'staff-social-wifi' can never match: rule 'staff-social' (line 23) matches every request it does"], errors);
    }

    [Fact]
    public void Load_RuleWithNarrowerScheduleFirst_IsNotShadowed()
    {
        using var p = new TestPolicy(TestPolicy.Head + "schedules:\n  lunch: { weekly: { mon-fri: \"12:00-13:00\" } }\n" + Rules +
            "  - { name: lunch, roles: [staff], category: social, during: lunch, action: allow }\n" +
            "  - { name: other, roles: [staff], category: social, action: block }\n");
        Assert.True(p.Load().Succeeded);
    }

    [Fact]
    public void Load_AllowRuleAndExceptionForStatutoryCategory_AreBothErrors()
    {
        var errors = Errors(TestPolicy.Head + Rules +
            "  - { name: open-terror, roles: [staff], category: terrorism, action: allow }\n" +
            "exceptions:\n  - { name: research, user: staff1, allow: terrorism, until: 2027-01-01, granted_by: Head, reason: research }\n");
        Assert.Equal(
            [
                "policy.yaml:23:52: error PM0402: rule 'open-terror' tries to allow the statutory category 'terrorism'; statutory lists cannot be overridden",
                "policy.yaml:25:44: error PM0402: exception 'research' tries to allow the statutory category 'terrorism'; statutory lists cannot be overridden",
            ],
            errors);
    }

    [Fact]
    public void Load_MissingListFile_IsLocatedAtItsPath()
    {
        var errors = Errors(TestPolicy.Head.Replace("[lists/social.txt]", "[lists/socal.txt]") + "default: allow\n");
        Assert.Equal(["policy.yaml:16:13: error PM0201: list file 'lists/socal.txt' not found"], errors);
    }

    [Fact]
    public void Load_EmptyStatutoryList_FailsClosed()
    {
        var errors = Errors(TestPolicy.Head + "default: allow\n", p => p.Write("lists/terror.sha256", "# nothing\n"));
        Assert.Equal(["policy.yaml:20:22: error PM0204: statutory list 'lists/terror.sha256' has no entries; refusing to run without it (fail closed)"], errors);
    }

    [Fact]
    public void Load_YamlSyntaxError_IsLocated()
    {
        var errors = Errors(TestPolicy.Head + "default: [allow\n");
        Assert.Single(errors);
        Assert.StartsWith("policy.yaml:22:1: error PM0100: YAML syntax error:", errors[0]);
    }

    [Fact]
    public void Load_ExceptionWithoutGrantor_IsRejected()
    {
        var errors = Errors(TestPolicy.Head + Rules + "exceptions:\n  - { name: x, user: staff1, allow: social, until: 2027-01-01 }\n");
        Assert.Equal(["policy.yaml:24:5: error PM0404: exception 'x' needs granted_by, reason: every exception is dated and attributable"], errors);
    }

    [Fact]
    public void Load_BadPasswordHashInUsersFile_IsLocatedInThatFile()
    {
        var errors = Errors(TestPolicy.Head + "default: allow\n",
            p => p.Write("users.csv", "username,display_name,roles,password_hash\nstaff1,Sam Staff,staff,md5$abc\n"));
        Assert.Equal(["users.csv:2:24: error PM0504: bad password hash for 'staff1': expected 'pbkdf2-sha256$ITERATIONS$SALT$HASH'"], errors);
    }

    [Fact]
    public void Load_SeveralProblems_ReportsEveryOne()
    {
        var errors = Errors(TestPolicy.Head.Replace("Europe/London", "Mars/Base") + Rules +
            "  - { name: a, roles: [staf], category: socal, during: lunchtime, action: deny }\n");
        Assert.Equal(5, errors.Length);
        Assert.Contains(errors, e => e.Contains("PM0104"));
        Assert.Contains(errors, e => e.Contains("unknown role 'staf'"));
        Assert.Contains(errors, e => e.Contains("unknown category 'socal'; did you mean 'social'?"));
        Assert.Contains(errors, e => e.Contains("unknown schedule 'lunchtime'"));
        Assert.Contains(errors, e => e.Contains("action must be 'allow' or 'block', not 'deny'"));
    }

    [Fact]
    public void Load_MalformedListLine_IsAWarningWithItsLine()
    {
        using var p = new TestPolicy(TestPolicy.Head + "default: allow\n");
        p.Write("lists/social.txt", "facebook.com\nnot a domain!\ninstagram.com\n");
        var result = p.Load();
        Assert.True(result.Succeeded);
        var warning = Assert.Single(result.Diagnostics, d => d.Code == "PM0202");
        Assert.StartsWith("lists/social.txt:2:1: warning PM0202:", warning.ToString());
        Assert.Equal(1, result.Snapshot!.Lists.Single(l => l.Path == "lists/social.txt").SkippedLines);
    }
}
