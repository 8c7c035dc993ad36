using FilterService.Admin;
using FilterService.Admin.Incidents;
using FilterService.Notifications;
using FilterService.Tests.TestSupport;
using PolicyModel.Decisions;

namespace FilterService.Tests.Admin.Incidents;

/// <summary>The incident store on a real console.db (SQLite, WAL) in a temporary directory; only the clock is fake.</summary>
public sealed class IncidentStoreTests
{
    private static readonly DateTimeOffset Nine = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);
    private readonly FakeTime _time = new(Nine);
    private readonly IncidentStore _store;
    private readonly string _path;

    public IncidentStoreTests()
    {
        _path = Path.Combine(TempDir.Create("incidents"), "console.db");
        _store = new IncidentStore(new ConsoleDatabase(_path), _time);
    }

    internal static Incident Alert(string id, DateTimeOffset at, string user = "pupil1") => new()
    {
        Id = id,
        Kind = IncidentKind.Alert,
        At = at,
        User = user,
        DisplayName = "Pat Pupil",
        Roles = ["pupil"],
        Client = "10.40.0.7",
        Network = "pupil-lan",
        Method = "GET",
        Target = "http://blocked-terror.test/page",
        Host = "blocked-terror.test",
        Category = "terrorism",
        Rule = "statutory:terrorism",
        Severity = AlertSeverity.High,
        Reference = "A96C670A",
        PolicyVersion = "c5576528019e",
    };

    [Fact]
    public async Task Ingest_AlertRepeatsAndSummary_OneIncidentCountingEveryAttemptWithTheLastTime()
    {
        var first = Alert("a1", Nine);
        var repeats = Enumerable.Range(1, 3).Select(n => first with { Id = "r" + n, Kind = IncidentKind.Repeat, FoldOf = "a1", At = Nine.AddSeconds(n * 10) }).ToList();
        var summary = first with { Id = "a1-more", Kind = IncidentKind.Summary, FoldOf = "a1", Count = 3, LastAt = Nine.AddSeconds(30), At = Nine };

        _store.Ingest([first, .. repeats]);
        _store.Ingest([first, .. repeats, summary]); // handed again after a restart: nothing counted twice

        var details = await _store.GetAsync("a1");
        Assert.NotNull(details);
        Assert.Equal(4, details.Summary.Attempts);
        Assert.Equal(Nine.AddSeconds(30), details.LastAt);
        Assert.Equal(IncidentState.New, details.Summary.State);
        Assert.Equal("Pat Pupil", details.Summary.DisplayName);
        Assert.Equal(["pupil"], details.Summary.Roles);
        Assert.Equal("A96C670A", details.Reference);
        Assert.Equal(["raised", "repeats"], details.Steps.Select(s => s.What));
        Assert.All(details.Steps, s => Assert.Equal(IncidentStore.Filter, s.Who));
        Assert.Single(await _store.ListAsync(Nine, Nine.AddMinutes(1)));
    }

    [Fact]
    public async Task Ingest_SummaryWhoseRepeatsWereNeverSeen_RaisesAttemptsToOnePlusItsCount()
    {
        _store.Ingest([Alert("a1", Nine)]);
        _store.Ingest([Alert("a1", Nine) with { Id = "a1-more", Kind = IncidentKind.Summary, FoldOf = "a1", Count = 7, LastAt = Nine.AddMinutes(9) }]);

        var details = await _store.GetAsync("a1");
        Assert.Equal(8, details!.Summary.Attempts);
        Assert.Equal(Nine.AddMinutes(9), details.LastAt);
    }

    [Fact]
    public async Task Changes_AcknowledgeActionOutcomeClose_EachStepKeptWithWhoWhenAndWhatChanged()
    {
        _store.Ingest([Alert("a1", Nine)]);

        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(IncidentChangeResult.Done, await _store.AcknowledgeAsync("a1", "dsl1"));
        Assert.Equal(IncidentChangeResult.WrongState, await _store.AcknowledgeAsync("a1", "dsl1"));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(IncidentChangeResult.Done, await _store.AssignAsync("a1", "dsl2", "dsl1"));
        Assert.Equal(IncidentChangeResult.WrongState, await _store.CloseAsync("a1", "dsl2")); // no outcome yet
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(IncidentChangeResult.Done, await _store.RecordActionAsync("a1", "Spoke to Pat with the head of year", "dsl2"));
        Assert.Equal(IncidentChangeResult.BadInput, await _store.RecordOutcomeAsync("a1", "   ", "dsl2"));
        Assert.Equal(IncidentChangeResult.Done, await _store.RecordOutcomeAsync("a1", "Prevent referral not needed; parents informed", "dsl2"));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(IncidentChangeResult.Done, await _store.CloseAsync("a1", "dsl2"));
        Assert.Equal(IncidentChangeResult.Closed, await _store.RecordOutcomeAsync("a1", "changed later", "dsl1"));
        Assert.Equal(IncidentChangeResult.NotFound, await _store.AcknowledgeAsync("nope", "dsl1"));

        var d = (await _store.GetAsync("a1"))!;
        Assert.Equal(IncidentState.Closed, d.Summary.State);
        Assert.Equal("dsl2", d.Summary.AssignedTo);
        Assert.Equal("Spoke to Pat with the head of year", d.Summary.Action);
        Assert.Equal("Prevent referral not needed; parents informed", d.Summary.Outcome);
        Assert.Equal(
            [
                ("filter", "raised", IncidentState.New, IncidentState.New, Nine),
                ("dsl1", "acknowledged", IncidentState.New, IncidentState.Acknowledged, Nine.AddMinutes(5)),
                ("dsl1", "assigned", IncidentState.Acknowledged, IncidentState.Acknowledged, Nine.AddMinutes(6)),
                ("dsl2", "action", IncidentState.Acknowledged, IncidentState.Actioned, Nine.AddMinutes(7)),
                ("dsl2", "outcome", IncidentState.Actioned, IncidentState.Actioned, Nine.AddMinutes(7)),
                ("dsl2", "closed", IncidentState.Actioned, IncidentState.Closed, Nine.AddMinutes(8)),
            ],
            d.Steps.Select(s => (s.Who, s.What, s.From, s.To, s.At)));
        Assert.Equal("dsl2", d.Steps[2].Detail);
    }

    [Fact]
    public async Task Page_NewestFirstWithCountsPerState_FilteredByState()
    {
        _store.Ingest(Enumerable.Range(0, 5).Select(n => Alert("a" + n, Nine.AddMinutes(n), "pupil" + n)).ToList());
        await _store.AcknowledgeAsync("a1", "dsl1");
        await _store.AcknowledgeAsync("a3", "dsl1");

        var all = await _store.PageAsync(null, 0, 2);
        Assert.Equal(["a4", "a3"], all.Items.Select(i => i.Id));
        Assert.Equal(5, all.Total);
        Assert.Equal(3, all.Counts[IncidentState.New]);
        Assert.Equal(2, all.Counts[IncidentState.Acknowledged]);
        Assert.Equal(0, all.Counts[IncidentState.Closed]);
        var next = await _store.PageAsync(null, 2, 2);
        Assert.Equal(["a2", "a1"], next.Items.Select(i => i.Id));
        var acknowledged = await _store.PageAsync(IncidentState.Acknowledged, 0, 10);
        Assert.Equal(["a3", "a1"], acknowledged.Items.Select(i => i.Id));
        Assert.Equal(2, acknowledged.Total);
        Assert.Equal(["a1", "a2"], (await _store.ListAsync(Nine.AddMinutes(1), Nine.AddMinutes(3))).Select(i => i.Id)); // half-open
    }

    [Fact]
    public async Task Store_ConsoleDbNotOpenable_ThrowsOnUseNotAtConstruction_AndWorksOnceItCanBeOpened()
    {
        var dir = TempDir.Create("incidents-blocked");
        var blocker = Path.Combine(dir, "console");
        File.WriteAllText(blocker, "a file where the data directory should be");
        var store = new IncidentStore(() => new ConsoleDatabase(Path.Combine(blocker, "console.db")), _time);

        Assert.ThrowsAny<IOException>(() => store.Ingest([Alert("a1", Nine)]));

        File.Delete(blocker);
        store.Ingest([Alert("a1", Nine)]);
        Assert.Equal(1, (await store.GetAsync("a1"))!.Summary.Attempts);
    }
}
