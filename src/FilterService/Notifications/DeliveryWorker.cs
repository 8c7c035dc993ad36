using FilterService.Runtime;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace FilterService.Notifications;

/// <summary>
/// Delivers from the outbox. One loop per channel, so a dead SMTP server does not hold up the webhook:
/// 1. wait for a new alert or <c>Alerts:PollInterval</c>;
/// 2. plan: every pending alert or summary not marked for the digest is its own message; digest ones go out
///    together once the oldest has waited <c>Alerts:DigestInterval</c>;
/// 3. send each through the channel's pipeline (retry with exponential backoff and jitter, circuit breaker,
///    per-attempt timeout); on success mark every incident in the message delivered for that channel (fsynced);
///    on failure count it, keep the rest for the next round.
/// A housekeeping loop closes fold windows (writing their summaries), retries outbox writes that failed (a full disk;
/// exponential backoff from <c>Alerts:Retry:BaseDelay</c> to <c>MaxDelay</c>) and compacts the outbox.
/// At-least-once per channel: a crash between sending and marking sends again with the same id.
/// </summary>
internal sealed partial class DeliveryWorker : BackgroundService
{
    private readonly AlertOptions _options;
    private readonly Outbox _outbox;
    private readonly IncidentRecorder _recorder;
    private readonly IReadOnlyList<IAlertChannel> _channels;
    private readonly AlertStats _stats;
    private readonly TimeProvider _time;
    private readonly ILogger<DeliveryWorker> _logger;
    private readonly TimeZoneInfo _zone;
    private readonly Func<Incident, string?>? _page;

    public DeliveryWorker(AlertOptions options, Outbox outbox, IncidentRecorder recorder, IEnumerable<IAlertChannel> channels, AlertStats stats,
        TimeProvider time, ILogger<DeliveryWorker> logger, IncidentLinks? links = null)
    {
        // Issue 19: each alert links to its incident's console page; a summary's incident is its first alert's.
        _page = links is null ? null : i => links.For(i.Kind == IncidentKind.Summary ? i.FoldOf ?? i.Id : i.Id);
        _options = options;
        _outbox = outbox;
        _recorder = recorder;
        _channels = channels.ToList();
        _stats = stats;
        _time = time;
        _logger = logger;
        _zone = TimeZoneInfo.FindSystemTimeZoneById(options.TimeZone);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_channels.Count == 0)
        {
            LogNoChannels(_logger, _outbox.Path);
        }
        else
        {
            LogChannels(_logger, string.Join(", ", _channels.Select(c => c.Name)), _outbox.Path, _outbox.Incidents().Count);
        }
        var loops = _channels.Select(c => Task.Run(() => ChannelLoopAsync(c, stoppingToken), CancellationToken.None)).ToList();
        loops.Add(Task.Run(() => HousekeepingAsync(stoppingToken), CancellationToken.None));
        return Task.WhenAll(loops);
    }

    internal ResiliencePipeline BuildPipeline(string channel) => new ResiliencePipelineBuilder { TimeProvider = _time }
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e
                && !(e is OperationCanceledException && args.Context.CancellationToken.IsCancellationRequested)),
            MaxRetryAttempts = _options.Retry.MaxAttempts,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = _options.Retry.BaseDelay,
            MaxDelay = _options.Retry.MaxDelay,
            OnRetry = args =>
            {
                LogRetry(_logger, channel, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message);
                return default;
            },
        })
        .AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            FailureRatio = _options.Circuit.FailureRatio,
            MinimumThroughput = _options.Circuit.MinimumThroughput,
            SamplingDuration = _options.Circuit.SamplingDuration,
            BreakDuration = _options.Circuit.BreakDuration,
            OnOpened = args =>
            {
                LogCircuitOpened(_logger, channel, args.BreakDuration, args.Outcome.Exception?.Message);
                return default;
            },
            OnClosed = _ =>
            {
                LogCircuitClosed(_logger, channel);
                return default;
            },
        })
        .AddTimeout(_options.Timeout)
        .Build();

    /// <summary>The messages due on <paramref name="channel"/> now, oldest first.</summary>
    internal List<AlertMessage> Plan(string channel, DateTimeOffset now)
    {
        var pending = _outbox.Pending(channel);
        var messages = pending.Where(i => !i.Digest).Select(i => AlertMessage.For(i, _options, _zone, _page)).ToList();
        var digest = pending.Where(i => i.Digest).ToList();
        if (digest.Count > 0 && digest.Min(i => i.At) + _options.DigestInterval <= now)
        {
            messages.Add(AlertMessage.Digest(digest, _options, _zone, _page));
        }
        return messages;
    }

    private async Task ChannelLoopAsync(IAlertChannel channel, CancellationToken stoppingToken)
    {
        var pipeline = BuildPipeline(channel.Name);
        using var wake = new SemaphoreSlim(0, 1);
        _recorder.Subscribe(wake);
        try
        {
            await DeliverUntilStoppedAsync(channel, pipeline, wake, stoppingToken);
        }
        finally
        {
            _recorder.Unsubscribe(wake);
        }
    }

    private async Task DeliverUntilStoppedAsync(IAlertChannel channel, ResiliencePipeline pipeline, SemaphoreSlim wake, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            foreach (var message in Plan(channel.Name, _time.GetUtcNow()))
            {
                try
                {
                    await pipeline.ExecuteAsync(async ct => await channel.SendAsync(message, ct), stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    _stats.OnFailed(channel.Name);
                    LogDeliveryFailed(_logger, channel.Name, message.Id, ex is BrokenCircuitException ? "circuit open" : ex.Message);
                    break;
                }
                // Marked in memory at once (never sent twice by this process); on a full disk the line is written later.
                await _outbox.MarkDeliveredAsync(message.IncidentIds, channel.Name, CancellationToken.None);
                _stats.OnDelivered(channel.Name, message.Incidents.Count);
                LogDelivered(_logger, channel.Name, message.Id, message.Incidents.Count);
            }
            try
            {
                await wake.WaitAsync(_options.PollInterval, _time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task HousekeepingAsync(CancellationToken stoppingToken)
    {
        var tick = TimeSpan.FromMilliseconds(Math.Min(1000, Math.Max(50, _options.PollInterval.TotalMilliseconds)));
        var names = _channels.Select(c => c.Name).ToList();
        var writeRetryAt = DateTimeOffset.MinValue;
        var writeDelay = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                List<Incident> due;
                var now = _time.GetUtcNow();
                if (_outbox.HasUnwritten && now >= writeRetryAt)
                {
                    if (await _outbox.DrainAsync(stoppingToken))
                    {
                        writeDelay = TimeSpan.Zero;
                    }
                    else
                    {
                        writeDelay = writeDelay == TimeSpan.Zero ? Max(_options.Retry.BaseDelay, tick) : Min(writeDelay * 2, Max(_options.Retry.MaxDelay, tick));
                        writeRetryAt = now + writeDelay;
                    }
                }
                lock (_recorder.Folding)
                {
                    due = _recorder.Folding.CloseDue(now);
                }
                foreach (var summary in due)
                {
                    if (_outbox.Incidents().Any(i => i.Id == summary.Id))
                    {
                        continue;
                    }
                    await _outbox.AppendAsync(summary, CancellationToken.None);
                    LogSummary(_logger, summary.FoldOf!, summary.Count);
                }
                if (due.Count > 0)
                {
                    _recorder.Wake();
                }
                if (_outbox.LinesSinceCompaction > 1000)
                {
                    var horizon = now - _options.FoldWindow;
                    await _outbox.CompactAsync((i, delivered) =>
                    {
                        if (i.Deliverable && !names.All(delivered.Contains))
                        {
                            return true;
                        }
                        lock (_recorder.Folding)
                        {
                            return i.At >= horizon || _recorder.Folding.IsInOpenWindow(i);
                        }
                    }, CancellationToken.None);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogHousekeepingFailed(_logger, ex);
            }
            try
            {
                await Task.Delay(tick, _time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    [LoggerMessage(EventId = 1520, Level = LogLevel.Warning,
        Message = "Alerts are OFF: no channel configured (Alerts:Smtp:Host or Alerts:Webhook:Url). Incidents are still written to the outbox {Path} and the log.")]
    private static partial void LogNoChannels(ILogger logger, string path);

    [LoggerMessage(EventId = 1521, Level = LogLevel.Information, Message = "Alerts go to {Channels}; outbox {Path} holds {Count} incident(s)")]
    private static partial void LogChannels(ILogger logger, string channels, string path, int count);

    [LoggerMessage(EventId = 1522, Level = LogLevel.Error, Message = "Alert channel {Channel}: circuit OPEN for {BreakDuration} after repeated failures ({Error}); alerts stay in the outbox")]
    private static partial void LogCircuitOpened(ILogger logger, string channel, TimeSpan breakDuration, string? error);

    [LoggerMessage(EventId = 1523, Level = LogLevel.Information, Message = "Alert channel {Channel}: circuit closed, delivering again")]
    private static partial void LogCircuitClosed(ILogger logger, string channel);

    [LoggerMessage(EventId = 1524, Level = LogLevel.Warning, Message = "Alert channel {Channel}: {Id} not delivered after retries ({Error}); kept in the outbox")]
    private static partial void LogDeliveryFailed(ILogger logger, string channel, string id, string error);

    [LoggerMessage(EventId = 1525, Level = LogLevel.Information, Message = "Alert channel {Channel}: delivered {Id} ({Count} incident(s))")]
    private static partial void LogDelivered(ILogger logger, string channel, string id, int count);

    [LoggerMessage(EventId = 1526, Level = LogLevel.Debug, Message = "Alert channel {Channel}: attempt {Attempt} failed, retrying in {Delay}: {Error}")]
    private static partial void LogRetry(ILogger logger, string channel, int attempt, TimeSpan delay, string? error);

    [LoggerMessage(EventId = 1527, Level = LogLevel.Information, Message = "Fold window of {Id} closed: {Count} further attempt(s) summarised")]
    private static partial void LogSummary(ILogger logger, string id, int count);

    [LoggerMessage(EventId = 1528, Level = LogLevel.Error, Message = "Alert housekeeping failed; retrying")]
    private static partial void LogHousekeepingFailed(ILogger logger, Exception ex);
}
