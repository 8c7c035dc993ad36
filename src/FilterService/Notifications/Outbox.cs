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
/// <para>
/// A write that fails (a full disk) loses nothing: the incident and delivery marks are in memory from the start, so
/// the channels deliver them from memory; the unwritten lines stay queued in order, the file is cut back to its last
/// whole line, and the queue is written again by the next append or <see cref="DrainAsync"/> (the worker retries with
/// backoff). <see cref="NotDurable"/> counts the incidents held only in memory meanwhile; <see cref="WriteFailures"/>
/// counts the failed writes.
/// </para>
/// </summary>
internal sealed partial class Outbox : IDisposable
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
    private readonly List<Unwritten> _unwritten = new(); // under _state, oldest first
    private readonly List<Func<Incident, bool>> _retain = new(); // under _state
    private readonly string _path;
    private readonly ILogger _logger;
    private FileStream _file;
    private long _length; // under _write: the journal's length up to its last whole, written line
    private bool _failing; // under _write
    private int _linesSinceCompaction;
    private long _writeFailures;

    public Outbox(string directory, ILogger<Outbox> logger)
    {
        _logger = logger;
        Directory.CreateDirectory(directory);
        _path = System.IO.Path.Combine(directory, FileName);
        _file = Open(_path);
        Replay(logger);
    }

    /// <summary>
    /// Incidents held in memory whose line is not on disk: a write of it failed, or it outlasted its caller's wait
    /// (<see cref="MarkOverdue"/>). A write merely in progress does not count, so health does not flicker on every fsync.
    /// </summary>
    public int NotDurable
    {
        get
        {
            lock (_state)
            {
                return _unwritten.Count(u => u.Incident is not null && u.Overdue);
            }
        }
    }

    /// <summary>The caller stopped waiting for this incident's write (a stalled disk): count it as not durable until written.</summary>
    public void MarkOverdue(Incident incident)
    {
        lock (_state)
        {
            foreach (var u in _unwritten.Where(u => ReferenceEquals(u.Incident, incident)))
            {
                u.Overdue = true;
            }
        }
    }

    /// <summary>Whether any line (an incident or a delivery mark) is queued for the journal.</summary>
    public bool HasUnwritten
    {
        get
        {
            lock (_state)
            {
                return _unwritten.Count > 0;
            }
        }
    }

    /// <summary>Journal writes that failed since start (each retry counts).</summary>
    public long WriteFailures => Interlocked.Read(ref _writeFailures);

    public string Path => _path;

    /// <summary>Lines appended since the last compaction.</summary>
    public int LinesSinceCompaction => Volatile.Read(ref _linesSinceCompaction);

    /// <summary>
    /// Records the incident (in memory at once, so the channels see it) and writes it. A deliverable one (an alert, a
    /// summary) is fsynced: when this returns true, no crash can lose it. A folded repeat only adds to a count, so it is
    /// handed to the OS without an fsync: it survives the process being killed, and the next fsync of the journal (at
    /// the latest the window's summary) makes it durable too. False: the write failed (or was cancelled); the incident
    /// is held in memory, delivered from there, and written when the disk takes it.
    /// </summary>
    public async Task<bool> AppendAsync(Incident incident, CancellationToken cancellationToken = default)
    {
        var line = new Unwritten(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Line { Add = incident }, Json) + "\n"), 1, incident.Deliverable, incident);
        lock (_state)
        {
            _incidents.Add(incident);
            _unwritten.Add(line);
        }
        await DrainAsync(cancellationToken);
        return line.Written;
    }

    /// <summary>Records that the incidents went out on <paramref name="channel"/> (in memory at once) and writes it, fsynced; false as for <see cref="AppendAsync"/>.</summary>
    public async Task<bool> MarkDeliveredAsync(IReadOnlyList<string> ids, string channel, CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        foreach (var id in ids)
        {
            text.Append(JsonSerializer.Serialize(new Line { Done = id, Channel = channel }, Json)).Append('\n');
        }
        var line = new Unwritten(Encoding.UTF8.GetBytes(text.ToString()), ids.Count, true, null);
        lock (_state)
        {
            foreach (var id in ids)
            {
                Delivered(id).Add(channel);
            }
            _unwritten.Add(line);
        }
        await DrainAsync(cancellationToken);
        return line.Written;
    }

    /// <summary>
    /// Writes every queued line, oldest first, in one write and (if any needs it) one fsync. True when nothing is left
    /// unwritten. On failure the file is cut back to its last whole line and the lines stay queued; the failure is
    /// counted and logged (at Error when the journal starts failing, at Information when it recovers).
    /// </summary>
    public async Task<bool> DrainAsync(CancellationToken cancellationToken = default)
    {
        await _write.WaitAsync(cancellationToken);
        try
        {
            return DrainLocked();
        }
        finally
        {
            _write.Release();
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

    /// <summary>Another reader (the incident ingester) keeps the incidents it has not read through compactions; called under the lock.</summary>
    public void Retain(Func<Incident, bool> keep)
    {
        lock (_state)
        {
            _retain.Add(keep);
        }
    }

    /// <summary>Rewrites the journal with only the incidents <paramref name="keep"/> (or a <see cref="Retain"/> reader) accepts, and their delivery marks.</summary>
    public async Task CompactAsync(Func<Incident, IReadOnlySet<string>, bool> keep, CancellationToken cancellationToken = default)
    {
        await _write.WaitAsync(cancellationToken);
        try
        {
            List<Incident> kept;
            int queued;
            var text = new StringBuilder();
            lock (_state)
            {
                // The rewrite is made from memory, so it also carries every line still queued: those become durable with it.
                queued = _unwritten.Count;
                kept = _incidents.Where(i => keep(i, _delivered.TryGetValue(i.Id, out var s) ? s : EmptySet) || _retain.Any(r => r(i))).ToList();
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
            try
            {
                await using var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None);
                await f.WriteAsync(Encoding.UTF8.GetBytes(text.ToString()), cancellationToken);
                f.Flush(flushToDisk: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A full disk: give the space back; the journal itself is untouched.
                File.Delete(temp);
                throw;
            }
            _file.Dispose();
            File.Move(temp, _path, overwrite: true);
            _file = Open(_path);
            _length = _file.Length;
            lock (_state)
            {
                foreach (var u in _unwritten.Take(queued))
                {
                    u.Written = true;
                }
                _unwritten.RemoveRange(0, queued);
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
        // Unbuffered: a failed write must leave nothing behind in a buffer to be written again later, out of order.
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.None);
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

    private bool DrainLocked()
    {
        Unwritten[] batch;
        lock (_state)
        {
            batch = _unwritten.ToArray();
        }
        if (batch.Length == 0)
        {
            return true;
        }
        var bytes = batch.Length == 1 ? batch[0].Bytes : batch.SelectMany(b => b.Bytes).ToArray();
        try
        {
            _file.Position = _length;
            _file.Write(bytes);
            // fsync: the line is on disk before the caller goes on (for an alert, before the block response).
            _file.Flush(flushToDisk: batch.Any(b => b.Fsync));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Interlocked.Increment(ref _writeFailures);
            foreach (var b in batch)
            {
                b.Overdue = true;
            }
            try
            {
                // Cut off whatever part of the batch reached the file, so the journal never holds a torn line.
                _file.SetLength(_length);
            }
            catch (Exception again) when (again is IOException or UnauthorizedAccessException)
            {
                // Replay cuts a torn tail off too; the next successful write starts at _length and overwrites it.
            }
            int held = NotDurable;
            if (!_failing)
            {
                _failing = true;
                OutboxLog.WriteFailed(_logger, ex, _path, held);
            }
            else
            {
                OutboxLog.WriteStillFailing(_logger, _path, held, ex.Message);
            }
            return false;
        }
        _length += bytes.Length;
        Interlocked.Add(ref _linesSinceCompaction, batch.Sum(b => b.Lines));
        lock (_state)
        {
            foreach (var b in batch)
            {
                b.Written = true;
            }
            _unwritten.RemoveRange(0, batch.Length);
        }
        if (_failing)
        {
            _failing = false;
            OutboxLog.WriteRecovered(_logger, _path, batch.Length);
        }
        return true;
    }

    /// <summary>Journal text not yet on disk, with the incident it adds (null for delivery marks).</summary>
    private sealed class Unwritten(byte[] bytes, int lines, bool fsync, Incident? incident)
    {
        public byte[] Bytes { get; } = bytes;
        public int Lines { get; } = lines;
        public bool Fsync { get; } = fsync;
        public Incident? Incident { get; } = incident;

        private volatile bool _written;
        private volatile bool _overdue;

        public bool Written
        {
            get => _written;
            set => _written = value;
        }

        /// <summary>A write of it failed, or its caller gave up waiting: it counts in <see cref="NotDurable"/>.</summary>
        public bool Overdue
        {
            get => _overdue;
            set => _overdue = value;
        }
    }

    private sealed class Line
    {
        public Incident? Add { get; set; }
        public string? Done { get; set; }
        public string? Channel { get; set; }
    }
}
