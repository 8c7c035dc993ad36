using System.Diagnostics;
using System.Net;
using PolicyModel.Decisions;
using PolicyModel.Documents;
using PolicyModel.Files;
using PolicyModel.Matching;

namespace PolicyModel.Tests.Documents;

/// <summary>Issue 15: host patterns, statutory hosts, input limits, crash-free loading and date-times, each shown by exact diagnostics.</summary>
public sealed class Issue15LoaderTests
{
    private const string Rules = "default: allow\nrules:\n";

    private static string[] Errors(string policy, Action<TestPolicy>? arrange = null)
    {
        using var p = new TestPolicy(policy);
        arrange?.Invoke(p);
        var result = p.Load();
        Assert.False(result.Succeeded);
        return result.Errors.Select(e => e.ToString()).ToArray();
    }

    private static DecisionAction Decide(PolicySnapshot snapshot, string host, string? user = null, string utc = "2026-11-23T10:00:00Z") =>
        snapshot.Decide(new FilterRequest(IPAddress.Parse("10.20.0.5"), user, "GET", "https", host, 443, "/", DateTimeOffset.Parse(utc)), withTrace: false).Action;

    private static void Link(TestPolicy p, string relative, string target)
    {
        var path = Path.Combine(p.Directory, relative);
        File.Delete(path);
        File.CreateSymbolicLink(path, target);
    }

    // Item 6: "wildcard" used to be the loader's stand-in for '*', so a literal label "wildcard" became a wildcard.

    [Fact]
    public void Item06_HostLabelNamedWildcard_IsJustALabel()
    {
        using var p = new TestPolicy(TestPolicy.Head + Rules + "  - { name: w, hosts: [\"wildcard.example.org\"], action: block }\n");
        var snapshot = p.Snapshot();

        Assert.Equal(DecisionAction.Block, Decide(snapshot, "wildcard.example.org"));
        Assert.Equal(DecisionAction.Block, Decide(snapshot, "www.wildcard.example.org"));
        Assert.Equal(DecisionAction.Allow, Decide(snapshot, "other.example.org"));
        Assert.Equal(DecisionAction.Allow, Decide(snapshot, "example.org"));
    }

    [Fact]
    public void Item06_HostStarFirstLabel_MatchesSubdomainsOnly()
    {
        using var p = new TestPolicy(TestPolicy.Head + Rules + "  - { name: w, hosts: [\"*.Example.ORG\"], action: block }\n");
        var snapshot = p.Snapshot();

        Assert.Equal(DecisionAction.Block, Decide(snapshot, "a.example.org"));
        Assert.Equal(DecisionAction.Block, Decide(snapshot, "a.b.example.org"));
        Assert.Equal(DecisionAction.Allow, Decide(snapshot, "example.org"));
        Assert.Equal(DecisionAction.Allow, Decide(snapshot, "notexample.org"));
    }

    [Fact]
    public void Item06_HostStarAnywhereButTheFirstLabel_IsAnError()
    {
        var errors = Errors(TestPolicy.Head + Rules + "  - { name: w, hosts: [\"a*.example.org\", \"*.*.org\", \"*\", \"*.10.0.0.1\"], action: block }\n");

        Assert.Equal(
            [
                "policy.yaml:23:24: error PM0406: bad host pattern 'a*.example.org': '*' may only be the whole first label ('*.example.org': its subdomains)",
                "policy.yaml:23:42: error PM0406: bad host pattern '*.*.org': '*' may only be the whole first label ('*.example.org': its subdomains)",
                "policy.yaml:23:53: error PM0406: bad host pattern '*': '*' may only be the whole first label ('*.example.org': its subdomains)",
                "policy.yaml:23:58: error PM0406: bad host pattern '*.10.0.0.1'",
            ],
            errors);
    }

    // Item 7: allowing a host that a statutory list names is an error, like allowing the category; the test list is hashed.

    [Fact]
    public void Item07_AllowRuleOrExceptionNamingStatutoryHost_IsAnError()
    {
        var errors = Errors(TestPolicy.Head + Rules +
            "  - { name: open, roles: [staff], hosts: [Blocked-Terror.test, \"*.blocked-terror.test\", www.blocked-terror.test], action: allow }\n" +
            "exceptions:\n  - { name: research, user: staff1, hosts: [blocked-terror.test], until: 2027-01-01, granted_by: Head, reason: research }\n");

        Assert.Equal(
            [
                "policy.yaml:23:43: error PM0407: rule 'open' tries to allow 'Blocked-Terror.test', which is in the statutory category 'terrorism'; statutory lists cannot be overridden",
                "policy.yaml:23:64: error PM0407: rule 'open' tries to allow '*.blocked-terror.test', which is in the statutory category 'terrorism'; statutory lists cannot be overridden",
                "policy.yaml:23:89: error PM0407: rule 'open' tries to allow 'www.blocked-terror.test', which is in the statutory category 'terrorism'; statutory lists cannot be overridden",
                "policy.yaml:25:45: error PM0407: exception 'research' tries to allow 'blocked-terror.test', which is in the statutory category 'terrorism'; statutory lists cannot be overridden",
            ],
            errors);
    }

    [Fact]
    public void Item07_BlockRuleNamingStatutoryHost_AndAllowOfItsParent_Load()
    {
        using var p = new TestPolicy(TestPolicy.Head + Rules +
            "  - { name: shut, roles: [pupil], hosts: [blocked-terror.test], action: block }\n" +
            "  - { name: open, roles: [staff], hosts: [test-school.test], action: allow }\n");

        Assert.True(p.Load().Succeeded, string.Join("\n", p.Load().Diagnostics));
    }

    // Item 9: limits on depth, size and file type, each a located error; nothing can overflow the stack or read forever.

    [Fact]
    public void Item09_PolicyNested20000Deep_IsALocatedErrorNotAStackOverflow()
    {
        var errors = Errors(TestPolicy.Head + "default: allow\ndeep: " + new string('[', 20_000) + new string(']', 20_000) + "\n");

        Assert.Equal(["policy.yaml:22:70: error PM0108: nested more than 64 levels deep; a policy needs a handful"], errors);
    }

    [Fact]
    public void Item09_TermCalendarNestedDeep_IsALocatedError()
    {
        var errors = Errors(TestPolicy.Head + "schedules:\n  s: { weekly: { mon-fri: \"09:00-17:00\" }, calendar: terms.yaml, days: school }\ndefault: allow\n",
            p => p.Write("terms.yaml", "terms: " + new string('[', 20_000) + "\n"));

        Assert.Equal(["terms.yaml:1:71: error PM0108: nested more than 64 levels deep; a policy needs a handful"], errors);
    }

    [Fact]
    public void Item09_PolicyLargerThanOneMegabyte_IsRefused()
    {
        var errors = Errors("", p => p.Write("policy.yaml", TestPolicy.Head + "default: allow\n" + string.Concat(Enumerable.Repeat("# padding padding padding\n", 50_000))));

        Assert.Equal(["policy.yaml: error PM0109: 'policy.yaml' is larger than the limit of 1 MB"], errors);
    }

    [Fact]
    public void Item09_PolicyLinkedToDevZero_IsRefusedWithoutReading()
    {
        var errors = Errors("", p => Link(p, "policy.yaml", "/dev/zero"));

        Assert.Equal(["policy.yaml: error PM0110: 'policy.yaml' is not a regular file (a device, FIFO or socket); refusing to read it"], errors);
    }

    [Fact]
    public void Item09_ListUsersCalendarAndTimetableLinkedToDevZero_AreLocatedErrors()
    {
        var errors = Errors(TestPolicy.Head.Replace("[lists/social.txt]", "[lists/social.txt, lists/ut1]") +
            "schedules:\n  s: { weekly: { mon-fri: \"09:00-17:00\" }, calendar: terms.yaml, days: school }\n  t: { timetable: periods.csv }\ndefault: allow\n",
            p =>
            {
                Link(p, "lists/social.txt", "/dev/zero");
                Link(p, "users.csv", "/dev/zero");
                Link(p, "terms.yaml", "/dev/zero");
                Link(p, "periods.csv", "/dev/zero");
                Directory.CreateDirectory(Path.Combine(p.Directory, "lists/ut1"));
                File.CreateSymbolicLink(Path.Combine(p.Directory, "lists/ut1/domains"), "/dev/urandom");
            });

        Assert.Equal(
            [
                "policy.yaml:9:10: error PM0110: users file 'users.csv' is not a regular file (a device, FIFO or socket); refusing to read it",
                "policy.yaml:10:15: error PM0506: proxy_auth needs a users file or a directory to check passwords against",
                "policy.yaml:12:36: error PM0503: unknown user 'staff1'",
                "policy.yaml:16:13: error PM0110: list 'lists/social.txt' is not a regular file (a device, FIFO or socket); refusing to read it",
                "policy.yaml:16:31: error PM0110: list 'lists/ut1/domains' is not a regular file (a device, FIFO or socket); refusing to read it",
                "policy.yaml:22:54: error PM0110: term calendar 'terms.yaml' is not a regular file (a device, FIFO or socket); refusing to read it",
                "policy.yaml:23:19: error PM0110: timetable 'periods.csv' is not a regular file (a device, FIFO or socket); refusing to read it",
            ],
            errors);
    }

    [Fact]
    public void Item09_ListThatIsAFifo_IsRefusedWithoutBlocking()
    {
        var errors = Errors(TestPolicy.Head + "default: allow\n", p =>
        {
            var list = Path.Combine(p.Directory, "lists/social.txt");
            File.Delete(list);
            using var mkfifo = Process.Start("mkfifo", [list]);
            Assert.True(mkfifo.WaitForExit(10_000));
        });

        Assert.Equal(["policy.yaml:16:13: error PM0110: list 'lists/social.txt' is not a regular file (a device, FIFO or socket); refusing to read it"], errors);
    }

    [Fact]
    public void Item09_ListLargerThanItsLimit_IsRefusedBeforeReading()
    {
        var errors = Errors(TestPolicy.Head + "default: allow\n", p =>
        {
            // Sparse: no disk space used, and never read.
            using var f = File.Open(Path.Combine(p.Directory, "lists/social.txt"), FileMode.Append);
            f.SetLength(PolicyFiles.MaxListBytes + 1);
        });

        Assert.Equal(["policy.yaml:16:13: error PM0109: list 'lists/social.txt' is larger than the limit of 512 MB"], errors);
    }

    [Fact]
    public void Item09_ListGrowingPastItsLimitWhileRead_StopsAtTheLimit()
    {
        using var p = new TestPolicy(TestPolicy.Head + "default: allow\n");
        var path = Path.Combine(p.Directory, "lists/social.txt");

        var e = Assert.Throws<ListTooLargeException>(() => ListReader.Read(path, "lists/social.txt", ListFormat.Domains, maxBytesPerFile: 20));
        Assert.Equal(20, e.Limit);
    }

    // Item 10: inputs that threw from inside YamlDotNet (found by Fuzz/PolicyFuzzTests) are located syntax errors.

    [Fact]
    public void Item10_MutatedPoliciesFromTheIssue_AreLocatedSyntaxErrors()
    {
        // ": " where a key belongs: YamlDotNet threw ArgumentException from the end of the document.
        Assert.Equal(
            ["policy.yaml:8:2: error PM0100: YAML syntax error: a key is missing before ':'"],
            Errors(TestPolicy.Head.Replace("identity:\n", ": \nidentity:\n") + "default: allow\n"));

        // An unclosed flow mapping before a new line: YamlDotNet threw InvalidOperationException from its scanner.
        Assert.Equal(
            ["policy.yaml:17:7: error PM0100: YAML syntax error: malformed YAML near here"],
            Errors(TestPolicy.Head.Replace("lists: [lists/social.txt]", "lists:\n      - { path: {}") + "default: allow\n"));

        // An explicit empty key, found by the fuzz test.
        Assert.Equal(
            ["policy.yaml:21:4: error PM0100: YAML syntax error: a key is missing before ':'"],
            Errors(TestPolicy.Head + "? : \ndefault: allow\n"));
    }

    // Smaller: exception dates to the minute (and second), in school local time.

    [Fact]
    public void Smaller_ExceptionFromToTheMinuteOrSecond_IsAcceptedInSchoolLocalTime()
    {
        foreach (var from in new[] { "2026-06-01T09:00", "2026-06-01T09:00:00", "2026-06-01T08:00Z", "2026-06-01T09:00+01:00", "2026-06-01T08:00:00Z" })
        {
            using var p = new TestPolicy(TestPolicy.Head + Rules + "  - { name: pupils-social, roles: [pupil], category: social, action: block }\n" +
                $"exceptions:\n  - {{ name: drama, user: pupil1, allow: social, from: {from}, until: 2026-06-05, granted_by: Head, reason: Drama club page }}\n");
            var snapshot = p.Snapshot();

            // 09:00 in London in June is 08:00Z (BST); each form says the same instant.
            Assert.Equal(DecisionAction.Block, Decide(snapshot, "facebook.com", "pupil1", "2026-06-01T07:59:00Z"));
            Assert.Equal(DecisionAction.Allow, Decide(snapshot, "facebook.com", "pupil1", "2026-06-01T08:00:00Z"));
        }
    }

    [Fact]
    public void Smaller_ExceptionFromNotADate_SaysWhatIsAccepted()
    {
        var errors = Errors(TestPolicy.Head + Rules +
            "exceptions:\n  - { name: drama, user: pupil1, allow: social, from: 2026-06-01 09:00, until: 2026-06-05, granted_by: Head, reason: r }\n");

        Assert.Equal(["policy.yaml:24:55: error PM0411: '2026-06-01 09:00' is not a date (2026-12-18) or a date-time in school local time (2026-12-18T16:00 or 2026-12-18T16:00:30)"], errors);
    }
}
