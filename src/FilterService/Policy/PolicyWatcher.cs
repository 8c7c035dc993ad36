using System.Runtime.InteropServices;

namespace FilterService.Policy;

/// <summary>
/// Reloads the policy when its directory changes (debounced, so one save is one reload) and on SIGHUP.
/// Reloads run one at a time off the thread that noticed the change.
/// </summary>
internal sealed partial class PolicyWatcher : IHostedService, IDisposable
{
    private readonly PolicyStore _store;
    private readonly bool _watch;
    private readonly TimeSpan _delay;
    private readonly ILogger<PolicyWatcher> _logger;
    private FileSystemWatcher? _watcher;
    private PosixSignalRegistration? _sighup;
    private Timer? _timer;

    public PolicyWatcher(PolicyStore store, bool watch, TimeSpan delay, ILogger<PolicyWatcher> logger)
    {
        _store = store;
        _watch = watch;
        _delay = delay;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = new Timer(_ => ReloadSafely("file change"));
        if (_watch)
        {
            try
            {
                _watcher = new FileSystemWatcher(_store.Directory)
                {
                    IncludeSubdirectories = true,
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
                };
                _watcher.Changed += OnChanged;
                _watcher.Created += OnChanged;
                _watcher.Deleted += OnChanged;
                _watcher.Renamed += OnChanged;
                _watcher.Error += (_, e) => LogWatchError(_logger, e.GetException());
                _watcher.EnableRaisingEvents = true;
            }
            catch (Exception ex) when (ex is IOException or PlatformNotSupportedException or UnauthorizedAccessException)
            {
                // Out of inotify instances, say: poll instead of running without reloads.
                LogWatchError(_logger, ex);
                _watcher?.Dispose();
                _watcher = null;
                _fingerprint = Fingerprint();
                _poll = new Timer(_ => Poll(), null, PollInterval, PollInterval);
            }
        }
        if (!OperatingSystem.IsWindows())
        {
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                ThreadPool.QueueUserWorkItem(_ => ReloadSafely("SIGHUP"));
            });
        }
        return Task.CompletedTask;
    }

    private void OnChanged(object sender, FileSystemEventArgs e) => _timer?.Change(_delay, Timeout.InfiniteTimeSpan);

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    private Timer? _poll;
    private string _fingerprint = "";

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
            foreach (var f in new DirectoryInfo(_store.Directory).EnumerateFiles("*", SearchOption.AllDirectories).OrderBy(f => f.FullName, StringComparer.Ordinal))
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
            // A bug in a loader must not take the service down; the last good policy stays live.
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
        _watcher?.Dispose();
        _watcher = null;
        _poll?.Dispose();
        _poll = null;
        _sighup?.Dispose();
        _sighup = null;
        _timer?.Dispose();
        _timer = null;
    }

    [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "Policy directory watcher failed; polling the directory every 2 s instead (SIGHUP reloads at once)")]
    private static partial void LogWatchError(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Error, Message = "Policy reload ({Trigger}) threw; the last good policy stays live")]
    private static partial void LogReloadFailed(ILogger logger, string trigger, Exception ex);
}
