using System.Globalization;
using System.IO.Compression;

namespace FilterService.Audit;

/// <summary>
/// Gzips the day files of one log (<c>{prefix}YYYYMMDD{extension}</c>) older than the day being written, on a thread of
/// its own at low priority: never on a request's thread or the audit writer's. JSON audit lines compress about
/// tenfold (docs/service.md), which is what makes 90 days on a busy secondary affordable.
/// </summary>
/// <remarks>
/// Crash-safe: the day's records go to <c>.gz.tmp</c>, which is fsynced and renamed to <c>.gz</c>; only then is the
/// plain file deleted. A crash leaves either the plain file (and perhaps a <c>.tmp</c>, deleted and redone next
/// time) or the finished <c>.gz</c> beside the plain file, which the next run recognises (the <c>.gz</c> already ends
/// with the plain file's bytes) and finishes by deleting the plain file. Should a day's plain file reappear beside its
/// <c>.gz</c> (the clock set back across midnight), it is appended to the <c>.gz</c> as a further gzip member,
/// which every gzip reader reads as one stream. A file that grows while it is being compressed is left for the next
/// run; an empty file (or a FIFO, which has no size) is left alone.
/// </remarks>
internal sealed partial class RolledFileCompressor : IDisposable
{
    public const string Suffix = ".gz";
    private const string TempSuffix = ".gz.tmp";
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(5);

    private readonly string _directory;
    private readonly string _prefix;
    private readonly string _extension;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;
    private DateOnly? _requested;
    private long _compressed;

    public RolledFileCompressor(string directory, string prefix, string extension, ILogger logger)
    {
        _directory = directory;
        _prefix = prefix;
        _extension = extension;
        _logger = logger;
    }

    /// <summary>Files compressed since start.</summary>
    public long Compressed => Interlocked.Read(ref _compressed);

    /// <summary>Whether a run is queued or under way.</summary>
    public bool Busy
    {
        get
        {
            lock (_gate)
            {
                return _requested is not null || _thread is not null;
            }
        }
    }

    /// <summary>Compresses, in the background, every day file of a day before <paramref name="current"/>. Never waits.</summary>
    public void Request(DateOnly current)
    {
        lock (_gate)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }
            _requested = _requested is { } r && r > current ? r : current;
            if (_thread is null)
            {
                _thread = new Thread(Run) { IsBackground = true, Name = "Audit compressor", Priority = ThreadPriority.BelowNormal };
                _thread.Start();
            }
        }
    }

    private void Run()
    {
        while (true)
        {
            DateOnly current;
            lock (_gate)
            {
                if (_requested is not { } r || _stop.IsCancellationRequested)
                {
                    _requested = null;
                    _thread = null;
                    return;
                }
                current = r;
                _requested = null;
            }
            foreach (var (path, day) in DayFiles(_directory, _prefix, _extension))
            {
                if (day >= current || _stop.IsCancellationRequested)
                {
                    continue;
                }
                try
                {
                    if (Compress(path, _stop.Token))
                    {
                        Interlocked.Increment(ref _compressed);
                    }
                }
                catch (OperationCanceledException)
                {
                    TryDelete(path + TempSuffix);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
                {
                    LogFailed(_logger, ex, path);
                    TryDelete(path + TempSuffix);
                }
            }
        }
    }

    /// <summary>The plain day files of a log (not the <c>.gz</c>), oldest first.</summary>
    internal static IEnumerable<(string Path, DateOnly Day)> DayFiles(string directory, string prefix, string extension)
    {
        if (!Directory.Exists(directory))
        {
            yield break;
        }
        foreach (var file in Directory.EnumerateFiles(directory, prefix + "*" + extension).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            if (name.Length == prefix.Length + 8 + extension.Length && name.EndsWith(extension, StringComparison.Ordinal)
                && DateOnly.TryParseExact(name.AsSpan(prefix.Length, 8), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                yield return (file, day);
            }
        }
    }

    /// <summary>Compresses one rolled file; true when it is now only in its <c>.gz</c>.</summary>
    internal static bool Compress(string path, CancellationToken cancel)
    {
        var gz = path + Suffix;
        var tmp = path + TempSuffix;
        TryDelete(tmp); // a crash's leftover
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        if (length == 0)
        {
            return false;
        }
        bool existing = File.Exists(gz);
        if (existing && EndsWith(gz, path, length))
        {
            File.Delete(path); // a crash between the rename and the delete: the .gz is complete
            return true;
        }
        using (var output = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
        {
            if (existing)
            {
                using var previous = new FileStream(gz, FileMode.Open, FileAccess.Read, FileShare.Read);
                previous.CopyTo(output);
            }
            using (var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16))
            using (var zip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
            {
                var buffer = new byte[1 << 16];
                long copied = 0;
                int n;
                while (copied < length && (n = input.Read(buffer, 0, (int)Math.Min(buffer.Length, length - copied))) > 0)
                {
                    cancel.ThrowIfCancellationRequested();
                    zip.Write(buffer, 0, n);
                    copied += n;
                }
            }
            output.Flush(flushToDisk: true);
        }
        if (new FileInfo(path).Length != length)
        {
            // Written to while we read it (only when the clock went back across midnight): next time.
            File.Delete(tmp);
            return false;
        }
        File.Move(tmp, gz, overwrite: true);
        File.Delete(path);
        return true;
    }

    /// <summary>Whether the decompressed <paramref name="gz"/> ends with the first <paramref name="length"/> bytes of <paramref name="path"/>.</summary>
    private static bool EndsWith(string gz, string path, long length)
    {
        long total = 0;
        using (var zip = new GZipStream(File.OpenRead(gz), CompressionMode.Decompress))
        {
            var buffer = new byte[1 << 16];
            int n;
            while ((n = zip.Read(buffer)) > 0)
            {
                total += n;
            }
        }
        if (total < length)
        {
            return false;
        }
        using var plain = File.OpenRead(path);
        using var unzipped = new GZipStream(File.OpenRead(gz), CompressionMode.Decompress);
        Skip(unzipped, total - length);
        var a = new byte[1 << 16];
        var b = new byte[1 << 16];
        long left = length;
        while (left > 0)
        {
            int want = (int)Math.Min(a.Length, left);
            plain.ReadExactly(a, 0, want);
            unzipped.ReadExactly(b, 0, want);
            if (!a.AsSpan(0, want).SequenceEqual(b.AsSpan(0, want)))
            {
                return false;
            }
            left -= want;
        }
        return true;
    }

    private static void Skip(Stream stream, long count)
    {
        var buffer = new byte[1 << 16];
        while (count > 0)
        {
            int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (n == 0)
            {
                throw new EndOfStreamException();
            }
            count -= n;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Stops a run under way (its <c>.tmp</c> is deleted; the plain file stays for next time).</summary>
    public void Dispose()
    {
        Thread? thread;
        lock (_gate)
        {
            _stop.Cancel();
            thread = _thread;
        }
#pragma warning disable RS0030 // bounds a disposal in real time: it must end even while a test's fake clock stands still
        thread?.Join(StopWait);
#pragma warning restore RS0030
    }

    [LoggerMessage(EventId = 1410, Level = LogLevel.Warning, Message = "Cannot compress the rolled audit file {Path}; it is kept as it is and tried again at the next roll")]
    private static partial void LogFailed(ILogger logger, Exception ex, string path);
}
