using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FilterService.Notifications;

/// <summary>
/// The durable outbox: an append-only journal of JSON lines in <c>outbox.jsonl</c>, each line fsynced before the
/// call returns. An <c>add</c> line records an incident; a <c>done</c> line records its delivery on one channel.
/// On start the journal is replayed (a torn last line from a crash is cut off); compaction rewrites it to a
/// temporary file, fsyncs and renames it over the old one, so a crash leaves either the old or the new journal.
/// The file is held open exclusively: two services cannot share one outbox. Thread-safe.
/// </summary>
internal sealed class Outbox : IDisposable
{
    public const string FileName = "outbox.jsonl";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly object _state = new();
    private readonly List<Incident> _incidents = new();
    private readonly Dictionary<string, HashSet<string>> _delivered = new(StringComparer.Ordinal);
    private readonly string _path;
    private FileStream _file;
    private int _linesSinceCompaction;

    public Outbox(string directory, ILogger<Outbox> logger)
    {
        Directory.CreateDirectory(directory);
        _path = System.IO.Path.Combine(directory, FileName);
        _file = Open(_path);
        Replay(logger);
    }

    public string Path => _path;

    /// <summary>Lines appended since the last compaction.</summary>
    public int LinesSinceCompaction => Volatile.Read(ref _linesSinceCompaction);

    /// <summary>
    /// Writes the incident. A deliverable one (an alert, a summary) is fsynced: when this returns, no crash can lose it.
    /// A folded repeat only adds to a count, so it is handed to the OS without an fsync: it survives the process being
    /// killed, and the next fsync of the journal (at the latest the window's summary) makes it durable too.
    /// </summary>
    public async Task AppendAsync(Incident incident, CancellationToken cancellationToken = default)
    {
        await WriteRawAsync(JsonSerializer.Serialize(new Line { Add = incident }, Json) + "\n", 1, cancellationToken, toDisk: incident.Deliverable);
        lock (_state)
        {
            _incidents.Add(incident);
        }
    }

    /// <summary>Records that the incidents went out on <paramref name="channel"/>; fsynced.</summary>
    public async Task MarkDeliveredAsync(IReadOnlyList<string> ids, string channel, CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        foreach (var id in ids)
        {
            text.Append(JsonSerializer.Serialize(new Line { Done = id, Channel = channel }, Json)).Append('\n');
        }
        await WriteRawAsync(text.ToString(), ids.Count, cancellationToken);
        lock (_state)
        {
            foreach (var id in ids)
            {
                Delivered(id).Add(channel);
            }
        }
    }

    /// <summary>Every incident in the journal, oldest first.</summary>
    public IReadOnlyList<Incident> Incidents()
    {
        lock (_state)
        {
            return _incidents.ToArray();
        }
    }

    public bool IsDelivered(string id, string channel)
    {
        lock (_state)
        {
            return _delivered.TryGetValue(id, out var set) && set.Contains(channel);
        }
    }

    /// <summary>Deliverable incidents not yet delivered on <paramref name="channel"/>, oldest first.</summary>
    public List<Incident> Pending(string channel)
    {
        lock (_state)
        {
            return _incidents.Where(i => i.Deliverable && !(_delivered.TryGetValue(i.Id, out var set) && set.Contains(channel))).ToList();
        }
    }

    public int PendingCount(string channel)
    {
        lock (_state)
        {
            return _incidents.Count(i => i.Deliverable && !(_delivered.TryGetValue(i.Id, out var set) && set.Contains(channel)));
        }
    }

    /// <summary>Rewrites the journal with only the incidents <paramref name="keep"/> accepts (and their delivery marks).</summary>
    public async Task CompactAsync(Func<Incident, IReadOnlySet<string>, bool> keep, CancellationToken cancellationToken = default)
    {
        await _write.WaitAsync(cancellationToken);
        try
        {
            List<Incident> kept;
            var text = new StringBuilder();
            lock (_state)
            {
                kept = _incidents.Where(i => keep(i, _delivered.TryGetValue(i.Id, out var s) ? s : EmptySet)).ToList();
                foreach (var i in kept)
                {
                    text.Append(JsonSerializer.Serialize(new Line { Add = i }, Json)).Append('\n');
                    if (_delivered.TryGetValue(i.Id, out var set))
                    {
                        foreach (var ch in set)
                        {
                            text.Append(JsonSerializer.Serialize(new Line { Done = i.Id, Channel = ch }, Json)).Append('\n');
                        }
                    }
                }
            }
            var temp = _path + ".tmp";
            await using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await f.WriteAsync(Encoding.UTF8.GetBytes(text.ToString()), cancellationToken);
                f.Flush(flushToDisk: true);
            }
            _file.Dispose();
            File.Move(temp, _path, overwrite: true);
            _file = Open(_path);
            lock (_state)
            {
                var ids = kept.Select(k => k.Id).ToHashSet(StringComparer.Ordinal);
                _incidents.RemoveAll(i => !ids.Contains(i.Id));
                foreach (var id in _delivered.Keys.Where(k => !ids.Contains(k)).ToList())
                {
                    _delivered.Remove(id);
                }
            }
            Volatile.Write(ref _linesSinceCompaction, 0);
        }
        finally
        {
            _write.Release();
        }
    }

    public void Dispose()
    {
        _file.Dispose();
        _write.Dispose();
    }

    private static readonly IReadOnlySet<string> EmptySet = new HashSet<string>();

    private static FileStream Open(string path)
    {
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 4096, FileOptions.None);
        file.Seek(0, SeekOrigin.End);
        return file;
    }

    private HashSet<string> Delivered(string id)
    {
        if (!_delivered.TryGetValue(id, out var set))
        {
            _delivered[id] = set = new HashSet<string>(StringComparer.Ordinal);
        }
        return set;
    }

    private async Task WriteRawAsync(string text, int lines, CancellationToken cancellationToken, bool toDisk = true)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        await _write.WaitAsync(cancellationToken);
        try
        {
            await _file.WriteAsync(bytes, CancellationToken.None);
            // fsync: the line is on disk before the caller goes on (for an alert, before the block response).
            _file.Flush(flushToDisk: toDisk);
            Interlocked.Add(ref _linesSinceCompaction, lines);
        }
        finally
        {
            _write.Release();
        }
    }

    private void Replay(ILogger logger)
    {
        _file.Seek(0, SeekOrigin.Begin);
        var all = new byte[_file.Length];
        _file.ReadExactly(all);
        int end = Array.LastIndexOf(all, (byte)'\n') + 1;
        if (end < all.Length)
        {
            // A crash mid-append leaves a partial last line; it was never acknowledged, so cut it off.
            OutboxLog.TornTail(logger, all.Length - end, _path);
            _file.SetLength(end);
            _file.Flush(flushToDisk: true);
        }
        _file.Seek(0, SeekOrigin.End);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int lineNo = 0;
        foreach (var text in Encoding.UTF8.GetString(all, 0, end).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            lineNo++;
            Line? line;
            try
            {
                line = JsonSerializer.Deserialize<Line>(text, Json);
            }
            catch (JsonException)
            {
                line = null;
            }
            if (line?.Add is { } incident && seen.Add(incident.Id))
            {
                _incidents.Add(incident);
            }
            else if (line is { Done: { } id, Channel: { } channel })
            {
                Delivered(id).Add(channel);
            }
            else if (line?.Add is null)
            {
                OutboxLog.BadLine(logger, _path, lineNo);
            }
        }
        _linesSinceCompaction = lineNo;
    }

    private sealed class Line
    {
        public Incident? Add { get; set; }
        public string? Done { get; set; }
        public string? Channel { get; set; }
    }
}

internal static partial class OutboxLog
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Warning, Message = "Outbox {Path}: cut off a torn last line ({Bytes} bytes) left by a crash")]
    public static partial void TornTail(ILogger logger, int bytes, string path);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Error, Message = "Outbox {Path}:{Line}: unreadable line skipped")]
    public static partial void BadLine(ILogger logger, string path, int line);
}
