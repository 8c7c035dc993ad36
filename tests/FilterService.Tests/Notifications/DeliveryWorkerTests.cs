using System.Diagnostics.Metrics;
using FilterService.Notifications;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly.CircuitBreaker;
using PolicyModel.Decisions;

namespace FilterService.Tests.Notifications;

public sealed class DeliveryWorkerTests : IDisposable
{
    private readonly FakeTime _time = new(new DateTimeOffset(2025, 3, 10, 9, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly Outbox _outbox = new(TempDir.Create("outbox"), NullLogger<Outbox>.Instance);
    private readonly CapturingLogger<DeliveryWorker> _log = new();

    private DeliveryWorker Worker(AlertOptions options)
    {
        var stats = new AlertStats(_outbox, ["email"], _services.GetRequiredService<IMeterFactory>());
        var recorder = new IncidentRecorder(options, _outbox, stats, _time, NullLogger<IncidentRecorder>.Instance);
        return new DeliveryWorker(options, _outbox, recorder, [], stats, TimeProvider.System, _log);
    }

    private Incident Make(string id, AlertSeverity severity, bool digest) => new()
    {
        Id = id,
        Kind = IncidentKind.Alert,
        At = _time.GetUtcNow(),
        User = "pupil1",
        Client = "10.40.0.7",
        Method = "GET",
        Target = "http://facebook.com/",
        Host = "facebook.com",
        Category = "social",
        Rule = "pupils-social",
        Severity = severity,
        Digest = digest,
    };

    [Fact]
    public async Task Pipeline_ChannelKeepsFailing_CircuitOpensAndIsLogged()
    {
        var worker = Worker(new AlertOptions
        {
            Retry = new RetrySettings { MaxAttempts = 1, BaseDelay = TimeSpan.Zero },
            Circuit = new CircuitSettings { MinimumThroughput = 2, BreakDuration = TimeSpan.FromSeconds(30) },
        });
        var pipeline = worker.BuildPipeline("email");
        // Two failed attempts (the first and its retry) reach the minimum throughput at a 100% failure ratio.
        await Assert.ThrowsAsync<IOException>(async () => await pipeline.ExecuteAsync(_ => throw new IOException("connection refused")));
        await Assert.ThrowsAsync<BrokenCircuitException>(async () => await pipeline.ExecuteAsync(_ => ValueTask.CompletedTask));
        var opened = Assert.Single(_log.Entries, e => e.Message.Contains("circuit OPEN"));
        Assert.Equal(LogLevel.Error, opened.Level);
        Assert.Contains("Alert channel email", opened.Message);
    }

    [Fact]
    public async Task Plan_LowAlertsWaitForTheDigest_HighGoesAtOnce()
    {
        var worker = Worker(new AlertOptions { DigestInterval = TimeSpan.FromMinutes(15) });
        await _outbox.AppendAsync(Make("low1", AlertSeverity.Low, digest: true));
        _time.Advance(TimeSpan.FromMinutes(1));
        await _outbox.AppendAsync(Make("low2", AlertSeverity.Medium, digest: true));
        await _outbox.AppendAsync(Make("high", AlertSeverity.High, digest: false));

        var now = Assert.Single(worker.Plan("email", _time.GetUtcNow()));
        Assert.Equal("high", now.Id);

        _time.Advance(TimeSpan.FromMinutes(14));
        var later = worker.Plan("email", _time.GetUtcNow());
        Assert.Equal(2, later.Count);
        var digest = later.Single(m => m.IsDigest);
        Assert.Equal(["low1", "low2"], digest.IncidentIds);
        Assert.Contains("Digest: 2 MEDIUM-or-lower alert(s)", digest.Subject);

        await _outbox.MarkDeliveredAsync(digest.IncidentIds, "email");
        Assert.Equal(["high"], worker.Plan("email", _time.GetUtcNow()).Select(m => m.Id));
    }

    public void Dispose()
    {
        _outbox.Dispose();
        _services.Dispose();
    }
}
