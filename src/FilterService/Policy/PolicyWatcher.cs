namespace FilterService.Policy;

/// <summary>
/// Reloads the policy when its directory changes (debounced, so one save is one reload) and on SIGHUP.
/// Reloads run one at a time off the thread that noticed the change.
/// </summary>
/// <remarks>
/// An inotify watch dies with the directory it watches: deleting and recreating the policy directory (a deploy
/// script's <c>rm -rf; cp -r</c>) used to leave the service deaf to edits without a word. So the watcher also
/// watches the parent for the directory's own name, checks every <see cref="CheckInterval"/> that the directory
/// still exists, and treats a watcher error the same way: the watch is marked dead (/health, the metric
/// <c>filterservice_policy_watcher_up</c>), then re-armed with a backoff from <see cref="FirstRetry"/> up to
/// <see cref="MaxRetry"/>, and a re-armed watch reloads at once (the directory may have changed meanwhile).
/// </remarks>
internal sealed partial class PolicyWatcher : IHostedService, IDisposable
{
    internal static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);
    internal static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);
    internal static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    private readonly PolicyStore _store;
    private readonly bool _watch;
    private readonly TimeSpan _delay;
    private readonly TimeProvider _time;
    private readonly ILogger<PolicyWatcher> _logger;
    private readonly string _directory;
    private readonly object _gate = new();
    private FileSystemWatcher? _watcher;
    private FileSystemWatcher? _parentWatcher;
    private HangupLatch? _hangup;
    private HangupLatch? _ownHangup;
    private ITimer? _timer;
    private ITimer? _check;
    private ITimer? _rearm;
    private ITimer? _poll;
    private TimeSpan _retry = FirstRetry;
    private string _fingerprint = "";
    private bool _stopped;

    /// <param name="hangup">The process's early SIGHUP registration (the service always has one); without it (a host
    /// built in a test) the watcher registers its own when it starts.</param>
    public PolicyWatcher(PolicyStore store, bool watch, TimeSpan delay, TimeProvider time, ILogger<PolicyWatcher> logger,
        HangupLatch? hangup = null)
    {
        _store = store;
        _hangup = hangup;
        _watch = watch;
        _delay = delay;
        _time = time;
        _logger = logger;
        _directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(store.Directory));
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = _time.CreateTimer(_ => ReloadSafely("file change"), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (_watch)
        {
            _rearm = _time.CreateTimer(_ => Rearm(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _check = _time.CreateTimer(_ => Check(), null, CheckInterval, CheckInterval);
            lock (_gate)
            {
                Arm(reload: false);
            }
        }
        _hangup ??= _ownHangup = HangupLatch.Register();
        if (_hangup?.TookBackFromIgnore == true)
        {
            LogHangupTakenBack(_logger);
        }
        if (_hangup?.Attach(() => ReloadSafely("SIGHUP")) == true)
        {
            ThreadPool.QueueUserWorkItem(_ => ReloadSafely("SIGHUP during start-up"));
        }
        return Task.CompletedTask;
    }

    private void OnChanged(object sender, FileSystemEventArgs e)
    {
        try
        {
            _timer?.Change(_delay, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // An event racing shutdown.
        }
    }

    /// <summary>The policy directory itself was created, deleted or renamed: the watch on it is stale either way.</summary>
    private void OnDirectoryReplaced(object sender, FileSystemEventArgs e) => Lost("the policy directory was replaced");

    private void OnError(object sender, ErrorEventArgs e)
    {
        LogWatchError(_logger, e.GetException());
        Lost("the watcher reported an error");
    }

    /// <summary>Marks the watch dead and schedules a re-arm (never from inside a watcher's own event).</summary>
    private void Lost(string problem)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }
            if (_store.Watch.State != PolicyWatchState.Dead)
            {
                LogWatchLost(_logger, _directory, problem);
                _store.SetWatch(PolicyWatchState.Dead, problem);
            }
            _retry = FirstRetry;
            _rearm?.Change(FirstRetry, Timeout.InfiniteTimeSpan);
        }
    }

    private void Rearm()
    {
        lock (_gate)
        {
            if (_stopped || Arm(reload: true))
            {
                return;
            }
            _retry = TimeSpan.FromTicks(Math.Min(_retry.Ticks * 2, MaxRetry.Ticks));
            _rearm?.Change(_retry, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Every <see cref="CheckInterval"/>: a directory gone (whatever the watcher said) is a dead watch.</summary>
    private void Check()
    {
        if (!Directory.Exists(_directory))
        {
            Lost("the policy directory does not exist");
        }
    }

    /// <summary>Makes fresh watches (under <see cref="_gate"/>). False when the directory does not exist (yet).</summary>
    private bool Arm(bool reload)
    {
        DisposeWatchers();
        try
        {
            // The parent first: while the directory is missing, its re-creation is what re-arms the watch.
            if (Path.GetDirectoryName(_directory) is { } parent && Directory.Exists(parent))
            {
                _parentWatcher = new FileSystemWatcher(parent, Path.GetFileName(_directory))
                {
                    IncludeSubdirectories = false,
                    NotifyFilter = NotifyFilters.DirectoryName,
                };
                _parentWatcher.Created += OnDirectoryReplaced;
                _parentWatcher.Deleted += OnDirectoryReplaced;
                _parentWatcher.Renamed += OnDirectoryReplaced;
                _parentWatcher.Error += OnError;
                _parentWatcher.EnableRaisingEvents = true;
            }
            if (!Directory.Exists(_directory))
            {
                _store.SetWatch(PolicyWatchState.Dead, "the policy directory does not exist");
                return false;
            }
            _watcher = new FileSystemWatcher(_directory)
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            _watcher.Changed += OnChanged;
            _watcher.Created += OnChanged;
            _watcher.Deleted += OnChanged;
            _watcher.Renamed += OnChanged;
            _watcher.Error += OnError;
            _watcher.EnableRaisingEvents = true;
            _store.SetWatch(PolicyWatchState.Watching, null);
        }
        catch (Exception ex) when (ex is IOException or PlatformNotSupportedException or UnauthorizedAccessException or ArgumentException)
        {
            DisposeWatchers();
            if (!Directory.Exists(_directory))
            {
                _store.SetWatch(PolicyWatchState.Dead, "the policy directory does not exist");
                return false;
            }
            // Out of inotify instances, say: poll instead of running without reloads.
            LogPolling(_logger, ex);
            _fingerprint = Fingerprint();
            _poll = _time.CreateTimer(_ => Poll(), null, PollInterval, PollInterval);
            _store.SetWatch(PolicyWatchState.Polling, ex.Message);
        }
        if (reload)
        {
            LogWatchRearmed(_logger, _directory);
            _timer?.Change(_delay, Timeout.InfiniteTimeSpan);
        }
        return true;
    }

    private void DisposeWatchers()
    {
        _watcher?.Dispose();
        _watcher = null;
        _parentWatcher?.Dispose();
        _parentWatcher = null;
        _poll?.Dispose();
        _poll = null;
    }

    private void Poll()
    {
        var now = Fingerprint();
        if (now != _fingerprint)
        {
            _fingerprint = now;
            _timer?.Change(_delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Names, sizes and write times of every file under the policy directory.</summary>
    private string Fingerprint()
    {
        try
        {
            var sb = new System.Text.StringBuilder();
            foreach (var f in new DirectoryInfo(_directory).EnumerateFiles("*", SearchOption.AllDirectories).OrderBy(f => f.FullName, StringComparer.Ordinal))
            {
                sb.Append(f.FullName).Append('|').Append(f.Length).Append('|').Append(f.LastWriteTimeUtc.Ticks).Append('\n');
            }
            return sb.ToString();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return _fingerprint;
        }
    }

    private void ReloadSafely(string trigger)
    {
        try
        {
            _store.Reload(trigger);
        }
        catch (Exception ex)
        {
            // Reload reports its own failures; this is a bug in a Reloaded handler. The service must not go down.
            LogReloadFailed(_logger, trigger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopped = true;
            DisposeWatchers();
            _check?.Dispose();
            _check = null;
            _rearm?.Dispose();
            _rearm = null;
        }
        _hangup?.Detach();
        _ownHangup?.Dispose();
        _ownHangup = null;
        _timer?.Dispose();
        _timer = null;
    }

    [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "Policy directory watcher could not be made; polling the directory every 2 s instead (SIGHUP reloads at once)")]
    private static partial void LogPolling(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Error, Message = "Policy reload ({Trigger}) threw; the last good policy stays live")]
    private static partial void LogReloadFailed(ILogger logger, string trigger, Exception ex);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Warning, Message = "Policy directory watcher reported an error")]
    private static partial void LogWatchError(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 1113, Level = LogLevel.Error, Message = "Policy directory watch on {Directory} lost: {Problem}; edits are not seen until it is re-armed (SIGHUP still reloads)")]
    private static partial void LogWatchLost(ILogger logger, string directory, string problem);

    [LoggerMessage(EventId = 1114, Level = LogLevel.Information, Message = "Policy directory watch on {Directory} armed again; reloading")]
    private static partial void LogWatchRearmed(ILogger logger, string directory);

    [LoggerMessage(EventId = 1115, Level = LogLevel.Warning, Message = "SIGHUP was ignored when the service started (run under nohup, or by a supervisor that ignores it); the service took it back, so SIGHUP reloads the policy")]
    private static partial void LogHangupTakenBack(ILogger logger);
}
