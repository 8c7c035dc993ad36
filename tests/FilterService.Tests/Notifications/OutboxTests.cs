using FilterService.Notifications;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using PolicyModel.Decisions;

namespace FilterService.Tests.Notifications;

public sealed class OutboxTests
{
    private static Incident Make(string id, IncidentKind kind = IncidentKind.Alert) => new()
    {
        Id = id,
        Kind = kind,
        At = DateTimeOffset.UnixEpoch,
        User = "pupil1",
        Roles = ["pupil"],
        Client = "10.40.0.7",
        Method = "GET",
        Target = "http://blocked-terror.test/",
        Host = "blocked-terror.test",
        Category = "terrorism",
        Rule = "statutory:terrorism",
        Severity = AlertSeverity.High,
    };

    [Fact]
    public async Task Reopen_KeepsIncidentsAndDeliveriesPerChannel()
    {
        var dir = TempDir.Create("outbox");
        using (var outbox = new Outbox(dir, NullLogger<Outbox>.Instance))
        {
            await outbox.AppendAsync(Make("a"));
            await outbox.AppendAsync(Make("b"));
            await outbox.AppendAsync(Make("r", IncidentKind.Repeat));
            await outbox.MarkDeliveredAsync(["a"], "email");
        }
        using var reopened = new Outbox(dir, NullLogger<Outbox>.Instance);
        Assert.Equal(["a", "b", "r"], reopened.Incidents().Select(i => i.Id));
        Assert.Equal(["b"], reopened.Pending("email").Select(i => i.Id));
        Assert.Equal(["a", "b"], reopened.Pending("webhook").Select(i => i.Id));
        Assert.Equal(["pupil"], reopened.Incidents()[0].Roles);
        Assert.Equal(AlertSeverity.High, reopened.Incidents()[0].Severity);
    }

    [Fact]
    public async Task Reopen_TornLastLineFromACrash_IsCutOffAndAppendsStillWork()
    {
        var dir = TempDir.Create("outbox");
        using (var outbox = new Outbox(dir, NullLogger<Outbox>.Instance))
        {
            await outbox.AppendAsync(Make("a"));
        }
        await File.AppendAllTextAsync(Path.Combine(dir, Outbox.FileName), "{\"add\":{\"id\":\"torn");
        using (var outbox = new Outbox(dir, NullLogger<Outbox>.Instance))
        {
            Assert.Equal(["a"], outbox.Incidents().Select(i => i.Id));
            await outbox.AppendAsync(Make("b"));
        }
        using var third = new Outbox(dir, NullLogger<Outbox>.Instance);
        Assert.Equal(["a", "b"], third.Incidents().Select(i => i.Id));
    }

    [Fact]
    public async Task Compact_DropsWhatTheFilterRejects_AndSurvivesReopen()
    {
        var dir = TempDir.Create("outbox");
        using (var outbox = new Outbox(dir, NullLogger<Outbox>.Instance))
        {
            await outbox.AppendAsync(Make("a"));
            await outbox.AppendAsync(Make("b"));
            await outbox.MarkDeliveredAsync(["a"], "email");
            await outbox.MarkDeliveredAsync(["b"], "webhook");
            await outbox.CompactAsync((i, delivered) => !delivered.Contains("email"));
            Assert.Equal(["b"], outbox.Incidents().Select(i => i.Id));
            await outbox.AppendAsync(Make("c"));
        }
        using var reopened = new Outbox(dir, NullLogger<Outbox>.Instance);
        Assert.Equal(["b", "c"], reopened.Incidents().Select(i => i.Id));
        Assert.True(reopened.IsDelivered("b", "webhook"));
        Assert.False(File.Exists(Path.Combine(dir, Outbox.FileName + ".tmp")));
    }

    [Fact]
    public void Open_SecondOutboxOnTheSameDirectory_IsRefused()
    {
        var dir = TempDir.Create("outbox");
        using var outbox = new Outbox(dir, NullLogger<Outbox>.Instance);
        Assert.ThrowsAny<IOException>(() => new Outbox(dir, NullLogger<Outbox>.Instance));
    }

    [Fact]
    public async Task Item13_DiskFull_IncidentHeldInMemoryNoTornLine_WrittenWhenSpaceReturns()
    {
        using var disk = FullDisk.Mount();
        var dir = Path.Combine(disk.Path, "outbox");
        var journal = Path.Combine(dir, Outbox.FileName);
        using (var outbox = new Outbox(dir, NullLogger<Outbox>.Instance))
        {
            Assert.True(await outbox.AppendAsync(Make("a")));
            // The outbox holds the journal exclusively; its length (stat) says whether a torn line was left behind.
            long whole = new FileInfo(journal).Length;
            disk.Fill();

            // Larger than what is left of the journal's last page: part of it reaches the file before ENOSPC.
            Assert.False(await outbox.AppendAsync(Make("b") with { Target = "http://blocked-terror.test/" + new string('x', 6000) }));
            Assert.Equal(1, outbox.NotDurable);
            Assert.True(outbox.WriteFailures >= 1);
            Assert.Equal(["a", "b"], outbox.Pending("email").Select(i => i.Id));
            Assert.False(await outbox.MarkDeliveredAsync(["b"], "email"));
            Assert.True(outbox.IsDelivered("b", "email"));
            Assert.Equal(whole, new FileInfo(journal).Length);
            Assert.False(await outbox.DrainAsync());

            disk.Free();
            Assert.True(await outbox.DrainAsync());
            Assert.Equal(0, outbox.NotDurable);
        }
        using var reopened = new Outbox(dir, NullLogger<Outbox>.Instance);
        Assert.Equal(["a", "b"], reopened.Incidents().Select(i => i.Id));
        Assert.Equal(["a"], reopened.Pending("email").Select(i => i.Id));
    }
}
