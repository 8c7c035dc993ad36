using System.Buffers;
using System.Text;

namespace FilterService.Proxy;

/// <summary>Why a CONNECT head was refused; each maps to one status.</summary>
internal enum HeadError
{
    None,
    /// <summary>More bytes are needed.</summary>
    Incomplete,
    /// <summary>400: malformed request line or header, bare LF or CR, obsolete line folding.</summary>
    Malformed,
    /// <summary>400: Content-Length or Transfer-Encoding on a CONNECT.</summary>
    BodyNotAllowed,
    /// <summary>431: the head exceeds <c>Proxy:MaxHeadBytes</c>.</summary>
    TooLarge,
    /// <summary>505: not HTTP/1.0 or HTTP/1.1.</summary>
    BadVersion,
}

/// <summary>A parsed CONNECT request head.</summary>
internal sealed record ConnectHead(string Authority, string? ProxyAuthorization, string? UserAgent, int Length);

/// <summary>
/// A strict parser for the CONNECT request head (RFC 9112): CRLF line endings only (a bare LF or CR is refused,
/// not tolerated, because a lenient parser disagreeing with a strict one is how requests are smuggled), no
/// whitespace before a header colon, no obsolete folding, no body headers, a size cap.
/// </summary>
internal static class ConnectHeadParser
{
    private const int MaxHeaders = 100;
    private static ReadOnlySpan<byte> Terminator => "\r\n\r\n"u8;

    public static HeadError TryParse(in ReadOnlySequence<byte> buffer, int maxHeadBytes, out ConnectHead? head)
    {
        head = null;
        long available = Math.Min(buffer.Length, maxHeadBytes);
        byte[]? rented = null;
        Span<byte> bytes = available <= 4096 ? stackalloc byte[(int)available] : (rented = ArrayPool<byte>.Shared.Rent((int)available)).AsSpan(0, (int)available);
        try
        {
            buffer.Slice(0, available).CopyTo(bytes);
            // Line endings are checked in the head only: the bytes after it are the tunnel's (a ClientHello sent in the
            // CONNECT's own write has CR and LF values in it). Without a terminator yet, everything read so far is
            // head, so a bare LF is still refused as soon as it arrives.
            int end = bytes.IndexOf(Terminator);
            if (!HttpHeaderTokens.CrlfOnly(end < 0 ? bytes : bytes[..(end + 4)]))
            {
                return HeadError.Malformed;
            }
            if (end < 0)
            {
                return buffer.Length >= maxHeadBytes ? HeadError.TooLarge : HeadError.Incomplete;
            }
            return Parse(bytes[..(end + 2)], end + 4, out head);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static HeadError Parse(ReadOnlySpan<byte> head, int length, out ConnectHead? result)
    {
        result = null;
        int eol = head.IndexOf("\r\n"u8);
        var line = head[..eol];
        head = head[(eol + 2)..];

        // CONNECT SP authority SP HTTP/1.x
        if (!line.StartsWith("CONNECT "u8))
        {
            return HeadError.Malformed;
        }
        line = line[8..];
        int sp = line.IndexOf((byte)' ');
        if (sp <= 0 || line.LastIndexOf((byte)' ') != sp)
        {
            return HeadError.Malformed;
        }
        var target = line[..sp];
        var version = line[(sp + 1)..];
        if (!version.SequenceEqual("HTTP/1.1"u8) && !version.SequenceEqual("HTTP/1.0"u8))
        {
            return version.StartsWith("HTTP/"u8) ? HeadError.BadVersion : HeadError.Malformed;
        }
        foreach (byte b in target)
        {
            if (b <= 0x20 || b >= 0x7f)
            {
                return HeadError.Malformed;
            }
        }

        string? proxyAuthorization = null, userAgent = null;
        int count = 0;
        while (!head.IsEmpty)
        {
            eol = head.IndexOf("\r\n"u8);
            line = head[..eol];
            head = head[(eol + 2)..];
            if (++count > MaxHeaders || line.IsEmpty || line[0] is (byte)' ' or (byte)'\t')
            {
                return HeadError.Malformed; // obsolete line folding
            }
            if (!HttpHeaderTokens.TrySplitField(line, out var name, out var value))
            {
                return HeadError.Malformed; // includes whitespace before the colon
            }
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8) || Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                return HeadError.BodyNotAllowed;
            }
            if (Ascii.EqualsIgnoreCase(name, "Proxy-Authorization"u8))
            {
                if (proxyAuthorization is not null)
                {
                    return HeadError.Malformed;
                }
                proxyAuthorization = Encoding.Latin1.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "User-Agent"u8))
            {
                userAgent = Encoding.Latin1.GetString(value);
            }
        }
        result = new ConnectHead(Encoding.ASCII.GetString(target), proxyAuthorization, userAgent, length);
        return HeadError.None;
    }
}
