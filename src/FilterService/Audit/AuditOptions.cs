namespace FilterService.Audit;

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
    public long MaxBacklogBytes { get; set; } = AuditFile.DefaultMaxBacklogBytes;

    /// <summary>
    /// How long a record may wait in memory before it is written and fsynced: the most a power cut can lose. Default
    /// 1 s; 10 ms to 60 s. Shorter costs a write and an fsync more often.
    /// </summary>
    public TimeSpan FlushInterval { get; set; } = AuditFile.DefaultFlushInterval;

    /// <summary>Gzip each day's files once the next day's are started (off the request path). Default true.</summary>
    public bool CompressRolled { get; set; } = true;

    /// <summary>Section <c>Audit:Syslog</c>: a copy of every record to a syslog collector (off by default).</summary>
    public SyslogOptions Syslog { get; set; } = new();
}

/// <summary>What the proxy does while the audit log cannot take records (a full or failing disk, a full backlog).</summary>
internal enum AuditFailureMode
{
    /// <summary>Refuse new requests and tunnels with 503 until the log is written again: nothing decided goes unrecorded.</summary>
    Refuse,

    /// <summary>Keep serving; records that find no room in the backlog are dropped and counted.</summary>
    AllowAndCount,
}
