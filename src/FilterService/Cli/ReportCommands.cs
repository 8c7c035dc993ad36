using System.CommandLine;
using FilterService.Admin;
using FilterService.Admin.Reports;
using FilterService.Notifications;
using PolicyModel.Decisions;
using PolicyModel.Documents;
using FilterService.Settings;

namespace FilterService.Cli;

/// <summary>
/// <c>report weekly</c> and <c>review-pack</c> (issue 19): the console's reports from the command line, made from the
/// service's own configuration (or <c>--config</c>): its policy, audit files, console.db and alert SMTP settings.
/// </summary>
internal static class ReportCommands
{
    public static Command CreateReport(TextWriter stdout, TextWriter stderr, TimeProvider time)
    {
        var week = new Option<string?>("--week") { Description = "The ISO week, e.g. 2026-W48 (default: last week, in the policy's time zone)" };
        var send = new Option<bool>("--send") { Description = "Email it to Reports:Weekly:Recipients through the alert SMTP settings" };
        var output = new Option<FileInfo?>("--out") { Description = "Write the HTML (charts inline) to this file instead of standard output" };
        var config = ConfigOption();
        var weekly = new Command("weekly", "The weekly filtering report") { week, send, output, config };
        weekly.SetAction(async (parse, cancellationToken) =>
        {
            if (Load(parse.GetValue(config), stderr, time) is not { } context)
            {
                return 2;
            }
            var zone = context.Policy.TimeZone;
            string? error = null;
            ReportWeek? chosen = parse.GetValue(week) is { } text ? ReportWeek.Parse(text, zone, out error) : ReportWeek.LastCompleteBefore(time.GetUtcNow(), zone);
            if (chosen is null)
            {
                stderr.WriteLine($"--week: {error}");
                return 2;
            }
            var report = await context.Weekly().BuildAsync(chosen, cancellationToken);
            var charts = ReportCharts.For(report.Figures);
            var html = WeeklyReportHtml.Render(report, charts, c => "data:image/png;base64," + Convert.ToBase64String(c.Png));
            if (parse.GetValue(output) is { } file)
            {
                await File.WriteAllTextAsync(file.FullName, html, cancellationToken);
                stdout.WriteLine($"weekly report {chosen}: {report.Figures.Blocked} blocked of {report.Figures.Requests} requests; written to {file.FullName}");
            }
            else if (!parse.GetValue(send))
            {
                stdout.Write(html);
            }
            if (parse.GetValue(send))
            {
                if (context.Alerts is not { EmailEnabled: true } alerts || context.Reports.Weekly.RecipientList.Count == 0)
                {
                    stderr.WriteLine("--send: set Reports:Weekly:Recipients and the alert SMTP settings (Alerts:Smtp:Host, Alerts:Email:From)");
                    return 2;
                }
                try
                {
                    await new WeeklyReportMailer(alerts, context.Reports.Weekly, time).SendAsync(report, cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or MailKit.ProtocolException or MailKit.CommandException
                    or MailKit.Security.AuthenticationException or MailKit.Security.SslHandshakeException or OperationCanceledException)
                {
                    stderr.WriteLine($"error FS0190: the weekly report was not sent: {ex.Message}");
                    return 1;
                }
                stdout.WriteLine($"weekly report {chosen} sent to {string.Join(", ", context.Reports.Weekly.RecipientList)}");
            }
            return 0;
        });
        return new Command("report", "Reports made from the audit log") { weekly };
    }

    public static Command CreateReviewPack(TextWriter stdout, TextWriter stderr, TimeProvider time)
    {
        var output = new Option<FileInfo?>("--out") { Description = "Write the HTML to this file instead of standard output" };
        var config = ConfigOption();
        var command = new Command("review-pack", "The annual review pack: every group against every category through the live policy, "
            + "the policy in plain English, the year's changes and incidents") { output, config };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (Load(parse.GetValue(config), stderr, time) is not { } context)
            {
                return 2;
            }
            var pack = await context.Review().BuildAsync(cancellationToken);
            var html = ReviewPackHtml.Render(pack, context.Policy.TimeZone);
            var flags = pack.Checks.Flags.ToList();
            var summary = $"review pack: {pack.Checks.Groups.Count} groups x {pack.Checks.Categories.Count} categories; "
                + $"{flags.Count(f => f.Critical)} critical, {flags.Count(f => !f.Critical)} flagged";
            if (parse.GetValue(output) is { } file)
            {
                await File.WriteAllTextAsync(file.FullName, html, cancellationToken);
                stdout.WriteLine(summary + "; written to " + file.FullName);
            }
            else
            {
                stdout.Write(html);
                stderr.WriteLine(summary);
            }
            return 0;
        });
        return command;
    }

    private static Option<FileInfo?> ConfigOption() => new("--config")
    {
        Description = "The service's settings file (appsettings.json); default: the service's own configuration sources, from the current directory",
    };

    /// <summary>What the commands read, from the service's configuration. Null (problems written) when it is not usable.</summary>
    private sealed record Context(IConfiguration Configuration, ServiceOptions Options, ConsoleOptions Console, AlertOptions? Alerts, ReportsOptions Reports,
        PolicySnapshot Policy, bool Inspection, TimeProvider Time)
    {
        /// <summary>console.db if the service has made one (a report never creates it).</summary>
        private ConsoleDatabase? ExistingDatabase() => File.Exists(Console.DatabasePath) ? new ConsoleDatabase(Console.DatabasePath) : null;

        public WeeklyReportBuilder Weekly()
        {
            var db = ExistingDatabase();
            var feeds = Feeds.FeedOptions.Bind(Configuration, Directory.GetCurrentDirectory(), []) is { CacheDirectory: { } cache }
                ? new Feeds.FeedStatusBoard(cache, new NoMeters()).All
                : [];
            return new WeeklyReportBuilder(new ReportSources(() => Policy, Options.Audit.Path, Time, Reports.Weekly,
                db is null ? null : ReportsServiceCollectionExtensions.TryOpen(() => new HeartbeatStore(db)),
                db is null ? null : Incidents(db), db is null ? null : Changes(db), () => feeds));
        }

        public ReviewPackBuilder Review()
        {
            var db = ExistingDatabase();
            return new(() => Policy, Reports.Review, Console.PupilRoles, Inspection, Time,
                db is null ? null : Changes(db), db is null ? null : Incidents(db));
        }

        // The same stores the service reads, on the service's console.db (a report never creates one).
        private Admin.Incidents.IncidentStore Incidents(ConsoleDatabase db) => new(db, Time);

        private static Admin.History.SqliteChangeHistory Changes(ConsoleDatabase db) =>
            new(db, Microsoft.Extensions.Logging.Abstractions.NullLogger<Admin.History.SqliteChangeHistory>.Instance);
    }

    private static Context? Load(FileInfo? settings, TextWriter stderr, TimeProvider time)
    {
        if (settings is { Exists: false })
        {
            stderr.WriteLine($"--config: file '{settings.FullName}' does not exist");
            return null;
        }
        var configuration = ExplainCommand.ServiceConfiguration(settings);
        var root = settings?.DirectoryName ?? Directory.GetCurrentDirectory();
        var problems = new List<string>();
        var alerts = AlertOptions.Bind(configuration, root, problems);
        var reports = ReportsOptions.Bind(configuration, alerts, problems);
        var console = ConsoleOptions.Bind(configuration, root, problems);
        var options = ServiceOptions.Bind(configuration, root, problems);
        if (options is null || reports is null)
        {
            foreach (var p in problems)
            {
                stderr.WriteLine("config: error FS0001: " + p);
            }
            return null;
        }
        var loaded = PolicyLoader.Load(options.Policy.Path);
        if (loaded.Snapshot is not { } policy)
        {
            foreach (var d in loaded.Errors)
            {
                stderr.WriteLine(d);
            }
            stderr.WriteLine("policy rejected; no report");
            return null;
        }
        return new Context(configuration, options, console, alerts, reports, policy, ExplainCommand.HasInspectionCa(settings), time);
    }

    private sealed class NoMeters : System.Diagnostics.Metrics.IMeterFactory
    {
        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
