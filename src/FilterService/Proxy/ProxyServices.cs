using System.Net;
using FilterService.Audit;
using FilterService.Identity;
using FilterService.Notifications;
using FilterService.Policy;
using FilterService.Telemetry;
using PolicyModel.Decisions;

namespace FilterService.Proxy;

/// <summary>Who may use the proxy and as whom, decided before the engine is asked.</summary>
internal enum Admission
{
    Admitted,
    /// <summary>403: the address is outside the policy's <c>clients</c>. Never an open proxy.</summary>
    NotClient,
    /// <summary>407: credentials required or wrong.</summary>
    Challenge,
    /// <summary>429: too many failed logins from this address.</summary>
    Throttled,
    /// <summary>503: the audit log cannot take records (<c>Audit:OnWriteFailure=Refuse</c>): nothing is decided unrecorded.</summary>
    AuditUnavailable,
}

/// <summary>The outcome of <see cref="ProxyServices.AdmitAsync"/>.</summary>
internal readonly record struct AdmitResult(Admission Admission, string? User, TimeSpan RetryAfter);

/// <summary>What the CONNECT and HTTP stages share: the live policy, identity, upstream connections, the observers.</summary>
internal sealed class ProxyServices : IDisposable
{
    private static readonly int ReferenceSeed = Random.Shared.Next();
    private int _sequence;
    private readonly IDecisionObserver[] _observers;
    private readonly IncidentRecorder? _alerts;
    private readonly AuditLog? _audit;

    public ProxyServices(ProxyOptions options, PolicyStore policy, ProxyAuthenticator authenticator, UpstreamConnector upstream,
        IEnumerable<IDecisionObserver> observers, TimeProvider time, FilterMetrics? metrics = null, IncidentRecorder? alerts = null,
        AuditLog? audit = null, ILogger<RefusalLog>? refusalLogger = null, KerberosSignIn? kerberos = null)
    {
        _audit = audit;
        Refusals = new RefusalLog(time, options.RefusalLogInterval, refusalLogger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger<RefusalLog>.Instance);
        Metrics = metrics;
        _alerts = alerts;
        Options = options;
        Policy = policy;
        Authenticator = authenticator;
        Upstream = upstream;
        Time = time;
        _observers = observers.ToArray();
        // Issue 22: with a keytab, Negotiate (Kerberos, no prompt) is offered first and Basic stays for clients without a ticket.
        ProxyAuthenticate = (kerberos is null ? "" : "Negotiate, ") + $"Basic realm=\"{options.AuthRealm.Replace("\"", "'")}\", charset=\"UTF-8\"";
        Via = "1.1 " + options.ViaName;
    }

    public ProxyOptions Options { get; }
    public PolicyStore Policy { get; }
    public ProxyAuthenticator Authenticator { get; }
    public UpstreamConnector Upstream { get; }
    public TimeProvider Time { get; }
    public FilterMetrics? Metrics { get; }
    public string ProxyAuthenticate { get; }
    public string Via { get; }

    /// <summary>The operational log of refused connections and tunnels, one summary line per interval.</summary>
    public RefusalLog Refusals { get; }

    public void Dispose() => Refusals.Dispose();

    /// <summary>
    /// Starts one request or tunnel from <paramref name="client"/>: now on the injected clock, the live policy read
    /// once, a new reference. Every stage and transport starts its requests here.
    /// </summary>
    public ProxyRequest Begin(IPAddress client) =>
        new(Time.GetUtcNow(), Time.GetTimestamp(), client, Policy.Current, NextReference(), Time);

    /// <summary>A short reference for one request, quoted on block pages and found in the audit log.</summary>
    public string NextReference() =>
        unchecked((uint)(ReferenceSeed + Interlocked.Increment(ref _sequence) * 2654435761u)).ToString("X8", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The client's address as policies and records name it: an IPv4-mapped IPv6 address as IPv4, none when the
    /// transport has no IP end point. The one place it is derived; <see cref="ClientAddress(IPAddress?)"/> is the same
    /// for the HTTP stage, which Kestrel gives the address alone.
    /// </summary>
    public static IPAddress ClientAddress(EndPoint? remote) => ClientAddress((remote as IPEndPoint)?.Address);

    /// <summary>See <see cref="ClientAddress(EndPoint?)"/>.</summary>
    public static IPAddress ClientAddress(IPAddress? remote) =>
        remote is null ? IPAddress.None : remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote;

    /// <summary>False while the audit log cannot take the records of new traffic (see <see cref="AuditLog.Accepting"/>).</summary>
    public bool AuditAccepting => _audit is null || _audit.Accepting;

    /// <summary>Whether the client may use the proxy, and as whom. A login's password hash runs off the socket threads.</summary>
    public async ValueTask<AdmitResult> AdmitAsync(PolicySnapshot policy, IPAddress client, string? proxyAuthorization)
    {
        if (!policy.IsClient(client))
        {
            return new(Admission.NotClient, null, TimeSpan.Zero);
        }
        if (!AuditAccepting)
        {
            return new(Admission.AuditUnavailable, null, TimeSpan.Zero);
        }
        return ToAdmit(await Authenticator.AuthenticateAsync(policy, client, proxyAuthorization));
    }

    /// <summary>
    /// Admission when it needs no password hash, changing nothing (<see cref="ProxyAuthenticator.TryAuthenticateInline"/>);
    /// false when only <see cref="AdmitAsync"/> can tell.
    /// </summary>
    public bool TryAdmitInline(PolicySnapshot policy, IPAddress client, string? proxyAuthorization, out AdmitResult result)
    {
        if (!policy.IsClient(client))
        {
            result = new(Admission.NotClient, null, TimeSpan.Zero);
            return true;
        }
        if (!AuditAccepting)
        {
            result = new(Admission.AuditUnavailable, null, TimeSpan.Zero);
            return true;
        }
        if (!Authenticator.TryAuthenticateInline(policy, client, proxyAuthorization, out var auth))
        {
            result = default;
            return false;
        }
        result = ToAdmit(auth);
        return true;
    }

    private static AdmitResult ToAdmit(AuthResult auth) => new(auth.Outcome switch
    {
        AuthOutcome.Challenge => Admission.Challenge,
        AuthOutcome.Throttled => Admission.Throttled,
        _ => Admission.Admitted,
    }, auth.User, auth.RetryAfter);

    public static string RuleFor(Admission admission) => admission switch
    {
        Admission.NotClient => "not-a-client",
        Admission.Challenge => "proxy-auth",
        Admission.Throttled => "proxy-auth-throttled",
        Admission.AuditUnavailable => AuditLog.UnavailableRule,
        _ => "",
    };

    /// <summary>Asks the engine, timing the call for the decision-latency histogram.</summary>
    public Decision Decide(PolicySnapshot policy, in FilterRequest request)
    {
        long started = Time.GetTimestamp();
        var decision = policy.Decide(in request);
        Metrics?.RecordDecisionTime(Time.GetElapsedTime(started));
        return decision;
    }

    public void Observe(DecisionRecord record)
    {
        foreach (var o in _observers)
        {
            o.OnDecision(record);
        }
    }

    /// <summary>
    /// For a decision that raises an alert, writes the incident durably to the alert outbox. Await it before the
    /// block response is written: an alert must not be lost by a crash after the pupil saw the block page.
    /// The outbox's fsync blocks, so it runs on the thread pool, never on a socket thread.
    /// </summary>
    public ValueTask AlertAsync(DateTimeOffset at, IPAddress client, string method, string target, string host, Decision decision,
        string reference, string? policyVersion)
    {
        if (!decision.Alert || _alerts is not { } alerts)
        {
            return default;
        }
        return new(RecordOffThread(alerts, at, client, method, target, host, decision, reference, policyVersion));

        // The lambda's closure lives here, made only for a request that alerts: captured in AlertAsync itself it was
        // allocated at its entry, for every request (about 110 bytes, 7% of a blocked request's allocation).
        static Task RecordOffThread(IncidentRecorder alerts, DateTimeOffset at, IPAddress client, string method, string target, string host,
            Decision decision, string reference, string? policyVersion) =>
            Task.Run(() => alerts.RecordAsync(at, client, method, target, host, decision, reference, policyVersion).AsTask());
    }
}
