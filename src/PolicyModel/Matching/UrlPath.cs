using System.Buffers;
using System.Text;

namespace PolicyModel.Matching;

/// <summary>
/// The one canonical form of a URL path and query, used wherever a path is judged: URL-list entries when they are
/// loaded, the URL-list and hashed-list matcher, <c>paths:</c> rule patterns and requests, and <c>explain</c>.
/// The proxy forwards the request target as received; only the decision uses this form. Rules (Matching/README.md):
/// the fragment is dropped; in the path every ASCII percent-escape is decoded (delimiters <c>%2F</c>, <c>%5C</c>,
/// <c>%3B</c> and <c>%2E</c> included), IIS's <c>%uXXXX</c> too, and again until none is left, escapes produced by
/// decoding included: <c>%252F</c> is a slash, as a server that decodes twice would take it; backslash is a slash,
/// each segment loses its path parameters (<c>;...</c>), empty segments (<c>//</c>) and dot segments are removed;
/// escapes that stay (<c>%25</c>, <c>%3F</c>, <c>%23</c>, controls, space, bytes of non-ASCII characters, which are
/// written as UTF-8 escapes) have upper-case hex. In the query only escapes of unreserved characters are decoded,
/// once (<c>%2541</c> stays). Letter case is kept: matching ignores ASCII case. The work is linear in the input, however
/// deeply escapes nest.
/// </summary>
/// <remarks>
/// Idempotent: <c>Canonicalize(Canonicalize(x)) == Canonicalize(x)</c>. A canonical input is returned as the same
/// string after one scan (<see cref="IsCanonical"/>), so the common request costs no allocation. Thread-safe: pure.
/// </remarks>
public static class UrlPath
{
    /// <summary>The canonical form of <paramref name="pathAndQuery"/>; the same instance when it already is canonical.</summary>
    public static string Canonicalize(string pathAndQuery)
    {
        ArgumentNullException.ThrowIfNull(pathAndQuery);
        return IsCanonical(pathAndQuery) ? pathAndQuery : Build(pathAndQuery);
    }

    /// <summary>The canonical form of <paramref name="pathAndQuery"/> as a new string.</summary>
    public static string Canonicalize(ReadOnlySpan<char> pathAndQuery) =>
        IsCanonical(pathAndQuery) ? pathAndQuery.ToString() : Build(pathAndQuery);

    /// <summary>Printable ASCII that needs no look in a canonical path: all but <c>/ % \ ; # ?</c>.</summary>
    private static readonly SearchValues<char> PlainInPath = SearchValues.Create(
        "!\"$&'()*+,-.0123456789:<=>@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>Printable ASCII that needs no look in a canonical query: all but <c>% #</c>.</summary>
    private static readonly SearchValues<char> PlainInQuery = SearchValues.Create(
        "!\"$&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>Whether <see cref="Canonicalize(string)"/> would return the text unchanged. Allocation-free, vectorised over plain runs.</summary>
    public static bool IsCanonical(ReadOnlySpan<char> s)
    {
        if (s.Length > 0 && s[0] != '/' && IsDotSegment(s, 0))
            return false;
        int i = 0;
        while (true)
        {
            int next = s[i..].IndexOfAnyExcept(PlainInPath);
            if (next < 0)
                return true;
            i += next;
            char c = s[i];
            if (c == '?')
                break;
            if (c == '/')
            {
                if (i + 1 < s.Length && (s[i + 1] == '/' || IsDotSegment(s, i + 1)))
                    return false;
                i++;
                continue;
            }
            if (c != '%' || !IsUpperEscape(s, i, out int value) || !StaysEscapedInPath(value))
                return false;
            // A literal percent sign must not start an escape once decoded (%2541 is A, %25E9 is %E9).
            if (value == '%' && (IsEscape(s, i + 2, out _) || IsUnicodeEscape(s, i + 2, out _)))
                return false;
            i += 3;
        }

        i++;
        while (true)
        {
            int next = s[i..].IndexOfAnyExcept(PlainInQuery);
            if (next < 0)
                return true;
            i += next;
            if (s[i] != '%' || !IsUpperEscape(s, i, out int value) || IsUnreserved(value))
                return false;
            i += 3;
        }
    }

    /// <summary>The slow path: decode, then resolve segments. Allocates; only non-canonical input gets here.</summary>
    private static string Build(ReadOnlySpan<char> s) => Build(s, out _);

    /// <summary>
    /// <see cref="Build(ReadOnlySpan{char})"/>, also giving how many characters the path decoder wrote: at most a fixed
    /// multiple of the input's length whatever the nesting of escapes (tests check the linear bound on <c>%2525...</c>).
    /// </summary>
    internal static string Build(ReadOnlySpan<char> s, out int decoderWrites)
    {
        int fragment = s.IndexOf('#');
        if (fragment >= 0)
            s = s[..fragment];
        int q = s.IndexOf('?');
        var path = q < 0 ? s : s[..q];

        var decoded = new PathDecoder(path.Length);
        decoded.Decode(path);
        decoderWrites = decoded.Writes;
        string d = decoded.ToString();

        bool leading = d.Length > 0 && d[0] == '/';
        string[] parts = d.Split('/');
        var kept = new List<string>(parts.Length);
        bool trailing = false;
        for (int k = leading ? 1 : 0; k < parts.Length; k++)
        {
            string segment = parts[k];
            int parameters = segment.IndexOf(';');
            if (parameters >= 0)
                segment = segment[..parameters];
            if (segment is "" or ".")
            {
                trailing = true;
            }
            else if (segment == "..")
            {
                if (kept.Count > 0)
                    kept.RemoveAt(kept.Count - 1);
                trailing = true;
            }
            else
            {
                kept.Add(segment);
                trailing = false;
            }
        }

        var result = new StringBuilder(s.Length + 8);
        if (leading)
            result.Append('/');
        for (int k = 0; k < kept.Count; k++)
        {
            if (k > 0)
                result.Append('/');
            AppendDecodedSegment(kept[k], result);
        }
        if (trailing && kept.Count > 0)
            result.Append('/');
        if (q >= 0)
        {
            result.Append('?');
            CanonicalQuery(s[(q + 1)..], result);
        }
        return result.ToString();
    }

    /// <summary>
    /// Writes a fully decoded segment in canonical form. The decoded text is ASCII and holds no decodable escape, so a
    /// <c>%</c> before two hex digits is the escape of a non-ASCII byte (kept, upper-case hex) and any other <c>%</c>
    /// is a literal percent sign (<c>%25</c>); the other bytes that must stay escaped are escaped.
    /// </summary>
    private static void AppendDecodedSegment(string segment, StringBuilder into)
    {
        for (int i = 0; i < segment.Length; i++)
        {
            char c = segment[i];
            if (c == '%' && IsEscape(segment, i, out int value))
            {
                AppendEscape(value, into);
                i += 2;
            }
            else if (StaysEscapedInPath(c))
            {
                AppendEscape(c, into);
            }
            else
            {
                into.Append(c);
            }
        }
    }

    /// <summary>
    /// Decodes a path until no ASCII escape remains, in one left-to-right pass. Each input character is appended to the
    /// output; whenever the output then ends in a decodable escape (<c>%XX</c> of an ASCII byte, <c>%uXXXX</c>), those
    /// characters are replaced by what they decode to and the new end is looked at again, so an escape that decoding
    /// produces (<c>%2541</c>, <c>%25%32%46</c>) is decoded too. Escapes never overlap (the characters after a
    /// <c>%</c> are hex digits or <c>u</c>), so decoding in any order gives this one result, the same as decoding the
    /// whole path again and again until it stops changing. The output never holds a decodable escape (only its end can
    /// become one, and that is looked at after every write), and each replacement shortens it, so the work is
    /// linear in the input: a 32 KB <c>%252525...</c> costs one pass, not a pass per level.
    /// Non-ASCII characters and <c>%uXXXX</c> of non-ASCII code points are written as the <c>%XX</c> escapes of their
    /// UTF-8 bytes, which stay; backslash is written as <c>/</c>. The output is ASCII.
    /// </summary>
    private struct PathDecoder(int capacity)
    {
        private char[] _chars = new char[Math.Max(16, capacity + 8)];
        private int _length;

        /// <summary>Characters written, replacements included: the measure of the decoder's work.</summary>
        public int Writes { get; private set; }

        public void Decode(ReadOnlySpan<char> path)
        {
            for (int i = 0; i < path.Length; i++)
            {
                char c = path[i];
                if (c >= 0x80)
                {
                    Rune.DecodeFromUtf16(path[i..], out Rune rune, out int used);
                    AppendUtf8(rune);
                    i += used - 1;
                }
                else
                {
                    Push(c);
                }
            }
        }

        /// <summary>Appends one ASCII character, then decodes the escapes it completes.</summary>
        private void Push(char c)
        {
            Write(c == '\\' ? '/' : c);
            while (true)
            {
                var tail = _chars.AsSpan(0, _length);
                if (tail.Length >= 3 && tail[^3] == '%' && IsEscape(tail, tail.Length - 3, out int value) && value < 0x80)
                {
                    _length -= 3;
                    Write(value == '\\' ? '/' : (char)value);
                }
                else if (tail.Length >= 6 && tail[^6] == '%' && IsUnicodeEscape(tail, tail.Length - 6, out int code))
                {
                    // IIS decodes %uXXXX: ASCII as the character, the rest as its UTF-8 bytes (which stay escaped).
                    _length -= 6;
                    if (code >= 0x80)
                    {
                        AppendUtf8(new Rune(code));
                        return;
                    }
                    Write(code == '\\' ? '/' : (char)code);
                }
                else
                {
                    return;
                }
            }
        }

        private void AppendUtf8(Rune rune)
        {
            Span<byte> bytes = stackalloc byte[4];
            int n = rune.EncodeToUtf8(bytes);
            foreach (byte b in bytes[..n])
            {
                Write('%');
                Write("0123456789ABCDEF"[b >> 4]);
                Write("0123456789ABCDEF"[b & 15]);
            }
        }

        private void Write(char c)
        {
            if (_length == _chars.Length)
                Array.Resize(ref _chars, _chars.Length * 2);
            _chars[_length++] = c;
            Writes++;
        }

        public override readonly string ToString() => new(_chars, 0, _length);
    }

    private static void CanonicalQuery(ReadOnlySpan<char> query, StringBuilder into)
    {
        for (int i = 0; i < query.Length; i++)
        {
            char c = query[i];
            if (c == '%')
            {
                if (IsEscape(query, i, out int value))
                {
                    if (IsUnreserved(value))
                        into.Append((char)value);
                    else
                        AppendEscape(value, into);
                    i += 2;
                }
                else
                {
                    AppendEscape(0x25, into);
                }
            }
            else if (c >= 0x80)
            {
                Rune.DecodeFromUtf16(query[i..], out Rune rune, out int used);
                AppendUtf8(rune, into);
                i += used - 1;
            }
            else if (c <= ' ' || c == '\u007f')
            {
                AppendEscape(c, into);
            }
            else
            {
                into.Append(c);
            }
        }
    }

    private static void AppendUtf8(Rune rune, StringBuilder into)
    {
        Span<byte> bytes = stackalloc byte[4];
        int n = rune.EncodeToUtf8(bytes);
        foreach (byte b in bytes[..n])
            AppendEscape(b, into);
    }

    private static void AppendEscape(int value, StringBuilder into) =>
        into.Append('%').Append("0123456789ABCDEF"[value >> 4]).Append("0123456789ABCDEF"[value & 15]);

    /// <summary>Bytes that a canonical path keeps as <c>%XX</c>: the escape and query/fragment marks, controls, space, non-ASCII.</summary>
    private static bool StaysEscapedInPath(int value) =>
        value <= ' ' || value >= 0x7f || value == '%' || value == '?' || value == '#';

    /// <summary>RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~".</summary>
    private static bool IsUnreserved(int value) =>
        (uint)((value | 0x20) - 'a') <= 'z' - 'a' || (uint)(value - '0') <= 9 || value is '-' or '.' or '_' or '~';

    /// <summary>Whether the segment starting at <paramref name="start"/> is <c>.</c> or <c>..</c>.</summary>
    private static bool IsDotSegment(ReadOnlySpan<char> s, int start)
    {
        int end = start;
        while (end < s.Length && s[end] != '/' && s[end] != '?')
            end++;
        var segment = s[start..end];
        return segment is "." or "..";
    }

    private static bool IsEscape(ReadOnlySpan<char> s, int i, out int value)
    {
        value = 0;
        if (i + 2 >= s.Length || !char.IsAsciiHexDigit(s[i + 1]) || !char.IsAsciiHexDigit(s[i + 2]))
            return false;
        value = (HexValue(s[i + 1]) << 4) | HexValue(s[i + 2]);
        return true;
    }

    private static bool IsUpperEscape(ReadOnlySpan<char> s, int i, out int value) =>
        IsEscape(s, i, out value) && !char.IsAsciiLetterLower(s[i + 1]) && !char.IsAsciiLetterLower(s[i + 2]);

    private static bool IsUnicodeEscape(ReadOnlySpan<char> s, int i, out int code)
    {
        code = 0;
        if (i + 5 >= s.Length || (s[i + 1] | 0x20) != 'u')
            return false;
        for (int k = i + 2; k < i + 6; k++)
        {
            if (!char.IsAsciiHexDigit(s[k]))
                return false;
            code = (code << 4) | HexValue(s[k]);
        }
        return !char.IsSurrogate((char)code);
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
