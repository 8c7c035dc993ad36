using System.Buffers;
using System.Globalization;
using System.Text;
using PolicyModel.Decisions;

namespace FilterService.Audit;

internal sealed partial class AuditLog
{
    internal static partial class JsonLineFormatter
    {
        /// <summary>
        /// The record written straight into the output, without <see cref="System.Text.Json.Utf8JsonWriter"/>, when every
        /// text in it is plain: printable ASCII without a quote or a backslash, which JSON writes as it is. That is nearly
        /// every record (a URL on the wire is ASCII, and the names come from the policy); any other is left to
        /// <see cref="WriteEscaped"/>. The bytes are the same either way: <c>AuditJsonPlainTests</c> compares the two over
        /// seeded records. It runs on the request's thread for every request: about half the cost of the general path
        /// (<c>AuditRecordBenchmarks</c>).
        /// </summary>
        internal static class Plain
        {
            private static readonly SearchValues<char> Verbatim =
                SearchValues.Create(string.Concat(Enumerable.Range(0x20, 0x7F - 0x20).Select(c => (char)c).Where(c => c is not ('"' or '\\'))));

            /// <summary>Room for everything but the texts: names, punctuation, the time, the address and the numbers.</summary>
            private const int FixedRoom = 512;

            /// <summary>Writes the record and returns true, or writes nothing and returns false when a text is not plain.</summary>
            public static bool TryWrite(DecisionRecord r, IBufferWriter<byte> output)
            {
                var d = r.Decision;
                int room = FixedRoom;
                if (!Fits(r.User, ref room) || !Fits(r.Network, ref room) || !Fits(r.Method, ref room) || !Fits(r.Target, ref room)
                    || !Fits(r.Rule, ref room) || !Fits(r.Category, ref room) || !Fits(r.Reference, ref room) || !Fits(r.PolicyVersion, ref room)
                    || !Fits(r.UpstreamAddress, ref room) || !Fits(r.SafeSearch, ref room) || !Fits(d?.List, ref room)
                    || r.Method is null || r.Target is null || r.Rule is null || r.Reference is null)
                {
                    return false;
                }
                for (int i = 0; i < r.Roles.Count; i++)
                {
                    if (r.Roles[i] is not { } role || !Fits(role, ref room))
                    {
                        return false;
                    }
                }
                var o = new Writer(output.GetSpan(room));
                o.Raw("{\"time\":\""u8);
                AuditTimeFormat.Write(r.At, o.Free);
                o.Skip(AuditTimeFormat.Length);
                o.Raw("\",\"client\":\""u8);
                r.Client.TryFormat(o.Free, out int n);
                o.Skip(n);
                o.Raw("\""u8);
                if (!string.IsNullOrEmpty(r.User))
                {
                    o.Text(",\"user\":\""u8, r.User);
                }
                if (r.Roles.Count > 0)
                {
                    o.Raw(",\"roles\":["u8);
                    for (int i = 0; i < r.Roles.Count; i++)
                    {
                        o.Text(i == 0 ? "\""u8 : ",\""u8, r.Roles[i]);
                    }
                    o.Raw("]"u8);
                }
                if (!string.IsNullOrEmpty(r.Network))
                {
                    o.Text(",\"network\":\""u8, r.Network);
                }
                o.Text(",\"method\":\""u8, r.Method);
                o.Text(",\"url\":\""u8, r.Target);
                o.Raw(r.Action == DecisionAction.Block ? ",\"action\":\"block\""u8 : ",\"action\":\"allow\""u8);
                o.Text(",\"rule\":\""u8, r.Rule);
                if (!string.IsNullOrEmpty(r.Category))
                {
                    o.Text(",\"category\":\""u8, r.Category);
                }
                if (d is not null)
                {
                    if (!string.IsNullOrEmpty(d.List))
                    {
                        o.Text(",\"list\":\""u8, d.List);
                    }
                    if (d.Until is { } until)
                    {
                        o.Raw(",\"until\":\""u8);
                        until.UtcDateTime.TryFormat(o.Free, out n, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                        o.Skip(n);
                        o.Raw("\""u8);
                    }
                    if (d.Alert)
                    {
                        o.Text(",\"alert\":true,\"severity\":\""u8, SeverityName(d.Severity));
                    }
                }
                o.Number(",\"status\":"u8, r.Status);
                o.Number(",\"bytes_in\":"u8, r.BytesFromClient);
                o.Number(",\"bytes_out\":"u8, r.BytesToClient);
                o.Raw(",\"duration_ms\":"u8);
                o.Milliseconds(r.Duration.TotalMilliseconds);
                o.Text(",\"ref\":\""u8, r.Reference);
                if (!string.IsNullOrEmpty(r.PolicyVersion))
                {
                    o.Text(",\"policy\":\""u8, r.PolicyVersion);
                }
                if (r.UpstreamAddress is not null)
                {
                    o.Text(",\"upstream\":\""u8, r.UpstreamAddress);
                }
                if (r.SafeSearch is not null)
                {
                    o.Text(",\"safe_search\":\""u8, r.SafeSearch);
                }
                o.Raw("}"u8);
                output.Advance(o.Position);
                return true;
            }

            /// <summary>Whether <paramref name="text"/> (null: absent) is plain; if so, its room is added.</summary>
            private static bool Fits(string? text, ref int room)
            {
                if (text is null)
                {
                    return true;
                }
                room += text.Length + 32; // the text, its name and its punctuation
                return !text.AsSpan().ContainsAnyExcept(Verbatim);
            }

            /// <summary>A position in the span the record is written into, sized beforehand (<see cref="Fits"/>).</summary>
            private ref struct Writer(Span<byte> span)
            {
                private readonly Span<byte> _span = span;

                public int Position { get; private set; }

                public readonly Span<byte> Free => _span[Position..];

                public void Skip(int count) => Position += count;

                public void Raw(ReadOnlySpan<byte> utf8)
                {
                    utf8.CopyTo(_span[Position..]);
                    Position += utf8.Length;
                }

                /// <summary><paramref name="prefix"/> (ending in the opening quote), the plain text, and the closing quote.</summary>
                public void Text(ReadOnlySpan<byte> prefix, string text)
                {
                    Raw(prefix);
                    Ascii.FromUtf16(text, _span[Position..], out int n); // plain: every character is ASCII
                    Position += n;
                    _span[Position++] = (byte)'"';
                }

                /// <summary>
                /// <paramref name="milliseconds"/> rounded to a tenth, as the general path writes it (the shortest
                /// round-trip format of <c>Math.Round(ms, 1, AwayFromZero)</c>), without formatting a double: that
                /// rounding scales by ten, rounds and divides back, so the value is the whole tenths / 10, written as
                /// the tenths' digits with a decimal digit unless it is 0. A negative duration (minus zero included)
                /// or one of centuries, where the format may differ, is formatted as the general path does.
                /// </summary>
                public void Milliseconds(double milliseconds)
                {
                    double tenths = Math.Round(milliseconds * 10, MidpointRounding.AwayFromZero);
                    if (!double.IsNegative(tenths) && tenths < 1e14)
                    {
                        long t = (long)tenths;
                        (t / 10).TryFormat(_span[Position..], out int n, default, CultureInfo.InvariantCulture);
                        Position += n;
                        if (t % 10 != 0)
                        {
                            _span[Position++] = (byte)'.';
                            _span[Position++] = (byte)('0' + t % 10);
                        }
                        return;
                    }
                    Math.Round(milliseconds, 1, MidpointRounding.AwayFromZero).TryFormat(_span[Position..], out int written, default,
                        CultureInfo.InvariantCulture);
                    Position += written;
                }

                public void Number(ReadOnlySpan<byte> prefix, long value)
                {
                    Raw(prefix);
                    value.TryFormat(_span[Position..], out int n, default, CultureInfo.InvariantCulture);
                    Position += n;
                }
            }
        }
    }
}
