using System.Net;
using System.Text.Json;
using FilterService.Audit;
using FilterService.Identity;
using FilterService.OperationalLog;
using FilterService.Policy;
using FilterService.Telemetry;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace FilterService.Hosting;

/// <summary>The admin endpoint: health and Prometheus metrics; pages are a later issue (the PAC file is on the proxy port: Proxy/ProxyAutoConfig).</summary>
internal sealed class AdminEndpoint(PolicyStore store, PrometheusBridge metrics, AuditLog? audit = null)
{
    // prometheus-net's exposition, text 0.0.4 whatever the Accept: its OpenMetrics writes integer bucket bounds as
    // le="1.0", and a Prometheus 2.x (Debian 12's) would store every such bucket as a new series (Telemetry/README.md).
    private readonly Prometheus.MetricServerMiddleware _metrics = new(_ => Task.CompletedTask,
        new Prometheus.MetricServerMiddleware.Settings { Registry = metrics.Registry, EnableOpenMetrics = false });

    /// <summary>Whether the service has an inspection CA (Proxy:InspectionCaCertificate): without one, tenant restrictions cannot apply.</summary>
    public bool InspectionCa { get; init; }

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path == "/metrics" && HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.Headers.CacheControl = "no-store";
            await _metrics.Invoke(context);
            return;
        }
        if (context.Request.Path == "/health" && HttpMethods.IsGet(context.Request.Method))
        {
            var report = store.LastReport;
            var watch = store.Watch;
            // Issue 15 item 13: alerts held only in memory (outbox not writable) would be lost by a crash.
            int alertsNotDurable = context.RequestServices.GetService<Notifications.AlertStats>()?.NotDurable ?? 0;
            var problems = Problems(store, audit, InspectionCa, context.RequestServices);
            var ldap = store.Current.Ldap;
            var directory = ldap is null ? null : context.RequestServices.GetService<LdapDirectory>();
            var operationalLog = context.RequestServices.GetService<OperationalLog.OperationalLogStatus>();
            var feeds = context.RequestServices.GetService<Feeds.FeedStatusBoard>();
            var decisions = context.RequestServices.GetService<Admin.Decisions.DecisionIndexStatus>();
            var incidents = context.RequestServices.GetService<Admin.Incidents.IncidentIngestStatus>();
            context.Response.ContentType = "application/json";
            context.Response.Headers.CacheControl = "no-store";
            bool accepting = audit is null || audit.Accepting;
            await context.Response.WriteAsync(JsonSerializer.Serialize(new
            {
                // 200 either way: a restart would not free the disk and would lose the records queued in memory.
                status = problems.Count == 0 && accepting && (audit is null || audit.Writable) ? "ok" : "degraded",
                problems,
                alerts = new { notDurable = alertsNotDurable },
                incidents = incidents?.Health(),
                feeds = feeds?.All.Select(f => new
                {
                    list = f.List, category = f.Category, statutory = f.Statutory, source = f.Source, lastSuccess = f.LastSuccess, lastAttempt = f.LastAttempt,
                    entries = f.Entries, version = f.Version, etag = f.ETag, lastError = f.LastError, lastFailure = f.LastFailure,
                }),
                policy = new
                {
                    version = store.Current.Version,
                    directory = store.Directory,
                    generation = store.Generation,
                    watcher = new { state = watch.State.ToString().ToLowerInvariant(), since = watch.Since, problem = watch.Problem },
                },
                lastLoad = report is null ? null : new
                {
                    at = report.At,
                    trigger = report.Trigger,
                    succeeded = report.Succeeded,
                    version = report.Version,
                    error = report.FirstError,
                    diagnostics = report.Diagnostics,
                },
                directory = ldap is null || directory is null ? null : new
                {
                    url = ldap.Url.ToString(),
                    up = directory.Status.Up,
                    since = directory.Status.Since,
                    problem = directory.Status.Problem,
                    onDirectoryDown = ldap.OnDown == PolicyModel.Decisions.DirectoryDownMode.Refuse ? "refuse" : "cached_then_default",
                    cachedSignIns = directory.CachedSignIns,
                    members = directory.Members,
                    bindFailures = directory.BindFailures,
                    cacheHits = directory.CacheHits,
                    fallbacks = new { cached = directory.Fallbacks.Cached, defaultRole = directory.Fallbacks.DefaultRole, refused = directory.Fallbacks.Refused },
                },
                audit = audit is null ? null : new
                {
                    accepting,
                    writable = audit.Writable,
                    onWriteFailure = audit.OnWriteFailure.ToString(),
                    backlogBytes = audit.BacklogBytes,
                    backlogRecords = audit.BacklogRecords,
                    writeErrors = audit.WriteErrors,
                    droppedRecords = audit.DroppedRecords,
                    refusedRequests = audit.RefusedRequests,
                    syslog = audit.Syslog is not { } s ? null : new
                    {
                        target = s.Target,
                        connected = s.Connected,
                        since = s.Since,
                        lastError = s.LastError,
                        queued = s.Queued,
                        sent = s.Sent,
                        dropped = s.Dropped,
                        errors = s.Errors,
                    },
                },
                operationalLog = operationalLog?.Health(),
                decisions = decisions?.Health(),
            }));
            return;
        }
        context.Response.StatusCode = StatusCodes.Status404NotFound;
    }

    /// <summary>The problems /health lists (also shown on the console's home page).</summary>
    internal static List<string> Problems(PolicyStore store, AuditLog? audit, bool inspectionCa, IServiceProvider services)
    {
        int alertsNotDurable = services.GetService<Notifications.AlertStats>()?.NotDurable ?? 0;
        var problems = new List<string>(store.Problems);
        // Issue 17: tenant restrictions configured but unenforceable (no CA) is a failure a school must see.
        if (!inspectionCa && InspectionWarnings.TenantRestrictionsInactive(store.Current) is { } tenants)
        {
            problems.Add(tenants);
        }
        // Issue 22: a directory that cannot be asked is a degraded service, whatever on_directory_down says.
        var ldap = store.Current.Ldap;
        var directory = ldap is null ? null : services.GetService<LdapDirectory>();
        if (ldap is not null && directory?.Status is { Up: false } down)
        {
            problems.Add($"directory: {ldap.Url} cannot be asked since {down.Since:u} ({down.Problem}); sign-ins cached within {ldap.CachedValidFor} keep working, "
                + (ldap.OnDown == PolicyModel.Decisions.DirectoryDownMode.Refuse ? "new ones are refused" : "new ones get the network's default role (407 where it has none)"));
        }
        if (alertsNotDurable > 0)
        {
            problems.Add($"{alertsNotDurable} alert(s) held only in memory: the alert outbox cannot be written");
        }
        if (audit?.Syslog is { Connected: false } syslog)
        {
            problems.Add($"audit records are not reaching syslog at {syslog.Target}: {syslog.LastError}; {syslog.Queued} queued, {syslog.Dropped} dropped");
        }
        problems.AddRange(services.GetService<OperationalLog.OperationalLogStatus>()?.Problems() ?? []);
        // Issue 21: a statutory feed that did not update is a problem; every feed's freshness is listed.
        problems.AddRange(services.GetService<Feeds.FeedStatusBoard>()?.Problems ?? []);
        // Issues 18, 19: the console's decision index behind the audit files, or failing.
        problems.AddRange(services.GetService<Admin.Decisions.DecisionIndexStatus>()?.Problems() ?? []);
        // Issue 18: hand edits that could not be compared with the change history or recorded in it.
        if (services.GetService<Admin.History.HandEditDetector>()?.Problem is { } history)
        {
            problems.Add(history);
        }
        // Issue 19: alerts waiting for the console's inbox because console.db cannot be written.
        problems.AddRange(services.GetService<Admin.Incidents.IncidentIngestStatus>()?.Problems ?? []);
        return problems;
    }
}
