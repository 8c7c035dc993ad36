using System.Text;

namespace FilterService.Proxy;

/// <summary>
/// Keeps every token of a request's <c>Connection</c> header visible to <see cref="ForwardingStage"/>. Kestrel replaces
/// a <c>Connection</c> header whose only recognised option is <c>keep-alive</c>, <c>close</c> or <c>upgrade</c> with that
/// option alone (<c>keep-alive, X-Secret</c> becomes <c>keep-alive</c>, also across several header lines), so the
/// extension headers it names could not be dropped as hop-by-hop and were forwarded. Kestrel decodes each request
/// header value through <c>KestrelServerOptions.RequestHeaderEncodingSelector</c>; for <c>Connection</c> this encoding
/// decodes as Kestrel's default does (strict UTF-8, no NUL) and, when the value names any token other than those three,
/// appends <c>, keep-alive, close</c>. With two recognised options Kestrel keeps the value as received (so every named
/// header is dropped), and <c>close</c> makes it end the connection after the response, which is always safe.
/// Stateless and thread-safe; used only while Kestrel parses a request head.
/// </summary>
internal sealed class ConnectionHeaderEncoding : Encoding
{
    public static readonly ConnectionHeaderEncoding Instance = new();

    /// <summary>Appended to a value that names an extension token: two options, so Kestrel does not fold it.</summary>
    internal const string Unfoldable = ", keep-alive, close";

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private ConnectionHeaderEncoding()
    {
    }

    /// <summary>The selector for Kestrel: this encoding for <c>Connection</c>, Kestrel's default (null) for every other header.</summary>
    public static Encoding? Select(string headerName) =>
        headerName.Equals("Connection", StringComparison.OrdinalIgnoreCase) ? Instance : null;

    /// <summary>The value as Kestrel will keep it: as received, plus <see cref="Unfoldable"/> when it names an extension token.</summary>
    internal static string Decode(ReadOnlySpan<byte> bytes)
    {
        string value = Strict.GetString(bytes); // invalid UTF-8 throws DecoderFallbackException: Kestrel answers 400
        if (value.Contains('\0'))
        {
            throw new DecoderFallbackException("NUL in a Connection header.");
        }
        return NamesExtensionToken(value) ? value + Unfoldable : value;
    }

    private static bool NamesExtensionToken(string list)
    {
        foreach (var range in list.AsSpan().Split(','))
        {
            var token = list.AsSpan()[range].Trim(" \t");
            if (!token.IsEmpty && !token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
                && !token.Equals("close", StringComparison.OrdinalIgnoreCase) && !token.Equals("upgrade", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    public override int GetCharCount(byte[] bytes, int index, int count) => Decode(bytes.AsSpan(index, count)).Length;

    public override int GetChars(byte[] bytes, int byteIndex, int byteCount, char[] chars, int charIndex)
    {
        var value = Decode(bytes.AsSpan(byteIndex, byteCount));
        value.CopyTo(chars.AsSpan(charIndex));
        return value.Length;
    }

    public override string GetString(byte[] bytes, int index, int count) => Decode(bytes.AsSpan(index, count));

    public override int GetMaxCharCount(int byteCount) => byteCount + Unfoldable.Length;

    public override int GetByteCount(char[] chars, int index, int count) => Strict.GetByteCount(chars, index, count);

    public override int GetBytes(char[] chars, int charIndex, int charCount, byte[] bytes, int byteIndex) =>
        Strict.GetBytes(chars, charIndex, charCount, bytes, byteIndex);

    public override int GetMaxByteCount(int charCount) => Strict.GetMaxByteCount(charCount);
}
