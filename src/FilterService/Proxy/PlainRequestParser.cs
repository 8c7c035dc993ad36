using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace FilterService.Proxy;

/// <summary>What <see cref="PlainRequestParser.TryParse"/> found at the start of the buffer.</summary>
internal enum HeadCheck
{
    /// <summary>A complete, well-formed, bodiless GET or HEAD for an <c>http://</c> target: the lean HTTP stage serves it.</summary>
    Simple,
    /// <summary>
    /// Anything else (another method, a body, HTTP/1.0, an <c>Expect</c> or <c>Upgrade</c>, a malformed or oversized head):
    /// left in the pipe for Kestrel's HTTP/1.1 and <see cref="ForwardingStage"/>, which refuse or serve it as before.
    /// </summary>
    NotSimple,
    /// <summary>More bytes are needed.</summary>
    Incomplete,
}

/// <summary>
/// A plain-HTTP request head the lean HTTP stage serves. The head's bytes are copied out of the connection's pipe into a
/// pooled buffer so that the header lines to forward are sent upstream as they came, without a string per header.
/// One instance serves every request of a connection: <see cref="Dispose"/> returns the buffer, the next parse refills it.
/// </summary>
internal sealed class PlainRequestHead : IDisposable
{
    private const int MaxHeaders = 100;

    public byte[] Bytes = [];
    /// <summary>The head's length in the pipe, the blank line included.</summary>
    public int Length;
    public bool IsHead;
    public string Method => IsHead ? "HEAD" : "GET";
    public string Target = "";
    /// <summary>HTTP/1.1 without <c>Connection: close</c>.</summary>
    public bool KeepAlive;
    public string? ProxyAuthorization;

    /// <summary>The target as <see cref="HttpTarget.TryResolve"/> resolved it.</summary>
    public HttpTarget Resolved;

    /// <summary>Start and length (CRLF excluded) of each header line to forward, hop-by-hop headers already left out.</summary>
    public readonly int[] Lines = new int[2 * MaxHeaders];
    public int LineCount;

    public static int HeaderLimit => MaxHeaders;

    public void Dispose()
    {
        if (Bytes.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(Bytes);
            Bytes = [];
        }
    }
}

/// <summary>
/// Recognises the requests the lean HTTP stage serves, strictly, and nothing else: the request line
/// <c>GET|HEAD SP http://... SP HTTP/1.1</c>, CRLF line endings only, header names that are tokens, no control bytes in
/// values and no value with bytes over 0x7f that is not UTF-8, no obsolete folding, at most 100 headers, and none of <c>Content-Length</c>, <c>Transfer-Encoding</c>,
/// <c>Expect</c>, <c>Upgrade</c> or a second <c>Host</c> or <c>Proxy-Authorization</c>, and a <c>Host</c> present. Whatever it does not recognise is
/// <see cref="HeadCheck.NotSimple"/> as soon as the offending byte arrives, so Kestrel's parser (and the refusals the
/// hostile-input tests pin) see every odd request exactly as before.
/// </summary>
internal static class PlainRequestParser
{
    private static ReadOnlySpan<byte> Terminator => "\r\n\r\n"u8;

    /// <summary>Looks at the start of <paramref name="buffer"/>; on <see cref="HeadCheck.Simple"/> <paramref name="head"/> holds the request.</summary>
    public static HeadCheck TryParse(in ReadOnlySequence<byte> buffer, int maxHeadBytes, int maxRequestLine, PlainRequestHead head)
    {
        int available = (int)Math.Min(buffer.Length, maxHeadBytes);
        byte[]? rented = null;
        ReadOnlySpan<byte> bytes;
        if (buffer.IsSingleSegment)
        {
            bytes = buffer.FirstSpan[..available];
        }
        else
        {
            rented = ArrayPool<byte>.Shared.Rent(available);
            buffer.Slice(0, available).CopyTo(rented);
            bytes = rented.AsSpan(0, available);
        }
        try
        {
            var start = CheckStart(bytes);
            if (start != HeadCheck.Simple)
            {
                return start;
            }
            // A request line over the limit is Kestrel's to refuse (414), as soon as the limit is passed. Kestrel's
            // MaxRequestLineSize counts the line's CRLF.
            int lineEnd = bytes.IndexOf("\r\n"u8);
            if (lineEnd + 2 > maxRequestLine || (lineEnd < 0 && bytes.Length >= maxRequestLine))
            {
                return HeadCheck.NotSimple;
            }
            int end = bytes.IndexOf(Terminator);
            if (end < 0)
            {
                // Line endings are checked as they arrive, so a bare LF or CR goes to Kestrel (and its 400) at once.
                return !HttpHeaderTokens.CrlfOnly(bytes) || available >= maxHeadBytes ? HeadCheck.NotSimple : HeadCheck.Incomplete;
            }
            int length = end + 4;
            if (!HttpHeaderTokens.CrlfOnly(bytes[..length]))
            {
                return HeadCheck.NotSimple;
            }
            head.Dispose();
            head.Bytes = ArrayPool<byte>.Shared.Rent(length);
            head.Length = length;
            bytes[..length].CopyTo(head.Bytes);
            if (!Parse(head))
            {
                head.Dispose();
                return HeadCheck.NotSimple;
            }
            return HeadCheck.Simple;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>NotSimple as soon as the bytes so far cannot begin <c>GET http://</c> or <c>HEAD http://</c>.</summary>
    private static HeadCheck CheckStart(ReadOnlySpan<byte> bytes)
    {
        ReadOnlySpan<byte> get = "GET http://"u8, head = "HEAD http://"u8;
        var expected = bytes.Length > 0 && bytes[0] == (byte)'H' ? head : get;
        int n = Math.Min(bytes.Length, expected.Length);
        if (!bytes[..n].SequenceEqual(expected[..n]))
        {
            return HeadCheck.NotSimple;
        }
        return n == expected.Length ? HeadCheck.Simple : HeadCheck.Incomplete;
    }

    private static bool Parse(PlainRequestHead result)
    {
        result.ProxyAuthorization = null;
        result.LineCount = 0;
        result.Resolved = default;
        var all = result.Bytes.AsSpan(0, result.Length - 2); // every line with its CRLF
        int eol = all.IndexOf("\r\n"u8);
        var line = all[..eol];
        result.IsHead = line[0] == (byte)'H';
        line = line[(result.IsHead ? 5 : 4)..];
        int sp = line.IndexOf((byte)' ');
        if (sp <= 0 || !line[(sp + 1)..].SequenceEqual("HTTP/1.1"u8))
        {
            return false;
        }
        var target = line[..sp];
        foreach (byte b in target)
        {
            if (b <= 0x20 || b >= 0x7f)
            {
                return false;
            }
        }
        result.Target = Encoding.ASCII.GetString(target);

        int offset = eol + 2;
        bool close = false, host = false;
        int count = 0;
        // First pass: validate, and read the headers that steer the forwarding.
        Span<int> lines = stackalloc int[2 * PlainRequestHead.HeaderLimit];
        string? connection = null;
        while (offset < all.Length)
        {
            var rest = all[offset..];
            eol = rest.IndexOf("\r\n"u8);
            line = rest[..eol];
            if (++count > PlainRequestHead.HeaderLimit || line.IsEmpty || line[0] is (byte)' ' or (byte)'\t')
            {
                return false;
            }
            if (!HttpHeaderTokens.TrySplitField(line, out var name, out var value))
            {
                return false;
            }
            if (value.ContainsAnyInRange((byte)0x80, (byte)0xff) && !Utf8.IsValid(value))
            {
                // obs-text that is not UTF-8: Kestrel decodes request header values as strict UTF-8 and answers 400, so
                // it is Kestrel's; a valid UTF-8 value is forwarded byte for byte on both paths.
                return false;
            }
            lines[2 * (count - 1)] = offset;
            lines[2 * (count - 1) + 1] = eol;
            offset += eol + 2;

            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8) || Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8)
                || Ascii.EqualsIgnoreCase(name, "Expect"u8) || Ascii.EqualsIgnoreCase(name, "Upgrade"u8))
            {
                return false;
            }
            if (Ascii.EqualsIgnoreCase(name, "Host"u8))
            {
                if (host)
                {
                    return false;
                }
                host = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Proxy-Authorization"u8))
            {
                if (result.ProxyAuthorization is not null)
                {
                    return false;
                }
                result.ProxyAuthorization = Encoding.Latin1.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                var text = Encoding.Latin1.GetString(value);
                connection = connection is null ? text : connection + "," + text;
                close |= HttpHeaderTokens.Contains(text, "close");
            }
        }
        if (!host)
        {
            return false; // HTTP/1.1 without Host is Kestrel's to refuse with 400 (RFC 9112 3.2)
        }
        result.KeepAlive = !close;

        // Second pass: keep the end-to-end headers.
        for (int i = 0; i < count; i++)
        {
            int start = lines[2 * i], length = lines[2 * i + 1];
            var header = result.Bytes.AsSpan(start, length);
            var name = header[..header.IndexOf((byte)':')];
            if (HttpHeaderTokens.IsHopByHop(name) || (connection is not null && HttpHeaderTokens.Contains(connection, name)))
            {
                continue;
            }
            result.Lines[2 * result.LineCount] = start;
            result.Lines[2 * result.LineCount + 1] = length;
            result.LineCount++;
        }
        return true;
    }

}

/// <summary>
/// What the CONNECT, plain-request and upstream-response parsers share: CRLF line endings, header field syntax,
/// hop-by-hop headers (RFC 9110 7.6.1) and <c>Connection</c> token lists.
/// </summary>
internal static class HttpHeaderTokens
{
    /// <summary>
    /// Whether every line ending so far is CRLF: no LF without a CR before it, no CR followed by anything but LF (a CR
    /// at the very end may still get its LF). A lenient parser disagreeing with a strict one is how requests are
    /// smuggled, so a bare LF or CR is refused, not tolerated.
    /// </summary>
    public static bool CrlfOnly(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (true)
        {
            int at = bytes[i..].IndexOfAny((byte)'\r', (byte)'\n');
            if (at < 0)
            {
                return true;
            }
            i += at;
            if (bytes[i] == (byte)'\n')
            {
                return false; // an LF not after a CR
            }
            if (i + 1 < bytes.Length && bytes[i + 1] != (byte)'\n')
            {
                return false; // a CR not before an LF
            }
            i += 2;
            if (i >= bytes.Length)
            {
                return true;
            }
        }
    }

    /// <summary>Never forwarded either way; <c>Host</c> and <c>Expect</c> are rewritten or refused by the proxy itself.</summary>
    public static readonly string[] HopByHop =
    [
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Host", "Expect",
    ];

    /// <summary>
    /// Splits a header field line (without its CRLF) into name and value (optional whitespace trimmed): false unless
    /// the name is a non-empty token ending at the colon (so no whitespace before it) and the value holds no control
    /// byte but tab. Shared by the CONNECT, plain-request and upstream-response parsers.
    /// </summary>
    public static bool TrySplitField(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        value = default;
        int colon = line.IndexOf((byte)':');
        name = colon > 0 ? line[..colon] : default;
        if (colon <= 0)
        {
            return false;
        }
        foreach (byte b in name)
        {
            if (!IsTokenChar(b))
            {
                return false;
            }
        }
        value = line[(colon + 1)..].Trim(" \t"u8);
        foreach (byte b in value)
        {
            if ((b < 0x20 && b != '\t') || b == 0x7f)
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsTokenChar(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
            or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';

    public static bool IsHopByHop(ReadOnlySpan<byte> name)
    {
        foreach (var h in HopByHop)
        {
            if (name.Length == h.Length && Ascii.EqualsIgnoreCase(name, h))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Whether the comma-separated <paramref name="list"/> names <paramref name="token"/> (case-insensitive).</summary>
    public static bool Contains(string list, ReadOnlySpan<char> token)
    {
        var rest = list.AsSpan();
        while (!rest.IsEmpty)
        {
            int comma = rest.IndexOf(',');
            if ((comma < 0 ? rest : rest[..comma]).Trim().Equals(token, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
            rest = comma < 0 ? default : rest[(comma + 1)..];
        }
        return false;
    }

    public static bool Contains(string list, ReadOnlySpan<byte> token)
    {
        Span<char> chars = stackalloc char[Math.Min(token.Length, 256)];
        if (token.Length > chars.Length)
        {
            return false;
        }
        Encoding.Latin1.GetChars(token, chars);
        return Contains(list, chars);
    }
}
