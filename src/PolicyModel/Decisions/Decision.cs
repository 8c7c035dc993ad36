using System.Collections.Immutable;
using System.Net;

namespace PolicyModel.Decisions;

public enum DecisionAction
{
    Allow,
    Block,
}

/// <summary>How urgent an alert is. High is never delayed or folded into a digest.</summary>
public enum AlertSeverity
{
    None,
    Low,
    Medium,
    High,
}

/// <summary>
/// What the proxy asks about. <see cref="Host"/> is normalised (see <c>Matching.HostName</c>);
/// <see cref="PathAndQuery"/> is empty for a CONNECT tunnel whose requests are not inspected; otherwise it is the
/// origin-form target as it will be forwarded: the engine judges its canonical form (<c>Matching.UrlPath</c>).
/// </summary>
public readonly record struct FilterRequest(
    IPAddress Client,
    string? User,
    string Method,
    string Scheme,
    string Host,
    int Port,
    string PathAndQuery,
    DateTimeOffset At);

/// <summary>Who is asking: the user (authenticated or bound to the address), their roles and the network zone.</summary>
public sealed record ClientIdentity(
    string? User,
    string? DisplayName,
    ImmutableArray<string> Roles,
    string? Network,
    bool IsClient);

/// <summary>One step the engine tried, for <c>explain</c> and the admin simulator.</summary>
public sealed record TraceStep(string Step, bool Matched, string Detail);

/// <summary>
/// The answer for one request. <see cref="Rule"/> names what decided (a rule name, <c>statutory:terrorism</c>,
/// <c>exception:NAME</c>, <c>denied-user</c>, <c>not-a-client</c> or <c>default</c>); <see cref="Until"/> is the
/// instant this answer would next change for the same request, or null if never.
/// </summary>
public sealed record Decision(
    DecisionAction Action,
    string Rule,
    string? Category,
    string? List,
    string? Entry,
    string Reason,
    DateTimeOffset? Until,
    bool Alert,
    AlertSeverity Severity,
    ClientIdentity Identity,
    ImmutableArray<TraceStep> Trace)
{
    public bool IsBlocked => Action == DecisionAction.Block;
}
