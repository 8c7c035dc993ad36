using System.Globalization;
using Serilog;

namespace FilterService.OperationalLog;

/// <summary>How the console (standard output) shows the operational log.</summary>
internal enum ConsoleFormat
{
    /// <summary><see cref="Journal"/> when standard output is systemd's journal (JOURNAL_STREAM is set), else <see cref="Text"/>.</summary>
    Auto,

    /// <summary>One line per event: time, level, category[event id], message; an exception's lines follow.</summary>
    Text,

    /// <summary>As <see cref="Text"/> without the time, every line prefixed with its syslog priority (<c>&lt;6&gt;</c>) for journald.</summary>
    Journal,

    /// <summary>One JSON object per line (<see cref="LogFormats.Json"/>).</summary>
    Json,
}

/// <summary>How the rolling log file is written.</summary>
internal enum FileFormat
{
    Json,
    Text,
}

/// <summary>
/// The operational log's own settings, under <c>Logging</c> beside Microsoft's <c>Logging:LogLevel</c> (which still
/// decides what is logged): <c>Logging:Console:Format</c>, <c>Logging:File:*</c>, <c>Logging:QueueCapacity</c>. Bound
/// and validated before anything is logged; every problem is reported (config: error FS0001) and the service does
/// not start. The level values under <c>Logging</c> are checked here too: Microsoft's binder would throw at the first
/// log line with a stack trace instead.
/// </summary>
internal sealed class OperationalLogOptions
{
    public const long DefaultFileSizeLimitBytes = 100L * 1024 * 1024;

    public ConsoleFormat ConsoleFormat { get; private set; } = ConsoleFormat.Auto;

    /// <summary><see cref="ConsoleFormat"/> with Auto decided (JOURNAL_STREAM).</summary>
    public ConsoleFormat EffectiveConsoleFormat { get; private set; } = ConsoleFormat.Text;

    /// <summary>Standard output is systemd's journal (JOURNAL_STREAM): JSON lines get a priority prefix too, which journald strips.</summary>
    public bool JournalPriorities { get; private set; }

    /// <summary>The file's path, the roll's date (and <c>_NNN</c> sequence) inserted before the extension; null: no file.</summary>
    public string? FilePath { get; private set; }

    public FileFormat FileFormat { get; private set; } = FileFormat.Json;

    /// <summary>A new file each period. Default Day.</summary>
    public RollingInterval RollingInterval { get; private set; } = RollingInterval.Day;

    /// <summary>Files kept, the current one included. Default 31; 0: no count limit.</summary>
    public int RetainedFileCountLimit { get; private set; } = 31;

    /// <summary>Files older than this many days are deleted at the next roll. Default 0: no age limit.</summary>
    public int RetainDays { get; private set; }

    /// <summary>A file reaching this size rolls to the next (<c>_001</c>). Default 100 MB; 0: no size limit.</summary>
    public long FileSizeLimitBytes { get; private set; } = DefaultFileSizeLimitBytes;

    /// <summary>Events queued for each sink before new ones are dropped (and counted). Default 10,000.</summary>
    public int QueueCapacity { get; private set; } = 10_000;

    private static readonly string[] ConsoleKeys = ["Format"];
    private static readonly string[] FileKeys = ["Path", "Format", "RollingInterval", "RetainedFileCountLimit", "RetainDays", "FileSizeLimitBytes"];

    /// <summary>Binds <c>Logging</c>; every problem goes to <paramref name="errors"/> (the options are still returned).</summary>
    public static OperationalLogOptions Bind(IConfiguration configuration, string contentRoot, List<string> errors, string? journalStream)
    {
        var o = new OperationalLogOptions();
        var logging = configuration.GetSection("Logging");
        Unknown(logging.GetSection("Console"), ConsoleKeys, errors,
            " (the console is written by Serilog: Logging:Console:Format is Auto, Text, Journal or Json)");
        Unknown(logging.GetSection("File"), FileKeys, errors, "");

        o.ConsoleFormat = ParseEnum(logging["Console:Format"], "Logging:Console:Format", ConsoleFormat.Auto, errors);
        o.EffectiveConsoleFormat = o.ConsoleFormat != ConsoleFormat.Auto ? o.ConsoleFormat
            : string.IsNullOrEmpty(journalStream) ? ConsoleFormat.Text : ConsoleFormat.Journal;
        o.JournalPriorities = !string.IsNullOrEmpty(journalStream);
        if (logging["File:Path"] is { Length: > 0 } path)
        {
            o.FilePath = Path.GetFullPath(path, contentRoot);
            if (path.EndsWith('/') || path.EndsWith(Path.DirectorySeparatorChar))
            {
                errors.Add($"Logging:File:Path: '{path}' is a directory; give a file name (e.g. {path}service-.json: the date goes before the extension)");
            }
        }
        o.FileFormat = ParseEnum(logging["File:Format"], "Logging:File:Format", FileFormat.Json, errors);
        o.RollingInterval = ParseEnum(logging["File:RollingInterval"], "Logging:File:RollingInterval", RollingInterval.Day, errors);
        o.RetainedFileCountLimit = (int)ParseNumber(logging["File:RetainedFileCountLimit"], "Logging:File:RetainedFileCountLimit", o.RetainedFileCountLimit, 0, 100_000, errors);
        o.RetainDays = (int)ParseNumber(logging["File:RetainDays"], "Logging:File:RetainDays", o.RetainDays, 0, 3650, errors);
        o.FileSizeLimitBytes = ParseNumber(logging["File:FileSizeLimitBytes"], "Logging:File:FileSizeLimitBytes", o.FileSizeLimitBytes, 0, 1L << 40, errors);
        if (o.FileSizeLimitBytes is > 0 and < 1024)
        {
            errors.Add($"Logging:File:FileSizeLimitBytes: {o.FileSizeLimitBytes} is below 1024 (0 turns the limit off)");
        }
        o.QueueCapacity = (int)ParseNumber(logging["QueueCapacity"], "Logging:QueueCapacity", o.QueueCapacity, 1, 10_000_000, errors);
        CheckLevels(logging, "Logging", errors);
        return o;
    }

    /// <summary>Every <c>LogLevel</c> value under <c>Logging</c> (Logging:LogLevel:*, Logging:EventLog:LogLevel:*, ...).</summary>
    private static void CheckLevels(IConfigurationSection section, string path, List<string> errors)
    {
        foreach (var child in section.GetChildren())
        {
            var key = $"{path}:{child.Key}";
            if (child.Key.Equals("LogLevel", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var level in child.GetChildren())
                {
                    if (level.Value is { } v && !(Enum.TryParse<LogLevel>(v, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)))
                    {
                        errors.Add($"{key}:{level.Key}: '{v}' is not a log level ({string.Join(", ", Enum.GetNames<LogLevel>())})");
                    }
                }
            }
            else if (path == "Logging")
            {
                CheckLevels(child, key, errors);
            }
        }
    }

    private static void Unknown(IConfigurationSection section, string[] known, List<string> errors, string hint)
    {
        foreach (var child in section.GetChildren())
        {
            if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{section.Path}:{child.Key}: unknown setting{hint}");
            }
        }
    }

    private static T ParseEnum<T>(string? text, string key, T fallback, List<string> errors) where T : struct, Enum
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }
        if (Enum.TryParse<T>(text.Trim(), ignoreCase: true, out var value) && Enum.IsDefined(value) && !text.Trim().All(char.IsAsciiDigit))
        {
            return value;
        }
        errors.Add($"{key}: '{text}' is not one of {string.Join(", ", Enum.GetNames<T>())}");
        return fallback;
    }

    private static long ParseNumber(string? text, string key, long fallback, long min, long max, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }
        if (long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }
        errors.Add($"{key}: '{text}' is not a whole number from {min} to {max}");
        return fallback;
    }
}
