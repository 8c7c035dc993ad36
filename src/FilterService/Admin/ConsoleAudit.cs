using FilterService.Audit;

namespace FilterService.Admin;

/// <summary>
/// Writes what admins do in the console to the audit trail (<see cref="AdminEvent"/> lines in the audit file) and the
/// operational log. The one place console features record an admin's action; never a password.
/// </summary>
internal sealed partial class ConsoleAudit(AuditLog audit, TimeProvider time, ILogger<ConsoleAudit> logger)
{
    /// <summary>Records <paramref name="eventName"/> by <paramref name="admin"/> from the request's client address.</summary>
    public void Record(HttpContext context, string eventName, string? admin, string outcome, string? detail = null)
    {
        var client = context.Connection.RemoteIpAddress?.ToString();
        audit.OnAdminEvent(new AdminEvent(time.GetUtcNow(), eventName, admin, client, outcome, detail));
        Log(logger, eventName, admin ?? "-", client ?? "-", outcome, detail ?? "");
    }

    [LoggerMessage(EventId = 1800, Level = LogLevel.Information, Message = "console: {Event} by {Admin} from {Client}: {Outcome} {Detail}")]
    private static partial void Log(ILogger logger, string @event, string admin, string client, string outcome, string detail);
}
