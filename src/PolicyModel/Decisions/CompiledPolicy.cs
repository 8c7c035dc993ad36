using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using NodaTime;
using PolicyModel.Schedules;

namespace PolicyModel.Decisions;

/// <summary>A named zone of client addresses.</summary>
internal sealed record NetworkDef(string Name, int Index, ImmutableArray<IPNetwork> Cidrs, int? DefaultRole);

/// <summary>A category: its bit in the matcher's mask, whether it is statutory, and who its blocks alert about.</summary>
internal sealed record CategoryDef(string Name, int Index, string? Description, bool Statutory, AlertSeverity Alert, ulong AlertRoleMask)
{
    /// <summary>The severity a block in this category raises for a client with these roles (no <c>alert_roles</c>: everyone).</summary>
    public AlertSeverity AlertFor(ulong roleMask) =>
        AlertRoleMask == 0 || (roleMask & AlertRoleMask) != 0 ? Alert : AlertSeverity.None;
}

/// <summary>One rule, compiled: sets are bit masks over role, network and category indexes; null/0 = not checked.</summary>
internal sealed class CompiledRule
{
    public required string Name { get; init; }
    public required int Line { get; init; }
    public required DecisionAction Action { get; init; }
    public required string Reason { get; init; }
    public ulong RoleMask { get; init; }
    public FrozenSet<string>? Users { get; init; }
    public ulong NetworkMask { get; init; }
    public ulong CategoryMask { get; init; }
    public ImmutableArray<HostPattern> Hosts { get; init; } = [];
    public FrozenSet<string>? Methods { get; init; }
    public ImmutableArray<string> Paths { get; init; } = [];
    public Schedule? During { get; init; }
    public Schedule? Outside { get; init; }
    public AlertSeverity Alert { get; init; }

    /// <summary><c>enabled: false</c>: kept in the policy (and shown by explain) but never matches.</summary>
    public bool Disabled { get; init; }

    /// <summary>Whether the rule needs the request's method or path, which a tunnel does not show.</summary>
    public bool NeedsInspection => Methods is not null || !Paths.IsDefaultOrEmpty;
}

/// <summary>A named, dated permission. <see cref="From"/> and <see cref="Until"/> bound a half-open interval.</summary>
internal sealed class CompiledException
{
    public required string Name { get; init; }
    public required string Reason { get; init; }
    public FrozenSet<string>? Users { get; init; }
    public ulong RoleMask { get; init; }
    public ulong CategoryMask { get; init; }
    public ImmutableArray<HostPattern> Hosts { get; init; } = [];
    public Instant? From { get; init; }
    public required Instant Until { get; init; }
    public Schedule? During { get; init; }
}

/// <summary>A user denied all access.</summary>
internal sealed record DeniedUser(string User, string Reason, string? By);
