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

    private static void WriteStatusLine(PipeWriter output, int status, string reason)
    {
        var span = output.GetSpan(16 + reason.Length);
        "HTTP/1.1 "u8.CopyTo(span);
        span[9] = (byte)('0' + status / 100);
        span[10] = (byte)('0' + status / 10 % 10);
        span[11] = (byte)('0' + status % 10);
        span[12] = (byte)' ';
        int n = Encoding.ASCII.GetBytes(reason, span[13..]);
        span[13 + n] = (byte)'\r';
        span[14 + n] = (byte)'\n';
        output.Advance(15 + n);
    }

    private void WriteHead(PipeWriter output, int status, string reason, string contentType, long contentLength, bool close,
        string? header = null, string? value = null, bool via = true)
    {
        WriteStatusLine(output, status, reason);
        WriteAscii(output, "Content-Type: ");
        WriteAscii(output, contentType);
        WriteAscii(output, "\r\nContent-Length: ");
        var digits = output.GetSpan(20); // no string per response: a long is at most 20 digits
        contentLength.TryFormat(digits, out int n, default, System.Globalization.CultureInfo.InvariantCulture);
        output.Advance(n);
        output.Write("\r\n"u8);
        if (header is not null)
        {
            WriteAscii(output, header);
            output.Write(": "u8);
            WriteAscii(output, value!);
            output.Write("\r\n"u8);
        }
        WriteDate(output);
        if (close)
        {
            output.Write("Connection: close\r\n"u8);
        }
        if (via)
        {
            output.Write(_via);
        }
        output.Write("\r\n"u8);
    }

    /// <summary>
    /// A blocked request's answer: the head <see cref="WriteHead"/> would write for it (403, the page's type and length,
    /// <c>Cache-Control: no-store</c> so that no browser shows the page after the policy has changed, Date, Via) and the
    /// page, unless the request was HEAD. Written into the pipe in one piece: it is the answer to most of what a
    /// school's proxy refuses, and the head alone took a dozen writes to the pipe.
    /// </summary>
    private void WriteBlocked(PipeWriter output, ReadOnlySpan<byte> page, bool close, bool body)
    {
        var date = HttpDate.Current(_proxy.Time);
        ReadOnlySpan<byte> start = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "u8;
        ReadOnlySpan<byte> middle = "\r\nCache-Control: no-store\r\nDate: "u8;
        ReadOnlySpan<byte> connectionClose = "Connection: close\r\n"u8;
        var span = output.GetSpan(start.Length + 20 + middle.Length + date.Length + 2 + connectionClose.Length + _via.Length + 2 + page.Length);
        start.CopyTo(span);
        int at = start.Length;
        ((long)page.Length).TryFormat(span[at..], out int n, default, System.Globalization.CultureInfo.InvariantCulture);
        at += n;
        middle.CopyTo(span[at..]);
        at += middle.Length;
        date.CopyTo(span[at..]);
        at += date.Length;
        span[at++] = (byte)'\r';
        span[at++] = (byte)'\n';
        if (close)
        {
            connectionClose.CopyTo(span[at..]);
            at += connectionClose.Length;
        }
        _via.CopyTo(span[at..]);
        at += _via.Length;
        span[at++] = (byte)'\r';
        span[at++] = (byte)'\n';
        if (body)
        {
            page.CopyTo(span[at..]);
            at += page.Length;
        }
        output.Advance(at);
    }

    private void WriteText(PipeWriter output, int status, string reason, string text, bool close, string? header = null, string? value = null,
        bool via = false)
    {
        var body = Encoding.UTF8.GetBytes(text + "\n");
        WriteHead(output, status, reason, "text/plain; charset=utf-8", body.Length, close, header, value, via);
        output.Write(body);
    }

    private static void WriteAscii(PipeWriter output, string text)
    {
        var span = output.GetSpan(text.Length);
        int n = Encoding.Latin1.GetBytes(text, span);
        output.Advance(n);
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
