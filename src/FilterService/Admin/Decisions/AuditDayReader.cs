using System.Globalization;
using System.IO.Compression;

namespace FilterService.Admin.Decisions;

/// <summary>
/// Reads the whole lines of one audit day's content from a position on, through one fixed buffer
/// (<see cref="BufferSize"/>): memory stays bounded however large the file is or however fast it grows. The content is
/// the plain day file or, once rolled, its <c>.gz</c> decompressed (the same bytes, so a position carries over when a
/// day is compressed). A last line without its newline is left for the next read while the day can still grow (the
/// writer is mid-line); in a finished day (gzipped) it is a line torn by a crash, consumed and reported as such.
/// </summary>
internal sealed class AuditDayReader : IDisposable
{
    public const int BufferSize = 1 << 20;

    private readonly Stream _stream;
    private readonly bool _finished;
    private readonly byte[] _buffer;
    private int _start, _end;
    private bool _eof;

    private AuditDayReader(Stream stream, long position, bool finished, byte[] buffer)
    {
        _stream = stream;
        _finished = finished;
        _buffer = buffer;
        Position = position;
    }

    /// <summary>Bytes of the day's content consumed: through the end of the last line returned.</summary>
    public long Position { get; private set; }

    /// <summary>Lines skipped because they were longer than the buffer, or torn at the end of a finished day.</summary>
    public int Skipped { get; private set; }

    /// <summary>
    /// Opens a day's content at <paramref name="position"/>: the plain file (seeked), or the <c>.gz</c>
    /// (decompressed, the first <paramref name="position"/> bytes skipped). <paramref name="buffer"/> is reused.
    /// </summary>
    public static AuditDayReader Open(AuditDay day, long position, byte[] buffer)
    {
        if (day.PlainPath is { } plain)
        {
            var file = new FileStream(plain, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
            file.Seek(position, SeekOrigin.Begin);
            return new AuditDayReader(file, position, finished: false, buffer);
        }
        var gz = new FileStream(day.GzPath!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.SequentialScan);
        var unzip = new GZipStream(gz, CompressionMode.Decompress);
        long left = position;
        while (left > 0)
        {
            int n = unzip.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0)
            {
                unzip.Dispose();
                throw new InvalidDataException($"{day.GzPath}: holds {position - left} bytes, fewer than the {position} already indexed");
            }
            left -= n;
        }
        return new AuditDayReader(unzip, position, finished: true, buffer);
    }

    /// <summary>The next whole line (without its newline; empty lines skipped), or false at the end of what is there.</summary>
    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            int newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                line = _buffer.AsSpan(_start, newline);
                _start += newline + 1;
                Position += newline + 1;
                if (line.IsEmpty)
                {
                    continue;
                }
                return true;
            }
            if (_eof)
            {
                line = default;
                if (_finished && _end > _start)
                {
                    // A finished day's last line without its newline: torn by a crash; never completed now.
                    Position += _end - _start;
                    _start = _end;
                    Skipped++;
                }
                return false;
            }
            if (_start == 0 && _end == _buffer.Length)
            {
                // A line longer than the buffer: not a record the audit log writes. Skip it to its newline.
                Position += _end;
                _start = _end = 0;
                Skipped++;
                SkipToNewline();
                continue;
            }
            Fill();
        }
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        int n = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (n == 0)
        {
            _eof = true;
        }
        _end += n;
    }

    private void SkipToNewline()
    {
        while (true)
        {
            int n = _stream.Read(_buffer, 0, _buffer.Length);
            if (n == 0)
            {
                _eof = true;
                return;
            }
            int newline = _buffer.AsSpan(0, n).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                Position += newline + 1;
                _start = newline + 1;
                _end = n;
                return;
            }
            Position += n;
        }
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>
/// One day of the audit log in <c>Audit:Path</c>: <c>audit-YYYYMMDD.json</c> and/or its <c>.gz</c>
/// (<c>RolledFileCompressor</c>). <see cref="Name"/> is the plain name either way: the index's key for the day.
/// </summary>
internal sealed record AuditDay(string Name, string? PlainPath, string? GzPath)
{
    public const string Prefix = "audit-", Extension = ".json", GzSuffix = ".gz";

    /// <summary>The days present, oldest first.</summary>
    public static List<AuditDay> List(string directory)
    {
        var days = new SortedDictionary<string, (string? Plain, string? Gz)>(StringComparer.Ordinal);
        if (!Directory.Exists(directory))
        {
            return [];
        }
        foreach (var path in Directory.EnumerateFiles(directory, Prefix + "*"))
        {
            var file = System.IO.Path.GetFileName(path);
            bool gz = file.EndsWith(Extension + GzSuffix, StringComparison.Ordinal);
            var name = gz ? file[..^GzSuffix.Length] : file;
            if (name.Length != Prefix.Length + 8 + Extension.Length || !name.EndsWith(Extension, StringComparison.Ordinal)
                || !DateOnly.TryParseExact(name.AsSpan(Prefix.Length, 8), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            {
                continue;
            }
            days.TryGetValue(name, out var found);
            days[name] = gz ? (found.Plain, path) : (path, found.Gz);
        }
        return days.Select(d => new AuditDay(d.Key, d.Value.Plain, d.Value.Gz)).ToList();
    }
}
