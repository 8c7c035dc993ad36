using FilterService.Notifications;
using FilterService.Tests.TestSupport;
using PolicyModel.Decisions;

namespace FilterService.Tests.Notifications;

public sealed class FoldingTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(10);
    private readonly FakeTime _time = new(new DateTimeOffset(2025, 3, 10, 9, 0, 0, TimeSpan.Zero));

    private Incident Attempt(string user = "pupil1", string host = "blocked-terror.test", string category = "terrorism",
        AlertSeverity severity = AlertSeverity.High) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Kind = IncidentKind.Alert,
        At = _time.GetUtcNow(),
        User = user,
        Client = "10.40.0.7",
        Method = "GET",
        Target = $"http://{host}/",
        Host = host,
        Category = category,
        Rule = "statutory:" + category,
        Severity = severity,
    };

    [Fact]
    public void Classify_FirstAttempt_IsAnAlertSentAtOnce()
    {
        var folding = new Folding(Window, TimeSpan.FromMinutes(15));
        var first = folding.Classify(Attempt());
        Assert.Equal(IncidentKind.Alert, first.Kind);
        Assert.False(first.Digest);
    }

    [Fact]
    public void Classify_TwoHundredAttemptsInAMinute_OneAlertThenOneSummaryOf199WhenTheWindowCloses()
    {
        var folding = new Folding(Window, TimeSpan.Zero);
        var kinds = new List<Incident>();
        for (int i = 0; i < 200; i++)
        {
            kinds.Add(folding.Classify(Attempt()));
            _time.Advance(TimeSpan.FromMilliseconds(300));
        }
        Assert.Equal(IncidentKind.Alert, kinds[0].Kind);
        Assert.All(kinds.Skip(1), k => Assert.Equal(IncidentKind.Repeat, k.Kind));
        Assert.All(kinds.Skip(1), k => Assert.Equal(kinds[0].Id, k.FoldOf));

        Assert.Empty(folding.CloseDue(_time.GetUtcNow()));
        _time.Advance(Window);
        var summary = Assert.Single(folding.CloseDue(_time.GetUtcNow()));
        Assert.Equal(IncidentKind.Summary, summary.Kind);
        Assert.Equal(199, summary.Count);
        Assert.Equal(kinds[0].Id + "-more", summary.Id);
        Assert.Equal(kinds[^1].At, summary.LastAt);
        Assert.Empty(folding.CloseDue(_time.GetUtcNow()));
    }

    [Fact]
    public void Classify_WindowIsHalfOpen_AttemptAtItsEndStartsANewAlert()
    {
        var folding = new Folding(Window, TimeSpan.Zero);
        folding.Classify(Attempt());
        _time.Advance(Window - TimeSpan.FromTicks(1));
        Assert.Equal(IncidentKind.Repeat, folding.Classify(Attempt()).Kind);
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(IncidentKind.Alert, folding.Classify(Attempt()).Kind);
        Assert.Equal(1, Assert.Single(folding.CloseDue(_time.GetUtcNow())).Count);
    }

    [Fact]
    public void Classify_DifferentUserHostOrCategory_AreSeparateAlerts()
    {
        var folding = new Folding(Window, TimeSpan.Zero);
        Assert.Equal(IncidentKind.Alert, folding.Classify(Attempt()).Kind);
        Assert.Equal(IncidentKind.Alert, folding.Classify(Attempt(user: "pupil2")).Kind);
        Assert.Equal(IncidentKind.Alert, folding.Classify(Attempt(host: "other-terror.test")).Kind);
        Assert.Equal(IncidentKind.Alert, folding.Classify(Attempt(category: "iwf")).Kind);
        Assert.Equal(IncidentKind.Repeat, folding.Classify(Attempt(user: "pupil2")).Kind);
    }

    [Fact]
    public void Classify_LowSeverityWithDigest_WaitsForTheDigest_HighNever()
    {
        var folding = new Folding(Window, TimeSpan.FromMinutes(15));
        Assert.True(folding.Classify(Attempt(host: "facebook.com", category: "social", severity: AlertSeverity.Low)).Digest);
        Assert.True(folding.Classify(Attempt(host: "x.test", category: "social", severity: AlertSeverity.Medium)).Digest);
        Assert.False(folding.Classify(Attempt(host: "y.test", category: "t", severity: AlertSeverity.High)).Digest);
        var noDigest = new Folding(Window, TimeSpan.Zero);
        Assert.False(noDigest.Classify(Attempt(severity: AlertSeverity.Low)).Digest);
    }

    [Fact]
    public void Restore_AfterRestart_ContinuesTheOpenWindowAndMakesOneSummary()
    {
        var before = new Folding(Window, TimeSpan.Zero);
        var journal = new List<Incident>();
        for (int i = 0; i < 5; i++)
        {
            journal.Add(before.Classify(Attempt()));
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var after = new Folding(Window, TimeSpan.Zero);
        after.Restore(journal, _time.GetUtcNow());
        Assert.True(after.IsInOpenWindow(journal[0]));
        Assert.Equal(IncidentKind.Repeat, after.Classify(Attempt()).Kind);
        _time.Advance(Window);
        var summary = Assert.Single(after.CloseDue(_time.GetUtcNow()));
        Assert.Equal(5, summary.Count);

        // Restarting again with the summary already written must not make a second one.
        var again = new Folding(Window, TimeSpan.Zero);
        again.Restore([.. journal, summary], _time.GetUtcNow());
        Assert.Empty(again.CloseDue(_time.GetUtcNow()));
    }

    [Fact]
    public void Restore_WindowClosedWhileDown_SummaryIsDueAtOnce()
    {
        var before = new Folding(Window, TimeSpan.Zero);
        var journal = new List<Incident> { before.Classify(Attempt()), before.Classify(Attempt()), before.Classify(Attempt()) };
        _time.Advance(TimeSpan.FromHours(1));
        var after = new Folding(Window, TimeSpan.Zero);
        after.Restore(journal, _time.GetUtcNow());
        Assert.Equal(2, Assert.Single(after.CloseDue(_time.GetUtcNow())).Count);
        Assert.Equal(IncidentKind.Alert, after.Classify(Attempt()).Kind);
    }
}
