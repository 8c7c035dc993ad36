using Microsoft.Diagnostics.Tracing;

// Usage: dotnet run -c Release --project bench/AllocTicks -- TRACE.nettrace [--top 25]
// The runtime raises an AllocationTick about every 100 KB allocated, naming the type of the object that crossed the
// mark: summed by type, the samples estimate each type's share of the bytes (a sampled estimate, fair over many ticks).
if (args.Length == 0 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: AllocTicks TRACE.nettrace [--top N]");
    return 2;
}
int top = args.Length > 2 && args[1] == "--top" ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 25;

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
