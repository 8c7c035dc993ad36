using System.Diagnostics;
using System.Diagnostics.Metrics;
using FilterService.Identity;
using FilterService.Policy;
using PolicyModel.Decisions;

namespace FilterService.Telemetry;

// The live policy's observable gauges: watcher, version, load time, last reload, list entries and ages, statutory lists loaded.
internal sealed partial class FilterMetrics
{
    private IEnumerable<Measurement<long>> WatcherUp() =>
        _store.Watch.State == PolicyWatchState.Off ? [] : [new Measurement<long>(_store.Watch.State == PolicyWatchState.Dead ? 0 : 1)];

    private PolicySnapshot? TryCurrent()
    {
        try
        {
            return _store.Current;
        }
        catch (InvalidOperationException)
        {
            return null; // not loaded yet
        }
    }

    private IEnumerable<Measurement<long>> PolicyInfo() =>
        TryCurrent() is { } p ? [new Measurement<long>(1, new KeyValuePair<string, object?>("version", p.Version))] : [];

    private DateTimeOffset? _loadedAt;
    private PolicySnapshot? _loadedPolicy;

    private IEnumerable<Measurement<double>> PolicyLoaded()
    {
        var p = TryCurrent();
        if (p is null)
        {
            return [];
        }
        if (!ReferenceEquals(p, _loadedPolicy))
        {
            // The report that published this policy is the latest successful one; a later failed reload keeps it live.
            if (_store.LastReport is { Succeeded: true } r)
            {
                _loadedAt = r.At;
            }
            _loadedAt ??= _time.GetUtcNow();
            _loadedPolicy = p;
        }
        return [new Measurement<double>(_loadedAt!.Value.ToUnixTimeMilliseconds() / 1000.0)];
    }

    private IEnumerable<Measurement<long>> LastReloadSucceeded() =>
        _store.LastReport is { } r ? [new Measurement<long>(r.Succeeded ? 1 : 0)] : [];

    private IEnumerable<Measurement<double>> LastReloadAt() =>
        _store.LastReport is { } r ? [new Measurement<double>(r.At.ToUnixTimeMilliseconds() / 1000.0)] : [];

    private IEnumerable<Measurement<long>> ListEntries()
    {
        if (TryCurrent() is not { } p)
        {
            yield break;
        }
        var statutory = p.Categories.Where(c => c.Statutory).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var l in p.Lists)
        {
            yield return new Measurement<long>(l.Entries, ListTags(l, statutory));
        }
    }

    private IEnumerable<Measurement<double>> ListAges()
    {
        if (TryCurrent() is not { } p)
        {
            yield break;
        }
        var now = _time.GetUtcNow();
        var statutory = p.Categories.Where(c => c.Statutory).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var l in p.Lists)
        {
            if (l.LastModified is { } modified)
            {
                yield return new Measurement<double>(Math.Max(0, (now - modified).TotalSeconds), ListTags(l, statutory));
            }
        }
    }

    private static TagList ListTags(ListSummary l, HashSet<string> statutory) => new()
    {
        { "category", l.Category },
        { "list", l.Path },
        { "statutory", statutory.Contains(l.Category) ? "true" : "false" },
    };

    private IEnumerable<Measurement<long>> StatutoryLoaded()
    {
        if (TryCurrent() is not { } p)
        {
            yield break;
        }
        foreach (var (name, statutory) in p.Categories)
        {
            if (statutory)
            {
                bool loaded = p.Lists.Any(l => l.Category == name && l.Entries > 0);
                yield return new Measurement<long>(loaded ? 1 : 0, new KeyValuePair<string, object?>("category", name));
            }
        }
    }
}
