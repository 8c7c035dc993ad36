using Serilog;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace FilterService.OperationalLog;

/// <summary>
/// The one place the operational log is configured (STYLE 7): Serilog as the Microsoft logger factory's provider, so
/// every <c>ILogger&lt;T&gt;</c> call site, its event id and the <c>Logging:LogLevel</c> filters stay as they were.
/// Each sink sits behind its own bounded queue (Serilog.Sinks.Async, never blocking: a full queue drops and counts)
/// and a <see cref="MonitoredSink"/> that turns its failures into counts; no log write runs on a request's thread
/// and none can throw into it. On Windows, run as a service, the Event Log is a provider beside Serilog.
/// </summary>
internal static class OperationalLogSetup
{
    /// <summary>
    /// Replaces the builder's providers (the default console, the Event Log <c>UseWindowsService</c> added) with
    /// Serilog. Providers added afterwards (the audit's <c>RejectedRequestLogger</c>) keep their own filters.
    /// </summary>
    public static OperationalLogStatus AddOperationalLog(this ILoggingBuilder logging, OperationalLogOptions options, string windowsServiceName, TimeProvider time)
    {
        SelfLogCapture.Enable(time);
        var sinks = new List<SinkState>();
        // Verbose: Logging:LogLevel (Microsoft's filters, applied before the provider) decides what reaches Serilog.
        var configuration = new LoggerConfiguration().MinimumLevel.Verbose();

        var console = new SinkState("console", options.EffectiveConsoleFormat.ToString(), null, time);
        var consoleFormatter = options.EffectiveConsoleFormat switch
        {
            ConsoleFormat.Json when options.JournalPriorities => new JournalPriorityFormatter(LogFormats.Json()),
            ConsoleFormat.Json => LogFormats.Json(),
            ConsoleFormat.Journal => LogFormats.Journal(),
            _ => LogFormats.ConsoleText(),
        };
        Queued(configuration, LoggerSinkConfiguration.CreateSink(w => w.Console(consoleFormatter)), console, options.QueueCapacity);
        sinks.Add(console);

        if (options.FilePath is { } path)
        {
            var file = new SinkState("file", options.FileFormat.ToString(), path, time);
            ITextFormatter fileFormatter = options.FileFormat == FileFormat.Text ? LogFormats.FileText() : LogFormats.Json();
            long? sizeLimit = options.FileSizeLimitBytes > 0 ? options.FileSizeLimitBytes : null;
            Queued(configuration, LoggerSinkConfiguration.CreateSink(w => w.File(fileFormatter, path,
                fileSizeLimitBytes: sizeLimit,
                rollOnFileSizeLimit: sizeLimit is not null,
                rollingInterval: options.RollingInterval,
                retainedFileCountLimit: options.RetainedFileCountLimit > 0 ? options.RetainedFileCountLimit : null,
                retainedFileTimeLimit: options.RetainDays > 0 ? TimeSpan.FromDays(options.RetainDays) : null)), file, options.QueueCapacity);
            sinks.Add(file);
        }

        var logger = configuration.CreateLogger();
        logging.ClearProviders();
        // Made by the container, so the container disposes it at shutdown: the logger closes, its queues drain (bounded).
        logging.Services.AddSingleton<ILoggerProvider>(_ => new ClosingSerilogProvider(logger));
        if (OperatingSystem.IsWindows() && Microsoft.Extensions.Hosting.WindowsServices.WindowsServiceHelpers.IsWindowsService())
        {
            AddEventLog(logging, windowsServiceName);
        }
        var status = new OperationalLogStatus(sinks, options.EffectiveConsoleFormat, logger, time);
        logging.Services.AddSingleton(status);
        logging.Services.AddSingleton<OperationalLogMetrics>();
        return status;
    }

    /// <summary>The Event Log source is the service's name; deploy/windows registers it (creating a source needs administrator rights).</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    private static void AddEventLog(ILoggingBuilder logging, string source) => logging.AddEventLog(s => s.SourceName = source);

    /// <summary>The sink behind its bounded queue: a full queue drops the event (counted by the queue's inspector).</summary>
    private static void Queued(LoggerConfiguration configuration, ILogEventSink sink, SinkState state, int capacity) =>
        configuration.WriteTo.Fallible(
            w => w.Async(a => a.Sink(new MonitoredSink(sink, state)), bufferSize: capacity, blockWhenFull: false, monitor: state),
            new QueueFailures(state));

    /// <summary>
    /// The queue's own failures. A dropped event (the queue full) or one logged after shutdown is already counted by
    /// the queue's inspector; anything else (its worker failing) is the sink's error.
    /// </summary>
    private sealed class QueueFailures(SinkState state) : ILoggingFailureListener
    {
        public void OnLoggingFailed(object sender, LoggingFailureKind kind, string message, IReadOnlyCollection<LogEvent>? events, Exception? exception)
        {
            if (exception is not null)
            {
                state.OnError($"{message}: {exception.Message}", lost: true);
            }
        }
    }
}
