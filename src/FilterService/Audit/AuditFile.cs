using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace FilterService.Audit;

/// <summary>
/// One log file rolled daily (<c>{prefix}YYYYMMDD{extension}</c>, the local date) and kept for a number of files,
/// fed by many request threads and written by one thread of its own.
/// </summary>
/// <remarks>
/// <para>
/// A request thread formats its record itself and copies the bytes into a 64 KB chunk under a short lock; it never
/// waits for the disk and never wakes another thread, except once per full chunk. The writer thread writes whole
/// chunks with one <c>pwrite</c> each and, once a second, seals the chunk being filled, writes it and fsyncs, so a
/// crash loses at most the last second (docs/service.md). This replaced a Serilog async sink, whose per-record
/// LogEvent, queue hand-off and spinning consumer cost about a fifth of the CPU of a blocked request
/// (bench/load/README.md).
/// </para>
/// <para>
/// <see cref="Append"/> never waits (it runs on socket threads and on the tunnel loop's one thread, so a wait would
/// freeze every connection and the admin endpoints with them). The owner (<see cref="AuditLog"/>) refuses new traffic
/// while <see cref="Accepting"/> is false: a write has failed and not yet been retried successfully, a write has been
/// stuck for <see cref="StallTimeout"/>, or <see cref="MaxBacklogBytes"/> are queued. Records of requests already
/// under way may still use a reserve of a quarter of that bound on top; a record beyond it is dropped, counted
/// (<see cref="DroppedRecords"/>) and logged, never lost silently. A failed write is logged, truncated back to the
/// last whole chunk and retried with backoff (0.5 s doubling to 5 s, through the <see cref="TimeProvider"/>) with the
/// data kept; the first write that succeeds (fsync included) makes the file writable again.
/// </para>
/// </remarks>
internal sealed partial class AuditFile : IDisposable
{
    public const int ChunkSize = 64 * 1024;

    /// <summary>About 80,000 records of 400 bytes: the default of <c>Audit:MaxBacklogBytes</c>.</summary>
    public const long DefaultMaxBacklogBytes = 32L * 1024 * 1024;

    /// <summary>A write or fsync in progress this long makes the file unwritable until it returns.</summary>
    public static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The default of <c>Audit:FlushInterval</c>: records wait at most this long in memory.</summary>
    public static readonly TimeSpan DefaultFlushInterval = TimeSpan.FromSeconds(1);

    /// <summary>Between the retries of the last writes when the service stops on a failing disk (five of them).</summary>
    private static readonly TimeSpan StoppingRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ShutdownWait = TimeSpan.FromSeconds(15);
    private const int FreeChunksKept = 4;

    private readonly TimeSpan _flushInterval;
    private readonly ITimer _flushTimer;
    private readonly string _directory;
    private readonly string _prefix;
    private readonly string _extension;
    private readonly int _retainFiles;
    private readonly TimeZoneInfo _zone;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long _hardLimit;
    private readonly Thread _writer;
    private readonly RolledFileCompressor? _compressor;
    private DateOnly? _compressedBefore; // the writer thread's: the day last handed to the compressor

    // Shared with the request threads, under _gate.
    private readonly object _gate = new();
    private readonly Queue<Chunk> _sealed = new();
    private readonly Stack<Chunk> _free = new();
    private Chunk _current;
    private long _pendingBytes;
    private long _pendingRecords;
    private long _dropped;
    private bool _dropping;
    private bool _retryDue;
    private bool _flushDue;
    private long _rollAtUtcTicks = long.MinValue;
    private DateOnly _day;
    private bool _stopping;
    private bool _closed;

    // The writer thread's own (and, once closed, the appenders' under _gate).
    private SafeFileHandle? _file;
    private DateOnly _fileDay;
    private long _offset;
    private bool _unflushed;
    private FileStream? _pipe; // over _file when it cannot seek (RandomAccess will not write to it)
    private bool _failing;
    private long _droppedWhenFailed;

    // Read by any thread without the lock.
    private volatile bool _writable = true;
    private long _busySince;
    private long _writeErrors;

    private sealed class Chunk(int size)
    {
        public readonly byte[] Data = new byte[size];
        public int Length;
        public int Records;
        public DateOnly Day;
    }

    public AuditFile(string directory, string prefix, string extension, int retainFiles, ILogger logger, TimeZoneInfo? zone = null,
        long maxBacklogBytes = DefaultMaxBacklogBytes, TimeProvider? time = null, bool compressRolled = false, TimeSpan? flushInterval = null)
    {
        _flushInterval = flushInterval ?? DefaultFlushInterval;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBacklogBytes, ChunkSize);
        MaxBacklogBytes = maxBacklogBytes;
        _hardLimit = maxBacklogBytes + maxBacklogBytes / 4;
        _time = time ?? TimeProvider.System;
        _directory = directory;
        _prefix = prefix;
        _extension = extension;
        _retainFiles = retainFiles;
        _zone = zone ?? TimeZoneInfo.Local;
        _logger = logger;
        _current = new Chunk(ChunkSize);
        _compressor = compressRolled ? new RolledFileCompressor(directory, prefix, extension, logger) : null;
        Directory.CreateDirectory(directory);
        _flushTimer = _time.CreateTimer(OnFlushDue, null, _flushInterval, Timeout.InfiniteTimeSpan);
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "Audit writer" };
        _writer.Start();
    }

    /// <summary>Queued bytes at which <see cref="Accepting"/> turns false (<c>Audit:MaxBacklogBytes</c>).</summary>
    public long MaxBacklogBytes { get; }

    /// <summary>Bytes queued and not yet written.</summary>
    public long BacklogBytes => Volatile.Read(ref _pendingBytes);

    /// <summary>Records queued and not yet written.</summary>
    public long BacklogRecords => Volatile.Read(ref _pendingRecords);

    /// <summary>Failed write, fsync or open attempts since start (each retry that fails counts).</summary>
    public long WriteErrors => Interlocked.Read(ref _writeErrors);

    /// <summary>Records dropped because the backlog had no room for them, since start.</summary>
    public long DroppedRecords => Volatile.Read(ref _dropped);

    /// <summary>False from a failed write until a retry succeeds, and while a write has been stuck for <see cref="StallTimeout"/>.</summary>
    public bool Writable
    {
        get
        {
            if (!_writable)
            {
                return false;
            }
            long busy = Volatile.Read(ref _busySince);
            return busy == 0 || _time.GetElapsedTime(busy) < StallTimeout;
        }
    }

    /// <summary>Whether new traffic may be admitted: <see cref="Writable"/> and less than <see cref="MaxBacklogBytes"/> queued.</summary>
    public bool Accepting => Writable && BacklogBytes < MaxBacklogBytes;

    /// <summary>Path of the file records made at <paramref name="at"/> go to.</summary>
    public string PathFor(DateTimeOffset at) => PathFor(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, _zone).DateTime));

    private string PathFor(DateOnly day) =>
        Path.Combine(_directory, _prefix + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture) + _extension);

    /// <summary>
    /// Queues one record (its bytes, newline included) made at <paramref name="at"/>, never waiting for the disk. The
    /// file's day follows the latest record time seen, so a record that finishes after midnight goes to the new day's
    /// file, as a file written line by line would have it. False when the record was dropped for want of room: the
    /// backlog may hold <see cref="MaxBacklogBytes"/>, and a quarter more for records that may use the reserve
    /// (<paramref name="mayUseReserve"/>: requests admitted before the log stopped accepting).
    /// </summary>
    public bool Append(ReadOnlySpan<byte> line, DateTimeOffset at, bool mayUseReserve = true)
    {
        lock (_gate)
        {
            if (_pendingBytes + line.Length <= (mayUseReserve ? _hardLimit : MaxBacklogBytes))
            {
                Queue(line, at);
                return true;
            }
            Volatile.Write(ref _dropped, _dropped + 1);
            if (_dropping)
            {
                return false;
            }
            _dropping = true;
        }
        LogDropping(_logger, MaxBacklogBytes, PathFor(at));
        return false;
    }

    /// <summary>Copies the record into the chunk being filled (under _gate).</summary>
    private void Queue(ReadOnlySpan<byte> line, DateTimeOffset at)
    {
        if (at.UtcTicks >= _rollAtUtcTicks)
        {
            StartDay(at);
        }
        if (_current.Length + line.Length > _current.Data.Length)
        {
            Seal();
            if (line.Length > _current.Data.Length)
            {
                _current = new Chunk(line.Length) { Day = _day };
            }
        }
        line.CopyTo(_current.Data.AsSpan(_current.Length));
        _current.Length += line.Length;
        _current.Records++;
        Volatile.Write(ref _pendingBytes, _pendingBytes + line.Length);
        Volatile.Write(ref _pendingRecords, _pendingRecords + 1);
        if (_closed)
        {
            // Disposed (a request finishing during shutdown): no writer thread any more, so write it here.
            Seal();
            WritePending(flush: true);
        }
    }

    private void StartDay(DateTimeOffset at)
    {
        var local = TimeZoneInfo.ConvertTime(at, _zone).DateTime;
        var day = DateOnly.FromDateTime(local);
        if (day != _day || _rollAtUtcTicks == long.MinValue)
        {
            Seal();
            _day = day;
            _current.Day = day;
        }
        // Midnight may not exist locally (a zone whose clocks go forward at 00:00): the first hour that does.
        var next = local.Date.AddDays(1);
        while (_zone.IsInvalidTime(next))
        {
            next = next.AddHours(1);
        }
        _rollAtUtcTicks = TimeZoneInfo.ConvertTimeToUtc(next, _zone).Ticks;
    }

    /// <summary>Queues the chunk being filled for the writer (under _gate).</summary>
    private void Seal()
    {
        if (_current.Length == 0)
        {
            return;
        }
        _sealed.Enqueue(_current);
        _current = _free.TryPop(out var chunk) ? chunk : new Chunk(ChunkSize);
        _current.Length = 0;
        _current.Records = 0;
        _current.Day = _day;
        Monitor.PulseAll(_gate);
    }

    private void OpenFile(DateOnly day)
    {
        CloseFile();
        Directory.CreateDirectory(_directory);
        var path = PathFor(day);
        _file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        _fileDay = day;
        try
        {
            _offset = RandomAccess.GetLength(_file);
        }
        catch (NotSupportedException)
        {
            // A FIFO or a device (a log shipper's pipe): written in order, nothing to seek, repair or fsync.
            _offset = 0;
            _pipe = new FileStream(_file, FileAccess.ReadWrite, bufferSize: 0);
        }
        if (_offset > 0)
        {
            // A crash can have torn the last line: start on a line of our own.
            Span<byte> last = stackalloc byte[1];
            if (RandomAccess.Read(_file, last, _offset - 1) == 1 && last[0] != (byte)'\n')
            {
                RandomAccess.Write(_file, "\n"u8, _offset);
                _offset++;
            }
        }
        ApplyRetention();
        if (_compressor is not null && _compressedBefore != day)
        {
            // Once per day, not at every reopen: a failing disk retries opens every few seconds.
            _compressedBefore = day;
            _compressor.Request(day);
        }
    }

    /// <summary>The compressor of rolled files (<c>Audit:CompressRolled</c>), null when off.</summary>
    internal RolledFileCompressor? Compressor => _compressor;

    private void CloseFile()
    {
        if (_file is null)
        {
            return;
        }
        try
        {
            if (_unflushed)
            {
                RandomAccess.FlushToDisk(_file);
                _unflushed = false;
            }
        }
        catch (IOException ex)
        {
            LogWriteFailed(_logger, ex, PathFor(_fileDay));
        }
        _pipe?.Dispose();
        _file.Dispose();
        _file = null;
        _pipe = null;
    }

    /// <summary>
    /// Keeps the newest <c>retainFiles</c> days of this log, the one just opened included; a day is its plain file, its
    /// <c>.gz</c> (<see cref="RolledFileCompressor"/>) or, for a moment, both.
    /// </summary>
    private void ApplyRetention()
    {
        var days = Directory.EnumerateFiles(_directory, _prefix + "*")
            .Select(f =>
            {
                var name = Path.GetFileName(f);
                var rest = name.AsSpan(_prefix.Length);
                bool ours = rest.Length >= 8 && int.TryParse(rest[..8], NumberStyles.None, CultureInfo.InvariantCulture, out _)
                    && (rest[8..].SequenceEqual(_extension) || rest[8..].SequenceEqual(_extension + RolledFileCompressor.Suffix));
                return (Path: f, Day: ours ? rest[..8].ToString() : null);
            })
            .Where(f => f.Day is not null)
            .GroupBy(f => f.Day!, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        foreach (var old in days.Take(Math.Max(0, days.Count - _retainFiles)).SelectMany(g => g.Select(f => f.Path)))
        {
            try
            {
                File.Delete(old);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogRetentionFailed(_logger, ex, old);
            }
        }
    }

    /// <summary>
    /// Writes and fsyncs everything queued, then stops the writer; later appends are written at once. Gives up (logging
    /// what is left) if the writer is stuck for longer than <see cref="ShutdownWait"/>.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        _compressor?.Dispose(); // a compression under way stops and is redone at the next start
        // A write stuck in the kernel (a hung disk, an unread FIFO) must not hold the process up for ever. The failing
        // case takes about 5 s (five retries a second apart), so this waits longer than that.
#pragma warning disable RS0030 // bounds a disposal in real time: it must end even while a test's fake clock stands still
        if (!_writer.Join(ShutdownWait))
#pragma warning restore RS0030
        {
            long stuck;
            lock (_gate)
            {
                stuck = _pendingBytes; // left queued: the writer thread may still be inside a write
            }
            LogLost(_logger, stuck, PathFor(_day));
            return;
        }
        lock (_gate)
        {
            _closed = true;
        }
    }

    [LoggerMessage(EventId = 1400, Level = LogLevel.Error, Message = "Cannot write the audit log {Path}; the records are kept and retried, and new requests are refused meanwhile unless Audit:OnWriteFailure is AllowAndCount")]
    private static partial void LogWriteFailed(ILogger logger, Exception ex, string path);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "The audit log {Path} is being written again; no record was lost")]
    private static partial void LogRecovered(ILogger logger, string path);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Critical, Message = "Shutting down with {Bytes} bytes of audit records that could not be written to {Path}")]
    private static partial void LogLost(ILogger logger, long bytes, string path);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Critical, Message = "The audit backlog for {Path} is full ({Bytes} bytes queued): records are being dropped and counted (filterservice_audit_records_dropped_total)")]
    private static partial void LogDropping(ILogger logger, long bytes, string path);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Error, Message = "The audit log {Path} is being written again; {Dropped} records were dropped meanwhile because the backlog was full")]
    private static partial void LogRecoveredWithDrops(ILogger logger, string path, long dropped);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Warning, Message = "Cannot delete the expired audit file {Path}")]
    private static partial void LogRetentionFailed(ILogger logger, Exception ex, string path);
}
