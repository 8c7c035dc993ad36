using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FilterService.Proxy;

/// <summary>One kept-alive HTTP/1.1 connection to an origin, owned by one request at a time.</summary>
internal sealed class UpstreamConnection(Socket socket, IPEndPoint remote, TimeProvider? time = null) : IDisposable
{
    public Socket Socket { get; } = socket;
    public IPEndPoint Remote { get; } = remote;

    /// <summary>The read deadline, re-armed before each receive and reset after a request; a connection whose deadline
    /// fired (or whose client left mid-request) is not reused. On the injected clock (<see cref="UpstreamPool"/>'s).</summary>
    public CancellationTokenSource Deadline { get; } = new(Timeout.InfiniteTimeSpan, time ?? TimeProvider.System);

    /// <summary>When it was returned to the pool, a <see cref="TimeProvider"/> timestamp.</summary>
    public long IdleSince;

    /// <summary>Whether it can carry another request (its deadline did not fire).</summary>
    public bool Reset() => Deadline.TryReset();

    public void Dispose()
    {
        Socket.Dispose();
        Deadline.Dispose();
    }
}

/// <summary>
/// Idle upstream connections for the lean HTTP stage, per (host, port) as the client named them, newest first (so
/// the rest age out). Connections idle longer than <see cref="IdleTimeout"/> are closed by a sweep every 15 s. Idle
/// time and the sweep run on the injected clock.
/// </summary>
internal sealed class UpstreamPool : IDisposable
{
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);
    private const int MaxIdlePerOrigin = 256;

    private readonly ConcurrentDictionary<(string Host, int Port), Stack<UpstreamConnection>> _idle = new();
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(15);

    private readonly TimeProvider _time;
    private readonly ITimer _sweeper;
    private bool _disposed;

    public UpstreamPool(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _sweeper = _time.CreateTimer(static s => ((UpstreamPool)s!).Sweep(), this, SweepInterval, SweepInterval);
    }

    private bool Fresh(UpstreamConnection connection) => _time.GetElapsedTime(connection.IdleSince) < IdleTimeout;

    public UpstreamConnection? TryRent(string host, int port)
    {
        if (!_idle.TryGetValue((host, port), out var stack))
        {
            return null;
        }
        lock (stack)
        {
            while (stack.TryPop(out var connection))
            {
                if (Fresh(connection))
                {
                    return connection;
                }
                connection.Dispose();
            }
        }
        return null;
    }

    public void Return(string host, int port, UpstreamConnection connection)
    {
        connection.IdleSince = _time.GetTimestamp();
        var stack = _idle.GetOrAdd((host, port), static _ => new Stack<UpstreamConnection>());
        lock (stack)
        {
            if (!_disposed && stack.Count < MaxIdlePerOrigin)
            {
                stack.Push(connection);
                return;
            }
        }
        connection.Dispose();
    }

    private void Sweep()
    {
        foreach (var (key, stack) in _idle)
        {
            List<UpstreamConnection>? expired = null;
            lock (stack)
            {
                if (stack.Count == 0)
                {
                    _idle.TryRemove(new KeyValuePair<(string, int), Stack<UpstreamConnection>>(key, stack));
                    continue;
                }
                var keep = stack.Where(Fresh).Reverse().ToList();
                if (keep.Count == stack.Count)
                {
                    continue;
                }
                expired = stack.Except(keep).ToList();
                stack.Clear();
                keep.ForEach(stack.Push);
            }
            expired.ForEach(c => c.Dispose());
        }
    }

    public void Dispose()
    {
        _sweeper.Dispose();
        foreach (var stack in _idle.Values)
        {
            lock (stack)
            {
                _disposed = true;
                foreach (var c in stack)
                {
                    c.Dispose();
                }
                stack.Clear();
            }
        }
    }
}

/// <summary>An origin's response head, as the lean HTTP stage forwards it.</summary>
internal sealed class UpstreamResponseHead
{
    private const int MaxHeaders = 200;

    public int Status;
    public bool Http11;
    /// <summary>The origin will close after this response (HTTP/1.0 without keep-alive, or <c>Connection: close</c>).</summary>
    public bool Close;
    /// <summary>-1 when absent (or overridden by Transfer-Encoding).</summary>
    public long ContentLength = -1;
    public bool Chunked;
    /// <summary>A transfer coding other than a final chunked: the body runs to the connection's close.</summary>
    public bool CloseDelimited;
    public bool HasDate;
    public string? ContentType;

    /// <summary>Start and length (CRLF excluded) of each header line to forward.</summary>
    public readonly int[] Lines = new int[2 * MaxHeaders];
    public int LineCount;

    /// <summary>
    /// Parses <paramref name="head"/> (status line and headers, each with its CRLF, not the blank line). False when it
    /// is not a response this proxy will pass on (a bad status line or header, conflicting lengths): a 502.
    /// </summary>
    public bool TryParse(ReadOnlySpan<byte> head)
    {
        Status = 0;
        Close = Chunked = CloseDelimited = HasDate = false;
        ContentLength = -1;
        ContentType = null;
        LineCount = 0;

        int eol = head.IndexOf("\r\n"u8);
        if (eol < 0)
        {
            return false;
        }
        var line = head[..eol];
        // HTTP/1.x SP 3DIGIT [SP reason]
        if (line.Length < 12 || !line.StartsWith("HTTP/1."u8) || line[7] is not ((byte)'0' or (byte)'1') || line[8] != ' '
            || !char.IsAsciiDigit((char)line[9]) || !char.IsAsciiDigit((char)line[10]) || !char.IsAsciiDigit((char)line[11])
            || (line.Length > 12 && line[12] != ' '))
        {
            return false;
        }
        // reason-phrase = *( HTAB / SP / VCHAR / obs-text ): a bare CR or LF in it would hide a header from this parser.
        if (line[12..].ContainsAnyInRange((byte)0, (byte)0x08) || line[12..].ContainsAnyInRange((byte)0x0a, (byte)0x1f) || line[12..].Contains((byte)0x7f))
        {
            return false;
        }
        Http11 = line[7] == (byte)'1';
        Status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        if (Status < 100)
        {
            return false;
        }

        bool keepAlive = Http11;
        string? connection = null;
        bool transferEncoding = false;
        int offset = eol + 2;
        int count = 0;
        Span<int> lines = stackalloc int[2 * MaxHeaders];
        while (offset < head.Length)
        {
            var rest = head[offset..];
            eol = rest.IndexOf("\r\n"u8);
            if (eol < 0)
            {
                return false;
            }
            line = rest[..eol];
            if (++count > MaxHeaders || !HttpHeaderTokens.TrySplitField(line, out var name, out var value))
            {
                return false;
            }
            lines[2 * (count - 1)] = offset;
            lines[2 * (count - 1) + 1] = eol;
            offset += eol + 2;

            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long length)
                    || (ContentLength >= 0 && ContentLength != length))
                {
                    return false;
                }
                ContentLength = length;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                transferEncoding = true;
                var codings = Encoding.Latin1.GetString(value);
                int lastComma = codings.LastIndexOf(',');
                Chunked = codings.AsSpan(lastComma + 1).Trim().Equals("chunked", StringComparison.OrdinalIgnoreCase);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                var text = Encoding.Latin1.GetString(value);
                connection = connection is null ? text : connection + "," + text;
                if (HttpHeaderTokens.Contains(text, "close"))
                {
                    keepAlive = false;
                }
                else if (!Http11 && HttpHeaderTokens.Contains(text, "keep-alive"))
                {
                    keepAlive = true;
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "Content-Type"u8))
            {
                ContentType = Encoding.Latin1.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Date"u8))
            {
                HasDate = true;
            }
        }
        if (transferEncoding)
        {
            // Transfer-Encoding overrides Content-Length (RFC 9112 6.3); a body not ending in chunked runs to the close.
            ContentLength = -1;
            CloseDelimited = !Chunked;
        }
        else if (ContentLength < 0)
        {
            CloseDelimited = true;
        }
        Close = !keepAlive || CloseDelimited;

        for (int i = 0; i < count; i++)
        {
            int start = lines[2 * i], length = lines[2 * i + 1];
            var header = head.Slice(start, length);
            var name = header[..header.IndexOf((byte)':')];
            if (HttpHeaderTokens.IsHopByHop(name) || Ascii.EqualsIgnoreCase(name, "Content-Length"u8) && transferEncoding
                || (connection is not null && HttpHeaderTokens.Contains(connection, name)))
            {
                continue;
            }
            Lines[2 * LineCount] = start;
            Lines[2 * LineCount + 1] = length;
            LineCount++;
        }
        return true;
    }
}
