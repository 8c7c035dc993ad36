using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Documents;

namespace FilterService.Policy;

/// <summary>
/// The outcome of the most recent load or reload, for the admin endpoint, the metrics and tests. Every attempt
/// makes one, whether it failed on diagnostics, on a refused statutory list or on an exception.
/// <paramref name="Shrinks"/> lists statutory lists that shrank: refused, or accepted on a confirmation.
/// </summary>
internal sealed record PolicyLoadReport(DateTimeOffset At, string Trigger, bool Succeeded, string? Version, IReadOnlyList<string> Diagnostics,
    IReadOnlyList<StatutoryShrink>? Shrinks = null)
{
    /// <summary>The first error, for one-line summaries (/health).</summary>
    public string? FirstError => Diagnostics.FirstOrDefault(d => d.Contains(": error ", StringComparison.Ordinal)) ?? (Succeeded ? null : Diagnostics.FirstOrDefault());
}

/// <summary>Loads a policy directory: <see cref="PolicyLoader.Load"/>, or a test's stand-in (a seam for failures).</summary>
internal delegate PolicyLoadResult PolicyLoad(string directory);

/// <summary>How the statutory lists are guarded against shrinking (<c>Policy:StatutoryShrinkFraction</c>, ...).</summary>
/// <param name="StateDirectory">Where the last good counts are kept across restarts (the audit directory); null: memory only.</param>
internal sealed record StatutoryGuard(double ShrinkFraction, int MinEntries, string? StateDirectory)
{
    public static StatutoryGuard Default { get; } = new(0.9, 0, null);
}

/// <summary>What watches the policy directory for edits, for /health and the metrics.</summary>
internal enum PolicyWatchState
{
    /// <summary><c>Policy:Watch</c> is false: only SIGHUP reloads.</summary>
    Off,
    Watching,
    /// <summary>No inotify watch could be made; the directory is polled.</summary>
    Polling,
    /// <summary>The watch was lost (the directory was deleted, say) and is being re-armed; edits are not seen.</summary>
    Dead,
}

internal sealed record PolicyWatchStatus(PolicyWatchState State, DateTimeOffset Since, string? Problem);

/// <summary>
/// The live policy. Loads the directory at start (failing closed), reloads on request, and publishes each new
/// policy by swapping one reference: a request reads <see cref="Current"/> once and keeps that policy for its
/// whole life. A reload that fails, or that would drop or empty a statutory list, is rejected with its
/// diagnostics logged and the last good policy stays live (YARP's ProxyConfigManager, Garnet's ACL reload).
/// </summary>
internal sealed partial class PolicyStore
{
    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly ILogger<PolicyStore> _logger;
    private readonly StatutoryGuard _guard;
    private readonly PolicyLoad _load;
    private readonly object _reloadGate = new();
    private PolicySnapshot? _current;
    private PolicyLoadReport? _lastReport;
    private StatutoryCounts _counts = StatutoryCounts.InMemory();
    private PolicyWatchStatus _watch;
    private long _generation;

    public PolicyStore(string directory, TimeProvider time, ILogger<PolicyStore> logger, StatutoryGuard? guard = null, PolicyLoad? load = null)
    {
        _directory = directory;
        _time = time;
        _logger = logger;
        _guard = guard ?? StatutoryGuard.Default;
        _load = load ?? (directory => PolicyLoader.Load(directory));
        _watch = new PolicyWatchStatus(PolicyWatchState.Off, time.GetUtcNow(), null);
    }

    /// <summary>The watcher's state; set by <see cref="PolicyWatcher"/>.</summary>
    public PolicyWatchStatus Watch => Volatile.Read(ref _watch);

    internal void SetWatch(PolicyWatchState state, string? problem)
    {
        var was = Volatile.Read(ref _watch);
        Volatile.Write(ref _watch, new PolicyWatchStatus(state, was.State == state ? was.Since : _time.GetUtcNow(), problem));
    }

    /// <summary>Whether /health should say degraded: the last load failed, or edits are no longer seen.</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            var problems = new List<string>();
            if (LastReport is { Succeeded: false } r)
            {
                problems.Add($"policy: the last load ({r.Trigger}, {r.At:u}) was rejected; the previous policy stays live: {r.FirstError}");
            }
            if (Watch is { State: PolicyWatchState.Dead } w)
            {
                problems.Add($"policy: the directory watcher is dead since {w.Since:u} ({w.Problem}); edits are not picked up until it is re-armed (SIGHUP still reloads)");
            }
            return problems;
        }
    }

    public string Directory => _directory;

    /// <summary>The live policy. Null only before <see cref="LoadInitial"/> succeeded.</summary>
    public PolicySnapshot Current => Volatile.Read(ref _current) ?? throw new InvalidOperationException("The policy has not been loaded.");

    /// <summary>Counts successful swaps; tests and health checks watch it.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    public PolicyLoadReport? LastReport => Volatile.Read(ref _lastReport);

    /// <summary>Raised after every load attempt, successful or not.</summary>
    public event Action<PolicyLoadReport>? Reloaded;

    /// <summary>Loads the policy at start. Returns every diagnostic; false means the service must not start.</summary>
    public bool LoadInitial(out IReadOnlyList<string> diagnostics)
    {
        lock (_reloadGate)
        {
            PolicySnapshot? policy;
            IReadOnlyList<string> lines;
            IReadOnlyList<StatutoryShrink> shrinks = [];
            try
            {
                _counts = _guard.StateDirectory is { } state ? StatutoryCounts.Open(state) : StatutoryCounts.InMemory();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Fail closed: without the last good counts a shrunken statutory list would pass unseen.
                diagnostics = [$"{Path.Combine(_guard.StateDirectory!, StatutoryCounts.FileName)}: error FS0107: cannot read the last good statutory list counts ({ex.Message}); "
                    + "if the lists on disk are known good, delete the file to record them as the new baseline"];
                Publish(null, "start", diagnostics, []);
                return false;
            }
            try
            {
                (policy, shrinks) = LoadChecked(previous: null, out lines);
            }
            catch (Exception ex)
            {
                (policy, lines) = (null, [Threw(ex)]);
            }
            LogShrinks(shrinks, policy is not null);
            diagnostics = lines;
            Publish(policy, "start", lines, shrinks);
            return policy is not null;
        }
    }

    /// <summary>Reloads now. Never throws for a bad policy: the last good one stays live.</summary>
    public PolicyLoadReport Reload(string trigger)
    {
        lock (_reloadGate)
        {
            var previous = Volatile.Read(ref _current);
            PolicySnapshot? policy;
            IReadOnlyList<string> lines;
            IReadOnlyList<StatutoryShrink> shrinks = [];
            try
            {
                (policy, shrinks) = LoadChecked(previous, out lines);
            }
            catch (Exception ex)
            {
                // A bug in a loader (or a file system failing in a way nobody foresaw) must not leave /health saying
                // the last reload succeeded: it is a rejected reload like any other.
                LogReloadThrew(_logger, trigger, ex);
                (policy, lines) = (null, [Threw(ex)]);
            }
            LogShrinks(shrinks, policy is not null);
            var report = Publish(policy, trigger, lines, shrinks);
            if (policy is null)
            {
                LogReloadRejected(_logger, trigger, lines.Count, previous?.Version);
                foreach (var line in lines)
                {
                    LogDiagnostic(_logger, line);
                }
            }
            else
            {
                LogReloaded(_logger, trigger, policy.Version, previous?.Version);
            }
            return report;
        }
    }

    private string Threw(Exception ex) =>
        $"{_directory}: error FS0105: loading the policy failed unexpectedly ({ex.GetType().Name}: {ex.Message}); the previous policy (if any) stays live";

    private void LogShrinks(IReadOnlyList<StatutoryShrink> shrinks, bool published)
    {
        foreach (var s in shrinks)
        {
            if (s.Confirmation is { } c)
            {
                if (published)
                {
                    LogShrinkConfirmed(_logger, s.List, s.Category, s.LastGood, s.Entries, c.At, c.Reason);
                }
            }
            else
            {
                LogShrinkRefused(_logger, s.List, s.Category, s.LastGood, s.Entries);
            }
        }
    }

    private PolicyLoadReport Publish(PolicySnapshot? policy, string trigger, IReadOnlyList<string> lines, IReadOnlyList<StatutoryShrink> shrinks)
    {
        var report = new PolicyLoadReport(_time.GetUtcNow(), trigger, policy is not null, policy?.Version, lines, shrinks);
        if (policy is not null)
        {
            Volatile.Write(ref _current, policy);
        }
        // The report before the generation: whoever sees the generation move must see this load's report.
        Volatile.Write(ref _lastReport, report);
        if (policy is not null)
        {
            Interlocked.Increment(ref _generation);
            // After the swap, not between it and the generation: whoever is served by the new policy must see the
            // generation move, and this writes (and syncs) a file.
            try
            {
                _counts.Record(policy, report.At);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The counts in memory still guard reloads; a restart would compare against the older file.
                LogCountsNotSaved(_logger, _counts.FilePath, ex);
            }
            // Loading the lists leaves their text behind (strings and builder arrays: with 1.4M domains the process
            // stayed at over 300 MB without this; see bench/load/README.md); the policy itself is a few compact
            // arrays. Collect and give the memory back to the OS now, while it is one pause at a reload, rather than
            // leaving the process resident at its load-time peak.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            Runtime.MemoryTrimmer.Trim();
        }
        Reloaded?.Invoke(report);
        return report;
    }

    private (PolicySnapshot? Policy, IReadOnlyList<StatutoryShrink> Shrinks) LoadChecked(PolicySnapshot? previous, out IReadOnlyList<string> lines)
    {
        PolicySnapshot? policy;
        IReadOnlyList<Diagnostic> diagnostics;
        try
        {
            var result = _load(_directory);
            (policy, diagnostics) = (result.Snapshot, result.Diagnostics);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            lines = [$"{_directory}: error FS0100: cannot read the policy: {ex.Message}"];
            return (null, []);
        }
        var all = diagnostics.Select(d => d.ToString()).ToList();
        IReadOnlyList<StatutoryShrink> shrinks = [];
        if (policy is not null)
        {
            all.AddRange(StatutoryProblems(policy, previous));
            try
            {
                shrinks = _counts.Shrinks(policy, _guard.ShrinkFraction, _guard.MinEntries, () => ListConfirmations.Read(_directory));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                all.Add($"{ListConfirmations.FileName}: error FS0106: cannot read the statutory list confirmations: {ex.Message}");
            }
            all.AddRange(shrinks.Where(s => s.Confirmation is null).Select(ShrinkProblem));
            if (all.Count > diagnostics.Count)
            {
                policy = null;
            }
        }
        lines = all;
        return (policy, shrinks);
    }

    private string ShrinkProblem(StatutoryShrink s) =>
        $"{s.List}: error FS0104: statutory list '{s.List}' (category '{s.Category}') has {s.Entries} entries"
        + (s.LastGood > 0 ? $", down from {s.LastGood} at its last good load" : "")
        + (s.LastGood > 0 && s.Entries < s.LastGood * _guard.ShrinkFraction ? $" (below {_guard.ShrinkFraction:0.##} of it)" : $" (below Policy:StatutoryMinEntries {_guard.MinEntries})")
        + $"; refused, as a truncated or corrupted download would be. If the change is intended, confirm it: "
        + $"FilterService lists confirm --policy {_directory} --list {s.List} --reason \"...\"";

    /// <summary>
    /// Safeguarding fails closed: every statutory category must have entries, and a reload may not remove a
    /// statutory category or list that the live policy has.
    /// </summary>
    internal static IEnumerable<string> StatutoryProblems(PolicySnapshot policy, PolicySnapshot? previous)
    {
        foreach (var (name, statutory) in policy.Categories)
        {
            if (statutory && !policy.Lists.Any(l => l.Category == name && l.Entries > 0))
            {
                yield return $"policy.yaml: error FS0101: statutory category '{name}' has no entries loaded; the service will not run without it";
            }
        }
        if (previous is null)
        {
            yield break;
        }
        foreach (var (name, statutory) in previous.Categories)
        {
            if (!statutory)
            {
                continue;
            }
            if (!policy.Categories.Any(c => c.Name == name && c.Statutory))
            {
                yield return $"policy.yaml: error FS0102: this edit removes statutory category '{name}'; statutory lists cannot be dropped by a reload";
                continue;
            }
            foreach (var list in previous.Lists.Where(l => l.Category == name))
            {
                if (!policy.Lists.Any(l => l.Category == name && l.Path == list.Path && l.Entries > 0))
                {
                    yield return $"{list.Path}: error FS0103: this edit drops statutory list '{list.Path}' of category '{name}'; statutory lists cannot be dropped by a reload";
                }
            }
        }
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Policy reloaded ({Trigger}): version {Version}, was {Previous}")]
    private static partial void LogReloaded(ILogger logger, string trigger, string version, string? previous);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "Policy reload ({Trigger}) rejected with {Count} diagnostic(s); version {Previous} stays live")]
    private static partial void LogReloadRejected(ILogger logger, string trigger, int count, string? previous);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "{Diagnostic}")]
    private static partial void LogDiagnostic(ILogger logger, string diagnostic);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Error, Message = "Policy load ({Trigger}) threw; the last good policy stays live")]
    private static partial void LogReloadThrew(ILogger logger, string trigger, Exception ex);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Error, Message = "Statutory list {List} (category {Category}) refused: {Entries} entries against {LastGood} at its last good load; the policy is not loaded. Confirm with 'FilterService lists confirm' if intended")]
    private static partial void LogShrinkRefused(ILogger logger, string list, string category, int lastGood, int entries);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "Statutory list {List} (category {Category}) shrank from {LastGood} to {Entries} entries, accepted on the confirmation of {ConfirmedAt:u}: {Reason}")]
    private static partial void LogShrinkConfirmed(ILogger logger, string list, string category, int lastGood, int entries, DateTimeOffset confirmedAt, string reason);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Error, Message = "Could not save the statutory list counts to {Path}; a restart will compare against older counts")]
    private static partial void LogCountsNotSaved(ILogger logger, string? path, Exception ex);
}
