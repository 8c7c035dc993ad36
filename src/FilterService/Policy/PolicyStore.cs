using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace FilterService.Policy;

/// <summary>The outcome of the most recent load or reload, for the admin endpoint and tests.</summary>
internal sealed record PolicyLoadReport(DateTimeOffset At, string Trigger, bool Succeeded, string? Version, IReadOnlyList<string> Diagnostics);

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
    private readonly object _reloadGate = new();
    private PolicySnapshot? _current;
    private PolicyLoadReport? _lastReport;
    private long _generation;

    public PolicyStore(string directory, TimeProvider time, ILogger<PolicyStore> logger)
    {
        _directory = directory;
        _time = time;
        _logger = logger;
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
            var (policy, loaded) = LoadChecked(previous: null, out var lines);
            diagnostics = lines;
            Publish(policy, "start", lines);
            return loaded;
        }
    }

    /// <summary>Reloads now. Never throws for a bad policy: the last good one stays live.</summary>
    public PolicyLoadReport Reload(string trigger)
    {
        lock (_reloadGate)
        {
            var previous = Volatile.Read(ref _current);
            var (policy, _) = LoadChecked(previous, out var lines);
            var report = Publish(policy, trigger, lines);
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

    private PolicyLoadReport Publish(PolicySnapshot? policy, string trigger, IReadOnlyList<string> lines)
    {
        var report = new PolicyLoadReport(_time.GetUtcNow(), trigger, policy is not null, policy?.Version, lines);
        if (policy is not null)
        {
            Volatile.Write(ref _current, policy);
        }
        // The report before the generation: whoever sees the generation move must see this load's report.
        Volatile.Write(ref _lastReport, report);
        if (policy is not null)
        {
            Interlocked.Increment(ref _generation);
            // Loading the lists leaves their text behind (strings and builder arrays: with 1.4M domains the process
            // stayed at over 300 MB without this; see bench/load/README.md); the policy itself is a few compact
            // arrays. Collect and give the memory back to the OS now, while it is one pause at a reload, rather than
            // leaving the process resident at its load-time peak.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            Hosting.MemoryTrimmer.Trim();
        }
        Reloaded?.Invoke(report);
        return report;
    }

    private (PolicySnapshot? Policy, bool Loaded) LoadChecked(PolicySnapshot? previous, out IReadOnlyList<string> lines)
    {
        PolicySnapshot? policy;
        IReadOnlyList<Diagnostic> diagnostics;
        try
        {
            var result = PolicyLoader.Load(_directory);
            (policy, diagnostics) = (result.Snapshot, result.Diagnostics);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            lines = [$"{_directory}: error FS0100: cannot read the policy: {ex.Message}"];
            return (null, false);
        }
        var all = diagnostics.Select(d => d.ToString()).ToList();
        if (policy is not null)
        {
            all.AddRange(StatutoryProblems(policy, previous));
            if (all.Count > diagnostics.Count)
            {
                policy = null;
            }
        }
        lines = all;
        return (policy, policy is not null);
    }

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
}
