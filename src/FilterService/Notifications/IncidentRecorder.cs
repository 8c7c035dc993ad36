using System.Net;
using PolicyModel.Decisions;

namespace FilterService.Notifications;

/// <summary>
/// The hot-path hook: turns an alerting decision into an incident, folds repeats, and writes it to the outbox
/// (fsynced) before the caller writes the block response. Never throws, and waits for the write at most
/// <c>Alerts:Outbox:WriteTimeout</c>: if the outbox cannot be written (a full disk) or is slow, the request is still
/// blocked, the incident is held in memory and delivered from there while the outbox retries the write, and the
/// failure is logged at Error naming the incident id (and shown by /health and the metrics).
/// </summary>
internal sealed partial class IncidentRecorder
{
    private readonly Outbox _outbox;
    private readonly Folding _folding;
    private readonly AlertStats _stats;
    private readonly TimeProvider _time;
    private readonly ILogger<IncidentRecorder> _logger;
    private readonly TimeSpan _writeTimeout;
    private readonly List<SemaphoreSlim> _wake = new();

    public IncidentRecorder(AlertOptions options, Outbox outbox, AlertStats stats, TimeProvider time, ILogger<IncidentRecorder> logger)
    {
        _outbox = outbox;
        _writeTimeout = options.Outbox.WriteTimeout;
        _stats = stats;
        _time = time;
        _logger = logger;
        _folding = new Folding(options.FoldWindow, options.DigestInterval);
        _folding.Restore(outbox.Incidents(), time.GetUtcNow());
    }

    /// <summary>The fold state; lock it to use.</summary>
    internal Folding Folding => _folding;

    /// <summary>Signals a delivery loop when a deliverable incident arrives.</summary>
    internal void Subscribe(SemaphoreSlim wake)
    {
        lock (_wake)
        {
            _wake.Add(wake);
        }
    }

    public async ValueTask RecordAsync(DateTimeOffset at, IPAddress client, string method, string target, string host, Decision decision,
        string reference, string? policyVersion)
    {
        if (!decision.Alert)
        {
            return;
        }
        var candidate = new Incident
        {
            Id = Guid.CreateVersion7(at).ToString("N"),
            Kind = IncidentKind.Alert,
            At = at,
            User = decision.Identity.User,
            DisplayName = decision.Identity.DisplayName,
            Roles = decision.Identity.Roles.IsDefault ? [] : decision.Identity.Roles.ToArray(),
            Client = client.ToString(),
            Network = decision.Identity.Network,
            Method = method,
            Target = target,
            Host = host,
            Category = decision.Category,
            Rule = decision.Rule,
            // An alert without a severity is still an alert: medium, as docs/policy.md defines `alert: true`.
            Severity = decision.Severity == AlertSeverity.None ? AlertSeverity.Medium : decision.Severity,
            Reference = reference,
            PolicyVersion = policyVersion,
        };
        Incident incident;
        lock (_folding)
        {
            incident = _folding.Classify(candidate);
        }
        bool durable;
        Exception? error = null;
        try
        {
            // Bounded: a disk that hangs must not hang the block page. The write goes on; the incident is in memory.
            durable = await _outbox.AppendAsync(incident).WaitAsync(_writeTimeout, _time);
        }
        catch (Exception ex)
        {
            durable = false;
            error = ex is TimeoutException ? null : ex;
            _outbox.MarkOverdue(incident);
        }
        if (!durable && incident.Deliverable)
        {
            LogNotDurable(_logger, error, incident.Id, incident.Severity, incident.Category, incident.Rule);
        }
        _stats.OnRaised(incident.Severity);
        if (incident.Kind == IncidentKind.Alert)
        {
            LogRaised(_logger, incident.Id, incident.Severity, incident.Category, incident.Rule);
            Wake();
        }
        LogRecorded(_logger, incident.Id, incident.Kind, incident.User, incident.Target);
    }

    internal void Unsubscribe(SemaphoreSlim wake)
    {
        lock (_wake)
        {
            _wake.Remove(wake);
        }
    }

    internal void Wake()
    {
        lock (_wake)
        {
            foreach (var w in _wake)
            {
                if (w.CurrentCount == 0)
                {
                    w.Release();
                }
            }
        }
    }

    [LoggerMessage(EventId = 1510, Level = LogLevel.Error,
        Message = "Alert {Id} ({Severity}, category {Category}, rule {Rule}) is NOT on disk yet: the request was blocked, the alert is held in memory and delivered from there, and the outbox write is retried")]
    private static partial void LogNotDurable(ILogger logger, Exception? ex, string id, AlertSeverity severity, string? category, string rule);

    [LoggerMessage(EventId = 1511, Level = LogLevel.Warning, Message = "Alert {Id} raised: {Severity}, category {Category}, rule {Rule}")]
    private static partial void LogRaised(ILogger logger, string id, AlertSeverity severity, string? category, string rule);

    [LoggerMessage(EventId = 1512, Level = LogLevel.Debug, Message = "Incident {Id} ({Kind}) recorded for {User}: {Target}")]
    private static partial void LogRecorded(ILogger logger, string id, IncidentKind kind, string? user, string target);
}
