using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using NodaTime;
using PolicyModel.Decisions;

namespace FilterService.Proxy;

/// <summary>
/// The page a blocked plain-HTTP request gets: what was blocked, by which rule and category, why, when it is
/// available again (in the policy's time zone), and a reference the ICT manager can find in the audit log.
/// Everything from the request or the policy is HTML-encoded (<see cref="WebUtility.HtmlEncode(string)"/>).
/// </summary>
/// <remarks>
/// One renderer, <see cref="Write"/>, writes the page as UTF-8 straight into a buffer: the fixed markup is UTF-8
/// literals, dates and the address are formatted as UTF-8, and a value with nothing to encode (plain ASCII without
/// <c>&lt;&gt;&amp;"'</c>, the common case) is copied as it is. The page used to be built in a StringBuilder, turned
/// into a string and encoded again: about 8 KB allocated per blocked request (bench/load/README.md, the sixth round).
/// The test BlockPageRenderTests compares it byte for byte with that naive rendering.
/// </remarks>
internal static class BlockPage
{
    /// <summary>The characters of a value that <see cref="WebUtility.HtmlEncode(string)"/> leaves as they are and UTF-8 writes as one byte.</summary>
    private static readonly SearchValues<char> Verbatim = SearchValues.Create(
        string.Concat(Enumerable.Range(0, 128).Select(c => (char)c).Where(c => c is not ('<' or '>' or '&' or '"' or '\''))));

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_page;

    /// <summary>The page as a string (the Kestrel path writes it through its response).</summary>
    public static string Render(PolicySnapshot policy, Decision decision, string url, IPAddress client, DateTimeOffset at, string reference) =>
        Encoding.UTF8.GetString(RenderUtf8(policy, decision, url, client, at, reference).Span);

    /// <summary>
    /// The page as UTF-8 in a buffer of this thread's, reused by the next call on the same thread: write it (or copy
    /// it) before anything that may await.
    /// </summary>
    public static ReadOnlyMemory<byte> RenderUtf8(PolicySnapshot policy, Decision decision, string url, IPAddress client, DateTimeOffset at,
        string reference)
    {
        var page = t_page ??= new ArrayBufferWriter<byte>(4096);
        page.ResetWrittenCount();
        Write(page, policy, decision, url, client, at, reference);
        return page.WrittenMemory;
    }

    /// <summary>Writes the page as UTF-8 to <paramref name="output"/> and returns its length in bytes.</summary>
    public static int Write(IBufferWriter<byte> output, PolicySnapshot policy, Decision decision, string url, IPAddress client, DateTimeOffset at,
        string reference)
    {
        var o = new Counting(output);
        var zone = policy.TimeZone;
        var time = LocalTime.Of(zone, at);
        var local = time.Local;
        o.Raw("<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>Blocked by the school web filter</title>"u8);
        o.Raw("<meta name=\"viewport\" content=\"width=device-width\">"u8);
        o.Raw("<style>body{font-family:system-ui,sans-serif;max-width:44em;margin:3em auto;padding:0 1em;color:#222}"u8);
        o.Raw("h1{color:#a00}dt{font-weight:bold;margin-top:.6em}dd{margin-left:0}code{background:#eee;padding:0 .3em}</style></head><body>\n"u8);
        o.Raw("<h1>This page is blocked</h1>\n<p>The web filter of "u8);
        o.Encoded(policy.Name ?? "the school");
        o.Raw(" blocked <code>"u8);
        o.Encoded(url);
        o.Raw("</code>.</p>\n<dl>\n"u8);
        // The labels and the formatted dates and address have nothing to encode.
        o.Raw("<dt>Reason</dt><dd>"u8);
        o.Encoded(decision.Reason);
        o.Raw("</dd>\n<dt>Rule</dt><dd>"u8);
        o.Encoded(decision.Rule);
        o.Raw("</dd>\n<dt>Category</dt><dd>"u8);
        o.Encoded(decision.Category ?? "none");
        o.Raw("</dd>\n"u8);
        if (decision.Until is { } until)
        {
            var back = Instant.FromDateTimeOffset(until).InZone(zone).ToDateTimeUnspecified();
            o.Raw("<dt>Available again</dt><dd>Available again at "u8);
            o.Formatted(back, back.Date == local.Date ? "HH:mm" : "HH:mm 'on' dddd d MMMM yyyy");
            o.Raw("</dd>\n"u8);
        }
        o.Raw("<dt>Time</dt><dd>"u8);
        o.Raw(time.Text);
        o.Raw("</dd>\n<dt>Your address</dt><dd>"u8);
        o.Address(client);
        o.Raw("</dd>\n"u8);
        if (decision.Identity.User is { } user)
        {
            o.Raw("<dt>Signed in as</dt><dd>"u8);
            o.Encoded(user);
            o.Raw("</dd>\n"u8);
        }
        o.Raw("<dt>Reference</dt><dd>"u8);
        o.Encoded(reference);
        o.Raw("</dd>\n</dl>\n<p>If you think this is wrong, ask your ICT manager to review it and quote the reference <strong>"u8);
        o.Encoded(reference);
        o.Raw("</strong>.</p>\n</body></html>\n"u8);
        return o.Length;
    }

    /// <summary>
    /// The request's second in the policy's zone and its text, <c>yyyy-MM-dd HH:mm:ss (Zone/Id)</c>, made once a second
    /// per zone rather than once a page (as <see cref="FilterService.Audit.AuditTimeFormat"/> keeps the audit's): one
    /// immutable entry swapped whole, so a thread sees the old second's or the new one's. The local time is whole
    /// seconds, which is all the page shows: a zone's offset is whole seconds, so the local date never changes inside a
    /// UTC second.
    /// </summary>
    private sealed class LocalTime
    {
        private static LocalTime? s_last;

        private LocalTime(DateTimeZone zone, long second)
        {
            Zone = zone;
            Second = second;
            Local = Instant.FromDateTimeUtc(new DateTime(second * TimeSpan.TicksPerSecond, DateTimeKind.Utc)).InZone(zone).ToDateTimeUnspecified();
            var text = new ArrayBufferWriter<byte>(64);
            var o = new Counting(text);
            o.Timestamp(Local);
            o.Raw(" ("u8);
            o.Encoded(zone.Id);
            o.Raw(")"u8);
            Text = text.WrittenSpan.ToArray();
        }

        public DateTimeZone Zone { get; }
        public long Second { get; }
        public DateTime Local { get; }
        public byte[] Text { get; }

        public static LocalTime Of(DateTimeZone zone, DateTimeOffset at)
        {
            long second = at.UtcTicks / TimeSpan.TicksPerSecond;
            var last = Volatile.Read(ref s_last);
            if (last is null || last.Second != second || !ReferenceEquals(last.Zone, zone))
            {
                last = new LocalTime(zone, second);
                Volatile.Write(ref s_last, last);
            }
            return last;
        }
    }

    /// <summary>The longest entity <see cref="HtmlEncodeAscii"/> writes for one character (<c>&amp;quot;</c>).</summary>
    internal const int MaxEntityLength = 6;

    /// <summary>
    /// ASCII <paramref name="value"/> HTML-encoded into <paramref name="into"/> exactly as
    /// <see cref="WebUtility.HtmlEncode(string)"/> encodes it (its five markup characters as entities, every other ASCII
    /// character as it is), without making a string; the bytes written. <paramref name="into"/> holds
    /// <see cref="MaxEntityLength"/> bytes a character.
    /// </summary>
    internal static int HtmlEncodeAscii(ReadOnlySpan<char> value, Span<byte> into)
    {
        int n = 0;
        while (true)
        {
            // The run up to the next markup character as it is (vectorised), then that character's entity.
            int next = value.IndexOfAny(Markup);
            Ascii.FromUtf16(next < 0 ? value : value[..next], into[n..], out int copied);
            n += copied;
            if (next < 0)
            {
                return n;
            }
            var entity = value[next] switch
            {
                '<' => "&lt;"u8,
                '>' => "&gt;"u8,
                '&' => "&amp;"u8,
                '"' => "&quot;"u8,
                _ => "&#39;"u8,
            };
            entity.CopyTo(into[n..]);
            n += entity.Length;
            value = value[(next + 1)..];
        }
    }

    /// <summary>The characters <see cref="HtmlEncodeAscii"/> writes as entities.</summary>
    private static readonly SearchValues<char> Markup = SearchValues.Create("<>&\"'");

    /// <summary>The output and the bytes written to it so far.</summary>
    private ref struct Counting(IBufferWriter<byte> output)
    {
        public int Length;

        public void Raw(ReadOnlySpan<byte> utf8)
        {
            output.Write(utf8);
            Length += utf8.Length;
        }

        /// <summary><paramref name="value"/> HTML-encoded, as UTF-8.</summary>
        public void Encoded(string value)
        {
            if (value.AsSpan().ContainsAnyExcept(Verbatim))
            {
                if (Ascii.IsValid(value))
                {
                    // Every rule's reason quotes the rule's name: no string per page for it.
                    Advance(HtmlEncodeAscii(value, output.GetSpan(value.Length * MaxEntityLength)));
                    return;
                }
                value = WebUtility.HtmlEncode(value);
                Advance(Encoding.UTF8.GetBytes(value, output.GetSpan(Encoding.UTF8.GetMaxByteCount(value.Length))));
                return;
            }
            Advance(Encoding.ASCII.GetBytes(value, output.GetSpan(value.Length)));
        }

        /// <summary>A date in the invariant culture: digits, English names, spaces and colons.</summary>
        public void Formatted(DateTime value, string format)
        {
            var span = output.GetSpan(64);
            if (!value.TryFormat(span, out int n, format, CultureInfo.InvariantCulture))
            {
                throw new InvalidOperationException("a block page date longer than 64 bytes"); // a bug: the formats above are at most 35
            }
            Advance(n);
        }

        /// <summary>
        /// <paramref name="value"/> as <c>yyyy-MM-dd HH:mm:ss</c>: the sortable format ("s", which the runtime formats
        /// without parsing a pattern) with its <c>T</c> made a space.
        /// </summary>
        public void Timestamp(DateTime value)
        {
            var span = output.GetSpan(19);
            if (!value.TryFormat(span, out int n, "s", CultureInfo.InvariantCulture) || n != 19)
            {
                throw new InvalidOperationException("a sortable date that is not 19 bytes"); // a bug: yyyy-MM-ddTHH:mm:ss
            }
            span[10] = (byte)' ';
            Advance(n);
        }

        /// <summary>An address as <see cref="IPAddress.ToString"/> has it: hex digits, dots, colons and a numeric scope.</summary>
        public void Address(IPAddress client)
        {
            var span = output.GetSpan(64);
            if (!client.TryFormat(span, out int n))
            {
                throw new InvalidOperationException("an address longer than 64 bytes"); // a bug: an IPv6 address with scope is at most 56
            }
            Advance(n);
        }

        private void Advance(int n)
        {
            output.Advance(n);
            Length += n;
        }
    }
}
