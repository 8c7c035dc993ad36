using System.Net;
using PolicyModel.Decisions;

namespace FilterService.Audit;

/// <summary>
/// One request as the proxy finished it: what was asked, what the engine decided and what happened on the
/// wire. <see cref="Target"/> is the absolute URL for HTTP and <c>host:port</c> for CONNECT.
/// <see cref="Decision"/> is null when the request was refused before the engine was asked (malformed,
/// not a client, failed login); <see cref="Rule"/> then names the proxy's own reason.
/// </summary>
internal sealed record DecisionRecord(
    DateTimeOffset At,
    IPAddress Client,
    string? User,
    IReadOnlyList<string> Roles,
    string? Network,
    string Method,
    string Target,
    DecisionAction Action,
    string Rule,
    string? Category,
    int Status,
    long BytesFromClient,
    long BytesToClient,
    TimeSpan Duration,
    string Reference,
    string? PolicyVersion,
    Decision? Decision,
    string? UpstreamAddress = null,
    string? ContentType = null,
    string? SafeSearch = null);

/// <summary>
/// Told about every finished request. The audit log implements it; metrics and alerts will. Called on the
/// request's thread after the response is complete: implementations must be fast and must not throw.
/// </summary>
internal interface IDecisionObserver
{
    void OnDecision(DecisionRecord record);
}
