using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace FilterService.Proxy;

internal enum HelloStatus
{
    Ok,
    /// <summary>More bytes are needed.</summary>
    Incomplete,
    /// <summary>The first byte is not a TLS handshake record: not TLS at all.</summary>
    NotTls,
    /// <summary>A TLS handshake record that is not a well-formed ClientHello.</summary>
    Malformed,
}

/// <summary>What the proxy needs from a ClientHello: the server name and the offered protocols.</summary>
internal sealed record ClientHelloInfo(string? ServerName, IReadOnlyList<string> Alpn);

/// <summary>
/// Reads a TLS ClientHello from the bytes a client sent into a tunnel, without consuming them (compare Kestrel's
/// TlsListener). Handles a ClientHello split across several records; refuses anything over 64 KiB.
/// </summary>
internal static class ClientHelloParser
{
    private const int MaxHello = 64 * 1024;

    public static HelloStatus TryParse(in ReadOnlySequence<byte> buffer, out ClientHelloInfo? info)
    {
        info = null;
        if (buffer.IsEmpty)
        {
            return HelloStatus.Incomplete;
        }
        var reader = new SequenceReader<byte>(buffer);
        // Reassemble handshake bytes from consecutive handshake records.
        var handshake = new ArrayBufferWriter<byte>(1024);
        int needed = -1;
        Span<byte> header = stackalloc byte[5];
        while (true)
        {
            if (!reader.TryPeek(out byte type))
            {
                return HelloStatus.Incomplete;
            }
            if (type != 0x16)
            {
                return handshake.WrittenCount == 0 ? HelloStatus.NotTls : HelloStatus.Malformed;
            }
            if (reader.Remaining < 5)
            {
                return HelloStatus.Incomplete;
            }
            reader.TryCopyTo(header);
            if (header[1] != 3)
            {
                return handshake.WrittenCount == 0 ? HelloStatus.NotTls : HelloStatus.Malformed;
            }
            int recordLength = BinaryPrimitives.ReadUInt16BigEndian(header[3..]);
            if (recordLength == 0 || recordLength > 16384 + 256)
            {
                return HelloStatus.Malformed;
            }
            if (reader.Remaining < 5 + recordLength)
            {
                return HelloStatus.Incomplete;
            }
            reader.Advance(5);
            var payload = reader.UnreadSequence.Slice(0, recordLength);
            payload.CopyTo(handshake.GetSpan(recordLength));
            handshake.Advance(recordLength);
            reader.Advance(recordLength);
            if (needed < 0 && handshake.WrittenCount >= 4)
            {
                var h = handshake.WrittenSpan;
                if (h[0] != 1)
                {
                    return HelloStatus.Malformed; // not a ClientHello
                }
                needed = 4 + (h[1] << 16 | h[2] << 8 | h[3]);
                if (needed > MaxHello)
                {
                    return HelloStatus.Malformed;
                }
            }
            if (needed >= 0 && handshake.WrittenCount >= needed)
            {
                return ParseBody(handshake.WrittenSpan[4..needed], out info) ? HelloStatus.Ok : HelloStatus.Malformed;
            }
        }
    }

    private static bool ParseBody(ReadOnlySpan<byte> body, out ClientHelloInfo? info)
    {
        info = null;
        string? sni = null;
        var alpn = new List<string>();
        // legacy_version(2) random(32)
        if (body.Length < 34)
        {
            return false;
        }
        body = body[34..];
        if (!Skip8(ref body) || !Skip16(ref body) || !Skip8(ref body))
        {
            return false; // session id, cipher suites, compression methods
        }
        if (body.IsEmpty)
        {
            info = new ClientHelloInfo(null, alpn);
            return true;
        }
        if (!Take16(ref body, out var extensions) || !body.IsEmpty)
        {
            return false;
        }
        while (!extensions.IsEmpty)
        {
            if (extensions.Length < 4)
            {
                return false;
            }
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(extensions);
            extensions = extensions[2..];
            if (!Take16(ref extensions, out var data))
            {
                return false;
            }
            if (type == 0) // server_name
            {
                if (sni is not null || !Take16(ref data, out var list))
                {
                    return false;
                }
                while (!list.IsEmpty)
                {
                    byte nameType = list[0];
                    list = list[1..];
                    if (!Take16(ref list, out var name))
                    {
                        return false;
                    }
                    if (nameType == 0)
                    {
                        if (sni is not null || name.IsEmpty || !Ascii.IsValid(name))
                        {
                            return false;
                        }
                        sni = Encoding.ASCII.GetString(name);
                    }
                }
            }
            else if (type == 16) // application_layer_protocol_negotiation
            {
                if (!Take16(ref data, out var list))
                {
                    return false;
                }
                while (!list.IsEmpty)
                {
                    int len = list[0];
                    if (len == 0 || list.Length < 1 + len)
                    {
                        return false;
                    }
                    alpn.Add(Encoding.ASCII.GetString(list.Slice(1, len)));
                    list = list[(1 + len)..];
                }
            }
        }
        info = new ClientHelloInfo(sni, alpn);
        return true;
    }

    private static bool Skip8(ref ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty || s.Length < 1 + s[0])
        {
            return false;
        }
        s = s[(1 + s[0])..];
        return true;
    }

    private static bool Skip16(ref ReadOnlySpan<byte> s) => Take16(ref s, out _);

    private static bool Take16(ref ReadOnlySpan<byte> s, out ReadOnlySpan<byte> taken)
    {
        taken = default;
        if (s.Length < 2)
        {
            return false;
        }
        int len = BinaryPrimitives.ReadUInt16BigEndian(s);
        if (s.Length < 2 + len)
        {
            return false;
        }
        taken = s.Slice(2, len);
        s = s[(2 + len)..];
        return true;
    }
}
