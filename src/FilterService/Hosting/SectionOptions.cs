using System.Net;

namespace FilterService.Hosting;

// The smaller sections of ServiceOptions: Admin, Policy and Audit (Proxy has its own file).

/// <summary>The admin endpoint (section <c>Admin</c>): health and metrics; the PAC file is served on the proxy port (section <c>Pac</c>).</summary>
internal sealed class AdminOptions
{
    /// <summary>Default 127.0.0.1:9090; empty turns the admin endpoint off.</summary>
    public List<IPEndPoint> Listen { get; set; } = new();

    /// <summary>A PEM certificate (chain) for HTTPS on the admin listeners (the console, /health, /metrics); with <see cref="CertificateKey"/>. Default: plain HTTP.</summary>
    public string? Certificate { get; set; }

    /// <summary>The PEM private key of <see cref="Certificate"/>.</summary>
    public string? CertificateKey { get; set; }
}

/// <summary>The policy directory (section <c>Policy</c>).</summary>
internal sealed class PolicyOptions
{
    /// <summary>The directory holding policy.yaml. Default deploy/samples/default.</summary>
    public string Path { get; set; } = "deploy/samples/default";

    /// <summary>Whether edits in the directory are picked up automatically (SIGHUP always reloads).</summary>
    public bool Watch { get; set; } = true;

    /// <summary>Quiet time after the last file change before reloading, so an editor's save is read once. Default 500 ms.</summary>
    public TimeSpan ReloadDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// A statutory list whose entry count falls below this fraction of its last good count is refused unless
    /// confirmed (<c>lists confirm</c>). Default 0.9: a truncated download loses far more than 10%; a real update
    /// rarely removes that much at once.
    /// </summary>
    public double StatutoryShrinkFraction { get; set; } = 0.9;

    /// <summary>A statutory list with fewer entries than this is refused unless confirmed. Default 0 (off).</summary>
    public int StatutoryMinEntries { get; set; }
}

/// <summary>What the audit log records.</summary>
internal enum AuditScope
{
    All,
    Blocked,
}

/// <summary>The audit log (section <c>Audit</c>).</summary>
internal sealed class AuditOptions
{
    /// <summary>The directory for <c>audit-YYYYMMDD.json</c> (and <c>access-YYYYMMDD.log</c>). Default logs.</summary>
    public string Path { get; set; } = "logs";

    /// <summary>Days of audit files kept (one file per day). Default 90.</summary>
    public int RetainDays { get; set; } = 90;

    /// <summary>Every decision, or blocked ones only. Default All.</summary>
    public AuditScope Log { get; set; } = AuditScope.All;

    /// <summary>Also write Squid's native access.log format, for existing log tools. Default false.</summary>
    public bool SquidFormat { get; set; }

    /// <summary>What the proxy does while the audit log cannot take records. Default Refuse (fail closed).</summary>
    public AuditFailureMode OnWriteFailure { get; set; } = AuditFailureMode.Refuse;

    /// <summary>Bytes of records queued in memory before new traffic is refused. Default 32 MB (about 80,000 records).</summary>
    public long MaxBacklogBytes { get; set; } = FilterService.Audit.AuditFile.DefaultMaxBacklogBytes;

    /// <summary>Gzip each day's files once the next day's are started (off the request path). Default true.</summary>
    public bool CompressRolled { get; set; } = true;

    /// <summary>Section <c>Audit:Syslog</c>: a copy of every record to a syslog collector (off by default).</summary>
    public FilterService.Audit.SyslogOptions Syslog { get; set; } = new();
}

/// <summary>What the proxy does while the audit log cannot take records (a full or failing disk, a full backlog).</summary>
internal enum AuditFailureMode
{
    /// <summary>Refuse new requests and tunnels with 503 until the log is written again: nothing decided goes unrecorded.</summary>
    Refuse,

    /// <summary>Keep serving; records that find no room in the backlog are dropped and counted.</summary>
    AllowAndCount,
}
