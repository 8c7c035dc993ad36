using System.Text.Json.Serialization;
using PolicyModel.Decisions;

namespace FilterService.Notifications;

/// <summary>What an incident is for delivery.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<IncidentKind>))]
internal enum IncidentKind
{
    /// <summary>The first attempt in a fold window: delivered (at once if high, else maybe in a digest).</summary>
    Alert,
    /// <summary>A later attempt in the same window: recorded, never delivered on its own.</summary>
    Repeat,
    /// <summary>"N further attempts": delivered when the window closes.</summary>
    Summary,
}

/// <summary>
/// One alerting decision, as written to the outbox. <see cref="Id"/> is unique and stable: it is the dedupe key
/// receivers see (email Message-ID, webhook Idempotency-Key). <see cref="Target"/> is the URL for HTTP and
/// <c>host:port</c> for CONNECT. For a <see cref="IncidentKind.Summary"/>, <see cref="Count"/> is the number of
/// further attempts after the first (<see cref="FoldOf"/>) up to <see cref="LastAt"/>.
/// </summary>
internal sealed record Incident
{
    public required string Id { get; init; }
    public required IncidentKind Kind { get; init; }
    public required DateTimeOffset At { get; init; }
    public string? User { get; init; }
    public string? DisplayName { get; init; }
    public string[] Roles { get; init; } = [];
    public required string Client { get; init; }
    public string? Network { get; init; }
    public required string Method { get; init; }
    public required string Target { get; init; }
    public required string Host { get; init; }
    public string? Category { get; init; }
    public required string Rule { get; init; }

    [JsonConverter(typeof(JsonStringEnumConverter<AlertSeverity>))]
    public required AlertSeverity Severity { get; init; }

    public string? Reference { get; init; }
    public string? PolicyVersion { get; init; }
    public string? FoldOf { get; init; }
    public int Count { get; init; } = 1;
    public DateTimeOffset? LastAt { get; init; }

    /// <summary>Low and medium alerts wait for the digest when one is configured; high never does.</summary>
    public bool Digest { get; init; }

    /// <summary>Same user (or address when anonymous), category (or rule) and host: the folding key.</summary>
    [JsonIgnore]
    public string FoldKey => $"{User ?? Client}\n{Category ?? Rule}\n{Host}";

    [JsonIgnore]
    public bool Deliverable => Kind != IncidentKind.Repeat;
}
