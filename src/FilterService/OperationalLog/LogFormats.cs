using Serilog.Events;
using Serilog.Formatting;
using Serilog.Templates;

namespace FilterService.OperationalLog;

/// <summary>
/// The operational log's line formats, as Serilog.Expressions templates. Every format carries the category
/// (<c>SourceContext</c>) and the event id of the <c>[LoggerMessage]</c> call site (<c>EventId.Id</c>, the numbers
/// docs/service.md lists), so a line can be found by id in any of them.
/// </summary>
internal static class LogFormats
{
    /// <summary>
    /// One JSON object per line, CLEF-compatible (Seq, and any SIEM that reads JSON lines): <c>@t</c> UTC time,
    /// <c>@l</c> level, <c>@i</c> event id, <c>@mt</c> message template, <c>@m</c> rendered message, <c>@x</c>
    /// exception, then every property (<c>SourceContext</c> the category, <c>EventId</c> {Id, Name}, the message's
    /// own). Newlines inside values are escaped, so an exception never breaks a line.
    /// </summary>
    public static ITextFormatter Json() =>
        new ExpressionTemplate("{ {@t: UtcDateTime(@t), @l: @l, @i: EventId.Id, @mt: @mt, @m: @m, @x: @x, ..@p} }\n");

    /// <summary>A person's console: <c>05:12:01.123 INF FilterService.Policy.PolicyStore[1100] message</c>, an exception's lines after it.</summary>
    public static ITextFormatter ConsoleText() => new ExpressionTemplate("{@t:HH:mm:ss.fff} " + Line);

    /// <summary>As <see cref="ConsoleText"/> with the full local time and offset, for a file read days later.</summary>
    public static ITextFormatter FileText() => new ExpressionTemplate("{@t:yyyy-MM-dd HH:mm:ss.fff zzz} " + Line);

    /// <summary>journald's stream format: the time is journald's; each line carries its syslog priority.</summary>
    public static ITextFormatter Journal() => new JournalPriorityFormatter(new ExpressionTemplate(Line));

    private const string Line = "{@l:u3} {SourceContext}{#if EventId.Id is not null}[{EventId.Id}]{#end} {@m}\n{#if @x is not null}{@x}\n{#end}";

    /// <summary>syslog priorities as journald and Microsoft's systemd console formatter use them.</summary>
    public static int Priority(LogEventLevel level) => level switch
    {
        LogEventLevel.Fatal => 2,
        LogEventLevel.Error => 3,
        LogEventLevel.Warning => 4,
        LogEventLevel.Information => 6,
        _ => 7,
    };
}

/// <summary>
/// Prefixes every line the inner formatter writes with <c>&lt;N&gt;</c>, the event's syslog priority: journald (with
/// its default SyslogLevelPrefix=yes) strips it and files the line at that priority, so an exception's stack lines
/// keep the event's priority and <c>journalctl -p warning</c> shows them.
/// </summary>
internal sealed class JournalPriorityFormatter(ITextFormatter inner) : ITextFormatter
{
    public void Format(LogEvent logEvent, TextWriter output)
    {
        var buffer = new StringWriter();
        inner.Format(logEvent, buffer);
        var prefix = "<" + LogFormats.Priority(logEvent.Level).ToString(System.Globalization.CultureInfo.InvariantCulture) + ">";
        foreach (var line in buffer.ToString().Split('\n'))
        {
            if (line.Length > 0)
            {
                output.Write(prefix);
                output.Write(line.TrimEnd('\r'));
                output.Write('\n');
            }
        }
    }
}
