using System.Buffers;
using System.Net;
using BenchmarkDotNet.Attributes;
using FilterService.Audit;
using PolicyModel.Decisions;

namespace FilterService.Benchmarks;

/// <summary>
/// One audit line as the request's thread formats it (<c>AuditLog.OnDecision</c>): a block by the 1.4M-domain list,
/// as bench/load's blocked step records it, and an allowed request with its upstream; and the blocked one through the
/// general path (Utf8JsonWriter), which every line took before the plain path.
/// <c>dotnet run -c Release --project bench/FilterService.Benchmarks -- --filter '*AuditRecord*' --job short</c>
/// </summary>
[MemoryDiagnoser]
public class AuditRecordBenchmarks
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 10, 15, 30, 250, TimeSpan.Zero);
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private DecisionRecord _blocked = null!, _allowed = null!;

    [GlobalSetup]
    public void Setup()
    {
        var identity = new ClientIdentity(null, null, [], null, true);
        var block = new Decision(DecisionAction.Block, "block", "bench-blocked", "lists/bench-blocked.txt", "blocked-0042.example",
            "Blocked by rule 'block'.", null, false, AlertSeverity.None, identity, []);
        _blocked = new DecisionRecord(At, IPAddress.Loopback, null, [], null, "GET", "http://www.blocked-0042.example/index.html",
            DecisionAction.Block, "block", "bench-blocked", 403, 0, 967, TimeSpan.FromMilliseconds(0.21), "7F3A09C2", "3f2a9c1b", block);
        var allow = block with { Action = DecisionAction.Allow, Rule = "default", Category = null, List = null, Entry = null };
        _allowed = new DecisionRecord(At, IPAddress.Loopback, "pupil1", ["pupil"], "pupil-lan", "GET", "http://origin.test:18080/1k.bin",
            DecisionAction.Allow, "default", null, 200, 0, 1024, TimeSpan.FromMilliseconds(1.37), "7F3A09C3", "3f2a9c1b", allow, "127.0.0.1",
            "application/octet-stream");
    }

    [Benchmark]
    public int JsonBlocked()
    {
        _buffer.ResetWrittenCount();
        AuditLog.JsonLineFormatter.Write(_blocked, _buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public int JsonBlockedGeneralPath()
    {
        _buffer.ResetWrittenCount();
        AuditLog.JsonLineFormatter.WriteEscaped(_blocked, _buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public int JsonAllowed()
    {
        _buffer.ResetWrittenCount();
        AuditLog.JsonLineFormatter.Write(_allowed, _buffer);
        return _buffer.WrittenCount;
    }
}
