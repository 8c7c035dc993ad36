using System.Text;
using System.Text.Json;

namespace FilterService.Notifications;

// Reading the journal back at start: every incident and delivery mark it holds, a torn last line cut off.
internal sealed partial class Outbox
{
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
        _length = end;
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
}

/// <summary>The outbox's log messages (event ids 1500-1504).</summary>
internal static partial class OutboxLog
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Warning, Message = "Outbox {Path}: cut off a torn last line ({Bytes} bytes) left by a crash")]
    public static partial void TornTail(ILogger logger, int bytes, string path);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Error, Message = "Outbox {Path}:{Line}: unreadable line skipped")]
    public static partial void BadLine(ILogger logger, string path, int line);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Error,
        Message = "Outbox {Path}: write FAILED; {Held} incident(s) held in memory only (delivered from memory, lost if the process dies); retrying with backoff")]
    public static partial void WriteFailed(ILogger logger, Exception ex, string path, int held);

    // Debug: every append retries the write while the disk is full; 1502 said it at Error and the metric counts each one.
    [LoggerMessage(EventId = 1503, Level = LogLevel.Debug, Message = "Outbox {Path}: write still failing ({Error}); {Held} incident(s) held in memory only")]
    public static partial void WriteStillFailing(ILogger logger, string path, int held, string error);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Information, Message = "Outbox {Path}: writing again; {Count} held line(s) now on disk")]
    public static partial void WriteRecovered(ILogger logger, string path, int count);
}
