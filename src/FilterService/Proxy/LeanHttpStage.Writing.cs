using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.WebUtilities;

namespace FilterService.Proxy;

/// <summary>The lean HTTP stage's bytes: the request sent upstream, and the heads and texts written to the client's pipe.</summary>
internal sealed partial class LeanHttpStage
{
    /// <summary>
    /// The request upstream: origin-form target, Host from the URL, the client's end-to-end headers but those the verdict
    /// sets (<see cref="HttpVerdict.SetHeaders"/>), then the verdict's, then Via.
    /// </summary>
    private byte[] BuildRequest(PlainRequestHead head, HttpTarget target, IReadOnlyList<(string Name, string Value)> set, out int length)
    {
        var (path, host, port) = (target.PathAndQuery, target.Host, target.Port);
        string authority = (host.Contains(':') ? "[" + host + "]" : host) + (port == 80 ? "" : ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        int size = head.Method.Length + 1 + path.Length + 11 + 6 + authority.Length + 2 + head.Length + _via.Length + 2;
        for (int i = 0; i < set.Count; i++) // no enumerator per request: the list is usually empty
        {
            size += set[i].Name.Length + 2 + set[i].Value.Length + 2;
        }
        var bytes = ArrayPool<byte>.Shared.Rent(size);
        var span = bytes.AsSpan();
        int at = 0;
        at += Encoding.ASCII.GetBytes(head.Method, span[at..]);
        span[at++] = (byte)' ';
        at += Encoding.ASCII.GetBytes(path, span[at..]);
        " HTTP/1.1\r\nHost: "u8.CopyTo(span[at..]);
        at += 17;
        at += Encoding.ASCII.GetBytes(authority, span[at..]);
        span[at++] = (byte)'\r';
        span[at++] = (byte)'\n';
        for (int i = 0; i < head.LineCount; i++)
        {
            var line = head.Bytes.AsSpan(head.Lines[2 * i], head.Lines[2 * i + 1] + 2); // with its CRLF
            if (set.Count > 0 && IsSet(set, line[..line.IndexOf((byte)':')]))
            {
                continue; // the client's own YouTube-Restrict or tenant header: replaced below
            }
            line.CopyTo(span[at..]);
            at += line.Length;
        }
        for (int i = 0; i < set.Count; i++)
        {
            var (name, value) = set[i];
            at += Encoding.ASCII.GetBytes(name, span[at..]);
            span[at++] = (byte)':';
            span[at++] = (byte)' ';
            at += Encoding.ASCII.GetBytes(value, span[at..]);
            span[at++] = (byte)'\r';
            span[at++] = (byte)'\n';
        }
        _via.CopyTo(span[at..]);
        at += _via.Length;
        span[at++] = (byte)'\r';
        span[at++] = (byte)'\n';
        length = at;
        return bytes;
    }

    private static bool IsSet(IReadOnlyList<(string Name, string Value)> set, ReadOnlySpan<byte> name)
    {
        foreach (var (setName, _) in set)
        {
            if (name.Length == setName.Length && Ascii.EqualsIgnoreCase(name, setName))
            {
                return true;
            }
        }
        return false;
    }

    private void WriteResponseHead(PipeWriter output, byte[] buffer, UpstreamResponseHead response, bool keepAlive, bool chunked)
    {
        WriteStatusLine(output, response.Status, ReasonPhrases.GetReasonPhrase(response.Status));
        for (int i = 0; i < response.LineCount; i++)
        {
            output.Write(buffer.AsSpan(response.Lines[2 * i], response.Lines[2 * i + 1] + 2));
        }
        if (chunked)
        {
            output.Write("Transfer-Encoding: chunked\r\n"u8);
        }
        if (!response.HasDate)
        {
            WriteDate(output);
        }
        if (!keepAlive)
        {
            output.Write("Connection: close\r\n"u8);
        }
        output.Write(_via);
        output.Write("\r\n"u8);
    }

    private static void WriteStatusLine(PipeWriter output, int status, string reason) =>
        output.Advance(StatusLine(output.GetSpan(15 + reason.Length), status, reason));

    /// <summary>Writes <c>HTTP/1.1 NNN reason</c> and its CRLF into <paramref name="span"/>; the bytes written.</summary>
    private static int StatusLine(Span<byte> span, int status, string reason)
    {
        "HTTP/1.1 "u8.CopyTo(span);
        span[9] = (byte)('0' + status / 100);
        span[10] = (byte)('0' + status / 10 % 10);
        span[11] = (byte)('0' + status % 10);
        span[12] = (byte)' ';
        int n = Encoding.ASCII.GetBytes(reason, span[13..]);
        span[13 + n] = (byte)'\r';
        span[14 + n] = (byte)'\n';
        return 15 + n;
    }

    /// <summary>
    /// The head of an answer of the proxy's own (a refusal, the block page): status, type, length, the one header it
    /// may carry, Date, <c>Connection: close</c> when closing, Via. Written into the pipe in one piece: the block page
    /// is the answer to most of what a school's proxy refuses, and the head took a dozen writes to the pipe.
    /// </summary>
    private void WriteHead(PipeWriter output, int status, string reason, string contentType, long contentLength, bool close,
        string? header = null, string? value = null, bool via = true)
    {
        var date = HttpDate.Current(_proxy.Time);
        var span = output.GetSpan(15 + reason.Length + 14 + contentType.Length + 18 + 20 + 2 + (header is null ? 0 : header.Length + value!.Length + 4)
            + 6 + date.Length + 2 + 19 + _via.Length + 2);
        int at = StatusLine(span, status, reason);
        at += Put(span[at..], "Content-Type: "u8);
        at += Encoding.Latin1.GetBytes(contentType, span[at..]);
        at += Put(span[at..], "\r\nContent-Length: "u8);
        contentLength.TryFormat(span[at..], out int n, default, System.Globalization.CultureInfo.InvariantCulture);
        at += n;
        at += Put(span[at..], "\r\n"u8);
        if (header is not null)
        {
            at += Encoding.Latin1.GetBytes(header, span[at..]);
            at += Put(span[at..], ": "u8);
            at += Encoding.Latin1.GetBytes(value!, span[at..]);
            at += Put(span[at..], "\r\n"u8);
        }
        at += Put(span[at..], "Date: "u8);
        at += Put(span[at..], date);
        at += Put(span[at..], "\r\n"u8);
        if (close)
        {
            at += Put(span[at..], "Connection: close\r\n"u8);
        }
        if (via)
        {
            at += Put(span[at..], _via);
        }
        at += Put(span[at..], "\r\n"u8);
        output.Advance(at);
    }

    private static int Put(Span<byte> into, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(into);
        return bytes.Length;
    }

    private void WriteText(PipeWriter output, int status, string reason, string text, bool close, string? header = null, string? value = null,
        bool via = false)
    {
        var body = Encoding.UTF8.GetBytes(text + "\n");
        WriteHead(output, status, reason, "text/plain; charset=utf-8", body.Length, close, header, value, via);
        output.Write(body);
    }

    private void WriteDate(PipeWriter output)
    {
        output.Write("Date: "u8);
        output.Write(HttpDate.Current(_proxy.Time));
        output.Write("\r\n"u8);
    }

    private static async ValueTask<bool> TryFlushAsync(PipeWriter output)
    {
        try
        {
            var flush = await output.FlushAsync();
            return !flush.IsCompleted && !flush.IsCanceled;
        }
        catch (Exception ex) when (ex is IOException or ConnectionAbortedException or ConnectionResetException or InvalidOperationException)
        {
            return false;
        }
    }
}
