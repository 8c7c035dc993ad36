using System.Text;
using System.Threading.Channels;
using FilterService.Policy;

namespace FilterService.Admin.History;

/// <summary>
/// Records hand edits of the policy directory (issue 18). After every successful load (<see cref="PolicyStore.Reloaded"/>:
/// a file change, SIGHUP, a console edit's own reload), and once at start, it compares the tracked files
/// (<see cref="TrackedFiles"/>) with their last recorded state (<see cref="IChangeHistory.LatestFilesAsync"/>) and records
/// what differs as one <see cref="ChangeSource.FileEdit"/> entry by <see cref="Who"/>; at start with an empty history it
/// records the directory as the <see cref="ChangeSource.Baseline"/>. It holds <see cref="PolicyDirectoryGate"/> while it
/// compares and records, as a console edit holds it while it writes and records, so a console edit is never seen as a
/// file edit. The comparing runs on its own task, never on the thread that reloaded: the reload path only signals
/// (a channel of one: signals that arrive while one is pending fold into it, and each run reads the directory afresh).
/// A rejected reload records nothing: the live policy did not change, and the edit is recorded, whole, once it loads.
/// </summary>
internal sealed partial class HandEditDetector(
    PolicyStore store, PolicyDirectoryGate gate, IServiceProvider services, TimeProvider time, ILogger<HandEditDetector> logger) : IHostedService, IDisposable
{
    /// <summary>Who a hand edit is attributed to.</summary>
    public const string Who = "file edit";

    /// <summary>Who the baseline is attributed to.</summary>
    public const string BaselineWho = "service";

    private readonly TrackedFiles _files = new(store.Directory);
    private readonly Channel<string> _signals = Channel.CreateBounded<string>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    private long _runs;

    /// <summary>Comparisons made so far (at start and after each successful load); tests watch it.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Whether the last comparison failed (console.db unwritable, say), for /health; null when it succeeded.</summary>
    public string? Problem { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        store.Reloaded += OnReloaded;
        // Before the console serves its first request: the baseline (or the edits made while the service was stopped).
        await DetectSafelyAsync("start", cancellationToken);
        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        store.Reloaded -= OnReloaded;
        _signals.Writer.TryComplete();
        await _stopping.CancelAsync();
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private void OnReloaded(PolicyLoadReport report)
    {
        if (report.Succeeded)
        {
            _signals.Writer.TryWrite(report.Trigger);
        }
    }

    private async Task RunAsync()
    {
        try
        {
            while (true)
            {
                // After a failure, try again every 5 s without waiting for a reload, so /health clears once console.db
                // can be written again.
                string trigger;
                if (Problem is null)
                {
                    if (!await _signals.Reader.WaitToReadAsync(_stopping.Token))
                    {
                        return;
                    }
                    trigger = _signals.Reader.TryRead(out var t) ? t : "reload";
                }
                else
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), time);
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, timeout.Token);
                    try
                    {
                        await _signals.Reader.WaitToReadAsync(wait.Token);
                    }
                    catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
                    {
                    }
                    trigger = _signals.Reader.TryRead(out var t) ? t : "retry";
                }
                await DetectSafelyAsync(trigger, _stopping.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task DetectSafelyAsync(string trigger, CancellationToken cancellationToken)
    {
        try
        {
            await DetectAsync(trigger, cancellationToken);
            Problem = null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Problem = $"history: hand edits could not be compared or recorded ({trigger}): {e.Message}";
            LogFailed(logger, trigger, e);
        }
    }

    /// <summary>Compares and records now, under the gate: the entry recorded, or null when nothing changed.</summary>
    public async Task<ChangeEntry?> DetectAsync(string trigger, CancellationToken cancellationToken = default)
    {
        using var held = await gate.EnterAsync(cancellationToken);
        Interlocked.Increment(ref _runs);
        // Resolved here, not in the constructor: a console.db that cannot be opened is a problem in /health, never a
        // service that does not start (the filter does not depend on the console).
        var history = services.GetRequiredService<IChangeHistory>();
        var policy = store.Current;
        var recorded = await history.LatestFilesAsync(cancellationToken);
        var now = _files.Read(policy);
        var baseline = recorded.Count == 0;
        var changes = new List<FileChange>();
        foreach (var file in now)
        {
            if (Compare(file, recorded.GetValueOrDefault(file.Path)) is { } differs)
            {
                changes.Add(differs);
            }
        }
        if (changes.Count == 0)
        {
            return null;
        }
        var change = baseline
            ? new PolicyChange(BaselineWho, "baseline: the policy directory when the change history started", ChangeSource.Baseline, changes)
            : new PolicyChange(Who, $"changed outside the console; found at reload ({trigger})", ChangeSource.FileEdit, changes);
        var entry = await history.RecordAsync(change, time.GetUtcNow(), policy.Version, cancellationToken);
        LogRecorded(logger, entry.Id, baseline ? "baseline" : "file edit", changes.Count, trigger);
        return entry;
    }

    /// <summary>The change from <paramref name="last"/> to <paramref name="file"/>, or null when they are the same file.</summary>
    internal static FileChange? Compare(TrackedFile file, RecordedFile? last)
    {
        if (last is null)
        {
            return file.Text is null ? null : new FileChange(file.Path, null, file.Text, file.Tracking);
        }
        if (last.Tracking == FileTracking.Content && file.Tracking == FileTracking.Content)
        {
            return string.Equals(last.Content, file.Text, StringComparison.Ordinal) ? null : new FileChange(file.Path, last.Content, file.Text);
        }
        // Either side by summary: compare the bytes' SHA-256 (the counts may have been taken differently).
        var before = last.Tracking == FileTracking.Summary ? last.Content : last.Content is null ? null : FileSummary.Of(Encoding.UTF8.GetBytes(last.Content), FileSummary.Lines).Format();
        var after = file.Tracking == FileTracking.Summary ? file.Text : file.Text is null ? null : FileSummary.Of(Encoding.UTF8.GetBytes(file.Text), FileSummary.Lines).Format();
        if (before is null && after is null || FileSummary.Parse(before)?.Sha256 is { } b && b == FileSummary.Parse(after)?.Sha256)
        {
            return null;
        }
        return new FileChange(file.Path, before, after, FileTracking.Summary);
    }

    [LoggerMessage(EventId = 2451, Level = LogLevel.Information, Message = "Change history entry {Id}: {What} of {Files} file(s), found at {Trigger}")]
    private static partial void LogRecorded(ILogger logger, long id, string what, int files, string trigger);

    [LoggerMessage(EventId = 2452, Level = LogLevel.Error, Message = "Hand edits of the policy directory could not be compared with the change history or recorded ({Trigger}); retried at the next reload")]
    private static partial void LogFailed(ILogger logger, string trigger, Exception ex);
}
