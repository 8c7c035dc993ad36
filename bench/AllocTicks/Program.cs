using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// Usage: dotnet run -c Release --project bench/AllocTicks -- TRACE.nettrace [--top 25] [--stacks TYPE [--depth 4]]
// The runtime raises an AllocationTick about every 100 KB allocated, naming the type of the object that crossed the
// mark: summed by type, the samples estimate each type's share of the bytes (a sampled estimate, fair over many ticks).
// With --stacks, the samples of TYPE (a type name as listed, or "*" for all) are summed instead by the managed frames
// that made them, the innermost --depth of them: which code allocates the strings.
// With --jit (a trace collected with --clrevents jit), the methods the JIT compiled instead: how many at each tier,
// the time spent, and the namespaces they came from (what still compiles in a measured step, and why).
if (args.Length == 0 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: AllocTicks TRACE.nettrace [--top N] [--stacks TYPE [--depth N] | --jit]");
    return 2;
}
string? Option(string name) => Array.IndexOf(args, name) is var i and > 0 && i + 1 < args.Length ? args[i + 1] : null;
int top = Option("--top") is { } t ? int.Parse(t, System.Globalization.CultureInfo.InvariantCulture) : 25;
if (args.Contains("--jit"))
{
    return Jit(args[0], top);
}
if (Option("--stacks") is { } only)
{
    int depth = Option("--depth") is { } d ? int.Parse(d, System.Globalization.CultureInfo.InvariantCulture) : 4;
    return Stacks(args[0], only, depth, top);
}

var bytes = new Dictionary<string, long>(StringComparer.Ordinal);
var ticks = new Dictionary<string, int>(StringComparer.Ordinal);
using (var source = new EventPipeEventSource(args[0]))
{
    source.Clr.GCAllocationTick += e =>
    {
        string type = string.IsNullOrEmpty(e.TypeName) ? "(unnamed)" : e.TypeName;
        bytes[type] = bytes.GetValueOrDefault(type) + e.AllocationAmount64;
        ticks[type] = ticks.GetValueOrDefault(type) + 1;
    };
    source.Process();
}

long total = bytes.Values.Sum();
if (total == 0)
{
    Console.Error.WriteLine($"{args[0]}: no AllocationTick events (was it collected with --clrevents gc --clreventlevel verbose?)");
    return 1;
}
Console.WriteLine($"{ticks.Values.Sum():N0} samples, {total / 1024.0 / 1024.0:N1} MB sampled");
Console.WriteLine($"{"share",6}  {"samples",7}  type");
foreach (var (type, b) in bytes.OrderByDescending(kv => kv.Value).Take(top))
{
    Console.WriteLine($"{100.0 * b / total,5:N1}%  {ticks[type],7:N0}  {type}");
}
return 0;

// The AllocationTick samples of one type (or "*"), summed by their innermost managed frames.
static int Stacks(string path, string only, int depth, int top)
{
    var etlx = TraceLog.CreateFromEventPipeDataFile(path);
    using var log = new TraceLog(etlx);
    var bytes = new Dictionary<string, long>(StringComparer.Ordinal);
    long total = 0;
    foreach (var e in log.Events)
    {
        if (e is not GCAllocationTickTraceData tick || (only != "*" && tick.TypeName != only))
        {
            continue;
        }
        var frames = new List<string>();
        for (var frame = e.CallStack(); frame is not null && frames.Count < depth; frame = frame.Caller)
        {
            var name = frame.CodeAddress.FullMethodName;
            if (!string.IsNullOrEmpty(name) && !name.StartsWith("System.String.", StringComparison.Ordinal)
                && !name.StartsWith("System.Number.", StringComparison.Ordinal))
            {
                frames.Add(name);
            }
        }
        var key = frames.Count == 0 ? "(no managed frame)" : string.Join("\n      <- ", frames);
        bytes[key] = bytes.GetValueOrDefault(key) + tick.AllocationAmount64;
        total += tick.AllocationAmount64;
    }
    Console.WriteLine($"{only}: {total / 1024.0 / 1024.0:N1} MB sampled");
    foreach (var (key, b) in bytes.OrderByDescending(kv => kv.Value).Take(top))
    {
        Console.WriteLine($"{100.0 * b / Math.Max(1, total),5:N1}%  {key}");
    }
    return 0;
}

// The methods compiled during the trace: by tier, and by the namespace (or the type, for our own code) they belong to.
static int Jit(string path, int top)
{
    var started = new Dictionary<long, double>();
    var byTier = new Dictionary<string, (int Count, double Ms)>(StringComparer.Ordinal);
    var byOwner = new Dictionary<string, (int Count, double Ms)>(StringComparer.Ordinal);
    using (var source = new EventPipeEventSource(path))
    {
        source.Clr.MethodJittingStarted += e => started[e.MethodID] = e.TimeStampRelativeMSec;
        source.Clr.MethodLoadVerbose += e =>
        {
            double ms = started.Remove(e.MethodID, out var at) ? e.TimeStampRelativeMSec - at : 0;
            string tier = e.OptimizationTier.ToString();
            var ns = e.MethodNamespace ?? "";
            string owner = ns.StartsWith("FilterService", StringComparison.Ordinal) || ns.StartsWith("PolicyModel", StringComparison.Ordinal)
                ? ns
                : string.Join('.', ns.Split('.').Take(3));
            var (tc, tms) = byTier.GetValueOrDefault(tier);
            byTier[tier] = (tc + 1, tms + ms);
            var (oc, oms) = byOwner.GetValueOrDefault(tier + " " + owner);
            byOwner[tier + " " + owner] = (oc + 1, oms + ms);
        };
        source.Process();
    }
    Console.WriteLine($"{byTier.Values.Sum(v => v.Count):N0} methods compiled, {byTier.Values.Sum(v => v.Ms):N0} ms between start and load");
    foreach (var (tier, (count, ms)) in byTier.OrderByDescending(kv => kv.Value.Ms))
    {
        Console.WriteLine($"  {tier,-20} {count,6:N0}  {ms,8:N1} ms");
    }
    foreach (var (owner, (count, ms)) in byOwner.OrderByDescending(kv => kv.Value.Ms).Take(top))
    {
        Console.WriteLine($"  {count,6:N0}  {ms,8:N1} ms  {owner}");
    }
    return 0;
}
