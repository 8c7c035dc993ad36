using System.Buffers;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using FilterService.Hosting;
using PolicyModel.Decisions;

namespace FilterService.Audit;

/// <summary>
/// The audit log: one JSON line per decision in <c>audit-YYYYMMDD.json</c>, rolled daily and kept for
/// <c>Audit:RetainDays</c> (gzipped once rolled, <see cref="RolledFileCompressor"/>), optionally the same in Squid's native
/// access.log format, and optionally a copy to a syslog collector (<see cref="SyslogExporter"/>). The request thread
/// formats its own record into a per-thread buffer and hands the bytes to an <see cref="AuditFile"/>, which writes them.
/// </summary>
/// <remarks>
/// Every decision must be recorded, so while a file cannot take records (a failed or stuck write, a full backlog)
/// <see cref="Accepting"/> is false and the proxy refuses new requests and tunnels with 503 (rule
/// <see cref="UnavailableRule"/>) instead of deciding what it could not record; with
/// <c>Audit:OnWriteFailure=AllowAndCount</c> traffic flows and records that find no room are dropped and counted.
/// Appending never waits. The state is published on the meter <c>FilterService.Audit</c> and in /health.
/// </remarks>
internal sealed partial class AuditLog : IDecisionObserver, IDisposable
{
    public const string MeterName = "FilterService.Audit";

    /// <summary>The rule of a request refused because the audit log could not take its record.</summary>
    public const string UnavailableRule = "audit-unavailable";

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_scratch;

    private readonly AuditFile _json;
    private readonly AuditFile? _squid;
    private readonly SyslogExporter? _syslog;
    private readonly bool _blockedOnly;
    private long _refused;

    public AuditLog(AuditOptions options, ILogger<AuditLog> logger, TimeZoneInfo? zone = null, TimeProvider? time = null, IMeterFactory? meters = null)
    {
        _blockedOnly = options.Log == AuditScope.Blocked;
        OnWriteFailure = options.OnWriteFailure;
        _json = new AuditFile(options.Path, "audit-", ".json", options.RetainDays, logger, zone, options.MaxBacklogBytes, time, options.CompressRolled, options.FlushInterval);
        _squid = options.SquidFormat
            ? new AuditFile(options.Path, "access-", ".log", options.RetainDays, logger, zone, options.MaxBacklogBytes, time, options.CompressRolled, options.FlushInterval)
            : null;
        _syslog = options.Syslog.Enabled ? new SyslogExporter(options.Syslog, logger, time) : null;
        if (meters is not null)
        {
            var meter = meters.Create(MeterName);
            Publish(meter);
            _syslog?.Publish(meter);
        }
    }

    public AuditFailureMode OnWriteFailure { get; }

    /// <summary>The export to a syslog collector (<c>Audit:Syslog</c>), null when off.</summary>
    public SyslogExporter? Syslog => _syslog;

    /// <summary>
    /// Whether the proxy may admit new traffic: always with <see cref="AuditFailureMode.AllowAndCount"/>, else only
    /// while every file is writable with room in its backlog. Cheap: read on every request.
    /// </summary>
    public bool Accepting => OnWriteFailure == AuditFailureMode.AllowAndCount || (_json.Accepting && (_squid is null || _squid.Accepting));

    public bool Writable => _json.Writable && (_squid is null || _squid.Writable);

    /// <summary>Bytes queued across the files.</summary>
    public long BacklogBytes => _json.BacklogBytes + (_squid?.BacklogBytes ?? 0);

    /// <summary>Records queued: the larger of the files' counts (each record goes to every file).</summary>
    public long BacklogRecords => Math.Max(_json.BacklogRecords, _squid?.BacklogRecords ?? 0);

    public long WriteErrors => _json.WriteErrors + (_squid?.WriteErrors ?? 0);

    /// <summary>Lines dropped for want of room, across the files.</summary>
    public long DroppedRecords => _json.DroppedRecords + (_squid?.DroppedRecords ?? 0);

    /// <summary>Requests and tunnels refused because the log was not accepting (<see cref="UnavailableRule"/>).</summary>
    public long RefusedRequests => Interlocked.Read(ref _refused);

    public void OnDecision(DecisionRecord record)
    {
        if (record.Rule == UnavailableRule && record.Decision is null)
        {
            Interlocked.Increment(ref _refused);
        }
        if (_blockedOnly && record.Action != DecisionAction.Block)
        {
            return;
        }
        // The records of engine decisions (requests admitted before the log stopped accepting) may use the reserve;
        // the proxy's own refusals, which a flood can multiply, may not.
        bool decided = record.Decision is not null;
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(1024);
        scratch.ResetWrittenCount();
        JsonLineFormatter.Write(record, scratch);
        scratch.Write("\n"u8);
        _json.Append(scratch.WrittenSpan, record.At, decided);
        if (_squid is not null)
        {
            scratch.ResetWrittenCount();
            SquidFormatter.Write(record, scratch);
            scratch.Write("\n"u8);
            _squid.Append(scratch.WrittenSpan, record.At, decided);
        }
        _syslog?.Enqueue(record); // after the file: the file is the record of truth; this never waits
    }

    /// <summary>
    /// An admin's action in the console (sign-in, failure, lockout, account change) as one line of the audit file
    /// (<see cref="AdminEvent"/>) and to syslog; not in the Squid-format file, which has no place for it. Rare: it may allocate.
    /// </summary>
    public void OnAdminEvent(AdminEvent record)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        record.Write(buffer);
        buffer.Write("\n"u8);
        _json.Append(buffer.WrittenSpan, record.At);
        _syslog?.Enqueue(record);
    }

    private void Publish(Meter meter)
    {
        meter.CreateObservableGauge("filterservice.audit.writable", () => PerFile(f => f.Writable ? 1L : 0L), "1",
            "1 while the audit file is being written, 0 from a failed write until a retry succeeds or while a write is stuck.");
        meter.CreateObservableGauge("filterservice.audit.accepting", () => Accepting ? 1L : 0L, "1",
            "1 while the proxy admits new traffic; 0 while it refuses it with 503 because the audit log cannot take records.");
        meter.CreateObservableGauge("filterservice.audit.backlog", () => PerFile(f => f.BacklogBytes), "By",
            "Audit bytes queued in memory and not yet written, by file.");
        meter.CreateObservableGauge("filterservice.audit.backlog.records", () => PerFile(f => f.BacklogRecords), "{record}",
            "Audit records queued in memory and not yet written, by file.");
        meter.CreateObservableCounter("filterservice.audit.write_errors", () => PerFile(f => f.WriteErrors), "{error}",
            "Failed audit writes, fsyncs or opens (each failed retry counts), by file.");
        meter.CreateObservableCounter("filterservice.audit.records.dropped", () => PerFile(f => f.DroppedRecords), "{record}",
            "Audit records dropped because the backlog was full, by file. Stays 0 unless the backlog overflows.");
        meter.CreateObservableCounter("filterservice.audit.refused_requests", () => RefusedRequests, "{request}",
            "Requests and tunnels refused with 503 because the audit log could not take records (rule audit-unavailable).");
    }

    private IEnumerable<Measurement<long>> PerFile(Func<AuditFile, long> value)
    {
        yield return new Measurement<long>(value(_json), new KeyValuePair<string, object?>("file", "json"));
        if (_squid is not null)
        {
            yield return new Measurement<long>(value(_squid), new KeyValuePair<string, object?>("file", "squid"));
        }
    }

    /// <summary>Writes and fsyncs what is queued.</summary>
    public void Dispose()
    {
        _json.Dispose();
        _squid?.Dispose();
        _syslog?.Dispose();
    }

    /// <summary>
    /// Squid's native format (<c>logformat squid</c>): time.ms elapsed client code/status bytes method URL user
    /// hierarchy/peer type. Fields never contain spaces; an absent one is <c>-</c>.
    /// </summary>
    internal static class SquidFormatter
    {
        public static void Write(DecisionRecord r, IBufferWriter<byte> output)
        {
            var line = ToLine(r);
            int n = Encoding.UTF8.GetBytes(line, output.GetSpan(Encoding.UTF8.GetMaxByteCount(line.Length)));
            output.Advance(n);
        }

        public static string ToLine(DecisionRecord r)
        {
            var seconds = r.At.ToUnixTimeMilliseconds() / 1000.0;
            string code = r.Action == DecisionAction.Block || r.Status is 403 or 407 or 400 or 405 or 429
                ? "TCP_DENIED"
                : r.Method == "CONNECT" ? "TCP_TUNNEL" : r.Status >= 500 ? "TCP_MISS_ABORTED" : "TCP_MISS";
            string hierarchy = r.UpstreamAddress is null ? "HIER_NONE/-" : "HIER_DIRECT/" + r.UpstreamAddress;
            return string.Create(CultureInfo.InvariantCulture,
                $"{seconds:0.000} {(long)r.Duration.TotalMilliseconds,6} {r.Client} {code}/{r.Status:000} {r.BytesToClient} {r.Method} {Token(r.Target)} {Token(r.User)} {hierarchy} {Token(r.ContentType)}");
        }

        private static string Token(string? s) =>
            string.IsNullOrEmpty(s) ? "-" : s.AsSpan().IndexOfAny(' ', '\t', '\n') < 0 ? s : Uri.EscapeDataString(s);
    }
}
