using System.Diagnostics.Metrics;
using FilterService.Admin;
using FilterService.Admin.Incidents;
using FilterService.Notifications;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace FilterService.Tests.Admin.Incidents;

/// <summary>The ingester on a real outbox journal and a real console.db; the delivery worker's compaction is called directly.</summary>
public sealed class IncidentIngesterTests
{
    private static readonly DateTimeOffset Nine = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Compaction_IncidentNotYetInTheInbox_IsKeptInTheOutboxUntilIngested()
    {
        var time = new FakeTime(Nine);
        using var outbox = new Outbox(TempDir.Create("outbox"), NullLogger<Outbox>.Instance);
        var parent = TempDir.Create("console");
        var data = Path.Combine(parent, "console");
        File.WriteAllText(data, "in the way");
        var store = new IncidentStore(() => new ConsoleDatabase(Path.Combine(data, "console.db")), time);
        using var meters = new MeterFactory();
        var status = new IncidentIngestStatus(time, meters);
        var recorder = new IncidentRecorder(new AlertOptions(), outbox, new AlertStats(outbox, [], meters), time, NullLogger<IncidentRecorder>.Instance);
        var ingester = new IncidentIngester(outbox, recorder, store, status, new IncidentOptions(), TimeProvider.System, NullLogger<IncidentIngester>.Instance);

        await outbox.AppendAsync(IncidentStoreTests.Alert("a1", Nine));
        Assert.False(ingester.IngestOnce());
        Assert.Equal(1, status.Pending);
        Assert.Equal(1, status.Failures);
        Assert.StartsWith("incidents: 1 alert(s) not yet in the console's inbox", Assert.Single(status.Problems));

        // Delivered everywhere and out of its fold window: the delivery worker's rule alone would drop it.
        await outbox.CompactAsync((_, _) => false);
        Assert.Single(outbox.Incidents());

        File.Delete(data);
        Assert.True(ingester.IngestOnce());
        Assert.Empty(status.Problems);
        Assert.Equal(0, status.Pending);
        Assert.Equal(1, (await store.GetAsync("a1"))!.Summary.Attempts);
        await outbox.CompactAsync((_, _) => false);
        Assert.Empty(outbox.Incidents());
        Assert.True(ingester.IngestOnce()); // nothing left, nothing counted twice
        Assert.Equal(1, (await store.GetAsync("a1"))!.Summary.Attempts);
    }

    private sealed class MeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = new();

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}
