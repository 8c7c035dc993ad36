using System.Net;
using FilterService.Admin.Editing;
using FilterService.Policy;
using FilterService.Tests.TestSupport;
using PolicyModel.Decisions;

namespace FilterService.Tests.Admin.Editing;

/// <summary>Issue 18, "editing what schools change every week": each edit through the loader and the writer, every untouched byte kept.</summary>
public sealed class EditorTests
{
    private static DecisionAction Pupil(PolicyStore store, string host, DateTimeOffset? at = null) =>
        store.Current.Decide(new FilterRequest(IPAddress.Parse("10.40.1.5"), null, "GET", "http", host, 80, "/", at ?? DateTimeOffset.UtcNow)).Action;

    private static string Read(string policy, string file) => File.ReadAllText(Path.Combine(policy, file));

    [Fact]
    public async Task List_AddFirstEntry_CreatesTheSchoolList_AddsItToTheCategory_AndBlocksForPupils()
    {
        var policy = Samples.CopyDefault();
        var (store, writer, _) = PolicyWriterTests.Start(policy);
        var yaml = Read(policy, "policy.yaml");

        var outcome = await new ListEditor(writer, store).AddAsync("social", "  Example-Test.ORG. ", "ict1", "pupils found it");

        Assert.True(outcome.Applied, string.Join("\n", outcome.Outcome.Diagnostics));
        Assert.Equal(DecisionAction.Block, Pupil(store, "www.example-test.org"));
        Assert.EndsWith("\nexample-test.org\n", Read(policy, "lists/school-social.txt"));
        var (removed, added) = YamlLayoutTests.Hunk(yaml, Read(policy, "policy.yaml"));
        Assert.Equal("", removed);
        Assert.Equal("      - path: lists/school-social.txt\n        format: domains\n", added);
        var category = new ListEditor(writer, store).Categories().Single(c => c.Name == "social");
        Assert.Equal(["example-test.org"], category.SchoolEntries);
        Assert.Contains(category.Lists, l => l.School && l.Entries == 1);
    }

    [Theory]
    [InlineData("<script>alert(1)</script>")]
    [InlineData("exa mple.org")]
    [InlineData("-bad-.org")]
    public async Task List_InvalidEntry_IsRefusedByTheListReader_AndNothingChanges(string entry)
    {
        var policy = Samples.CopyDefault();
        var (store, writer, _) = PolicyWriterTests.Start(policy);
        var yaml = Read(policy, "policy.yaml");

        var outcome = await new ListEditor(writer, store).AddAsync("social", entry, "ict1", "x");

        var d = Assert.Single(outcome.Outcome.Errors);
        Assert.Equal("FS0135", d.Code);
        Assert.StartsWith($"entry:1:1: error FS0135: line 1: '{entry}' is not a valid entry: ", d.ToString());
        Assert.Equal(yaml, Read(policy, "policy.yaml"));
        Assert.False(File.Exists(Path.Combine(policy, "lists/school-social.txt")));
    }

    [Fact]
    public async Task List_StatutoryCategory_IsReadOnly()
    {
        var policy = Samples.CopyDefault();
        var (store, writer, _) = PolicyWriterTests.Start(policy);

        var add = await new ListEditor(writer, store).AddAsync("terrorism", "example-test.org", "ict1", "x");
        var remove = await new ListEditor(writer, store).RemoveAsync("terrorism", "example-test.org", "ict1", "x");

        foreach (var outcome in new[] { add, remove })
        {
            Assert.Equal("category: error FS0133: 'terrorism' is a statutory category; it is read only in the console and cannot be weakened",
                Assert.Single(outcome.Outcome.Errors).ToString());
        }
    }

    [Fact]
    public async Task List_Remove_KeepsEveryOtherLineAndComment()
    {
        var policy = Samples.CopyDefault();
        var (store, writer, _) = PolicyWriterTests.Start(policy);
        var editor = new ListEditor(writer, store);
        Assert.True((await editor.AddAsync("social", "a-school.example\nb-school.example\n", "ict1", "x")).Applied);
        var handWritten = Read(policy, "lists/school-social.txt").Replace("b-school.example\n", "# the PTA's page\nb-school.example   \nc-school.example\n");
        File.WriteAllText(Path.Combine(policy, "lists/school-social.txt"), handWritten);
        store.Reload("test");

        var outcome = await editor.RemoveAsync("social", "B-School.example", "ict1", "PTA moved");

        Assert.True(outcome.Applied, string.Join("\n", outcome.Outcome.Diagnostics));
        Assert.Equal(handWritten.Replace("b-school.example   \n", ""), Read(policy, "lists/school-social.txt"));
    }

    [Fact]
    public async Task Exception_GrantedThenEndedNow_AppliesThenBlocksAgain_AndRemovesNothingElse()
    {
        var policy = Samples.CopyDefault();
        var (store, writer, _) = PolicyWriterTests.Start(policy);
        var editor = new ExceptionEditor(writer, store, TimeProvider.System);
        Assert.True((await new ListEditor(writer, store).AddAsync("social", "example-test.org", "ict1", "x")).Applied);
        Assert.Equal(DecisionAction.Block, Pupil(store, "example-test.org"));

        var granted = await editor.AddAsync(new ExceptionForm("pupils-project", null, "pupil", "social", null, null, "2099-12-31", null, "Year 9 project"), "ict1", "project week");
        Assert.True(granted.Applied, string.Join("\n", granted.Outcome.Diagnostics));
        Assert.Equal(DecisionAction.Allow, Pupil(store, "example-test.org"));
        Assert.Contains("    granted_by: ict1\n", Read(policy, "policy.yaml"));

        var ended = await editor.EndNowAsync("pupils-project", "ict1", "project over");
        Assert.True(ended.Applied, string.Join("\n", ended.Outcome.Diagnostics));
        Assert.Equal(DecisionAction.Block, Pupil(store, "example-test.org", DateTimeOffset.UtcNow.AddSeconds(1)));
    }

    [Fact]
    public async Task Exception_UnknownRole_IsShownAtTheRoleField_AndPolicyYamlIsByteForByteUnchanged()
    {
        var policy = Samples.CopyDefault();
        var (store, writer, _) = PolicyWriterTests.Start(policy);
        var bytes = File.ReadAllBytes(Path.Combine(policy, "policy.yaml"));

        var outcome = await new ExceptionEditor(writer, store, TimeProvider.System)
            .AddAsync(new ExceptionForm("x", null, "pupils", "social", null, null, "2099-12-31", null, "r"), "ict1", "x");

        Assert.False(outcome.Applied);
        var d = Assert.Single(outcome.For("role"));
        Assert.Equal("PM0103", d.Code);
        Assert.Contains("did you mean 'pupil'?", d.Message);
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(policy, "policy.yaml")));
    }

    [Fact]
    public async Task Exception_OverAStatutoryCategory_IsRefused()
    {
        var policy = Samples.CopyDefault();
        var (store, writer, _) = PolicyWriterTests.Start(policy);

        var outcome = await new ExceptionEditor(writer, store, TimeProvider.System)
            .AddAsync(new ExceptionForm("x", "staff1", null, "terrorism", null, null, "2099-12-31", null, "r"), "ict1", "x");

        Assert.Contains(outcome.For("allow"), d => d.Code == "PM0402");
    }

    [Fact]
    public async Task Schedule_OverlappingWindows_AreShownAtTheirField_AndNothingChanges()
    {
        var policy = Samples.CopyDefault();
        var (_, writer, _) = PolicyWriterTests.Start(policy);
        var bytes = File.ReadAllBytes(Path.Combine(policy, "policy.yaml"));

        var outcome = await new ScheduleEditor(writer).SetWeeklyAsync("lunch", [("mon-fri", "12:00-13:00"), ("mon", "12:30-14:00")], "ict1", "x");

        Assert.False(outcome.Applied);
        Assert.True(outcome.For("weekly.mon").Any(d => d.Code == "PM0305"), string.Join("\n", outcome.ByField.Select(p => p.Key + " => " + string.Join(" | ", p.Value))));
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(policy, "policy.yaml")));
    }

    [Fact]
    public async Task Schedule_SetWeekly_ChangesOneLine()
    {
        var policy = Samples.CopyDefault();
        var (store, writer, _) = PolicyWriterTests.Start(policy);
        var yaml = Read(policy, "policy.yaml");

        var outcome = await new ScheduleEditor(writer).SetWeeklyAsync("lunch", [("mon-fri", "12:15-13:15")], "ict1", "later lunch");

        Assert.True(outcome.Applied, string.Join("\n", outcome.Outcome.Diagnostics));
        var (removed, added) = YamlLayoutTests.Hunk(yaml, Read(policy, "policy.yaml"));
        Assert.Equal("  lunch:         { weekly: { mon-fri: \"12:00-13:00\" } }\n", removed);
        Assert.Equal("  lunch: { weekly: { mon-fri: \"12:15-13:15\" } }\n", added);
        Assert.Equal(store.Current.Version, outcome.Outcome.Version);
    }

    [Fact]
    public async Task Rule_DisabledThenEnabled_SkipsItThenRestoresTheFileExactly()
    {
        var policy = Samples.CopyDefault();
        var (store, writer, _) = PolicyWriterTests.Start(policy);
        var yaml = Read(policy, "policy.yaml");
        var editor = new RuleEditor(writer);

        Assert.True((await editor.SetEnabledAsync("pupils-social", false, "ict1", "trial")).Applied);
        Assert.Equal(DecisionAction.Allow, Pupil(store, "www.facebook.com"));
        Assert.Equal(("", "    enabled: false\n"), YamlLayoutTests.Hunk(yaml, Read(policy, "policy.yaml")));

        Assert.True((await editor.SetEnabledAsync("pupils-social", true, "ict1", "trial over")).Applied);
        Assert.Equal(DecisionAction.Block, Pupil(store, "www.facebook.com"));
        Assert.Equal(yaml, Read(policy, "policy.yaml"));
    }

    [Fact]
    public async Task Rule_MovedDownAndBack_RestoresTheFileExactly()
    {
        var policy = Samples.CopyDefault();
        var (_, writer, _) = PolicyWriterTests.Start(policy);
        var yaml = Read(policy, "policy.yaml");
        var editor = new RuleEditor(writer);

        Assert.True((await editor.MoveAsync("marketing-official", 2, "ict1", "x")).Applied);
        Assert.Equal("staff-lunch-staffroom", editor.List()[1].Children.First().Value.ToString());
        Assert.True((await editor.MoveAsync("marketing-official", 1, "ict1", "x")).Applied);
        Assert.Equal(yaml, Read(policy, "policy.yaml"));
    }

    [Fact]
    public async Task Rule_AllowOverStatutory_IsRefused()
    {
        var policy = Samples.CopyDefault();
        var (_, writer, _) = PolicyWriterTests.Start(policy);

        var outcome = await new RuleEditor(writer).SaveAsync(null,
            new RuleForm("open-terror", null, "staff", null, null, "terrorism", null, null, null, null, null, "allow", null), "ict1", "x");

        Assert.Contains(outcome.For("category"), d => d.Code == "PM0402");
    }

    [Fact]
    public async Task DeniedUser_AddedThenRemoved_RestoresTheFileExactly()
    {
        var policy = Samples.CopyDefault();
        var (store, writer, _) = PolicyWriterTests.Start(policy);
        var yaml = Read(policy, "policy.yaml");
        var editor = new RuleEditor(writer);

        var added = await editor.AddDeniedAsync("staff1", "under investigation", "ict1", "DSL asked");
        Assert.True(added.Applied, string.Join("\n", added.Outcome.Diagnostics));
        Assert.Contains(store.Current.Decide(new FilterRequest(IPAddress.Parse("10.20.0.9"), "staff1", "GET", "http", "example.org", 80, "/", DateTimeOffset.UtcNow)).Rule,
            new[] { "denied-user", "denied_users" });
        Assert.True((await editor.RemoveDeniedAsync("staff1", "ict1", "cleared")).Applied);
        Assert.Equal(yaml, Read(policy, "policy.yaml"));
    }

    [Fact]
    public async Task Calendar_HolidayAddedThenRemoved_RestoresTheFileExactly()
    {
        var policy = Samples.CopyDefault();
        File.WriteAllText(Path.Combine(policy, "policy.yaml"), Read(policy, "policy.yaml")
            .Replace("  lunch:         { weekly: { mon-fri: \"12:00-13:00\" } }\n", "  lunch:         { weekly: { mon-fri: \"12:00-13:00\" } }\n  term-time: { calendar: term-dates.yaml, days: school }\n"));
        var (_, writer, _) = PolicyWriterTests.Start(policy);
        var calendar = Read(policy, "term-dates.yaml");
        var editor = new ScheduleEditor(writer);
        var holidays = editor.CalendarItems("term-dates.yaml", "holidays").Count;

        var added = await editor.AddCalendarAsync("term-dates.yaml", "holidays", "Snow day", "2026-12-07", null, "ict1", "snow");
        Assert.True(added.Applied, string.Join("\n", added.Outcome.Diagnostics));
        var bad = await editor.AddCalendarAsync("term-dates.yaml", "holidays", "Typo", "2026-02-30", null, "ict1", "x");
        Assert.Contains(bad.For("date"), d => d.Code == "PM0313");
        Assert.True((await editor.RemoveCalendarAsync("term-dates.yaml", "holidays", holidays, "ict1", "no snow")).Applied);
        Assert.Equal(calendar, Read(policy, "term-dates.yaml"));
    }
}
