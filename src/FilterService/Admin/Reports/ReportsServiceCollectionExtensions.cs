using FilterService.Admin.History;
using FilterService.Admin.Incidents;
using FilterService.Audit;
using FilterService.Feeds;
using FilterService.Identity;
using FilterService.Notifications;
using FilterService.Policy;
using FilterService.Settings;

namespace FilterService.Admin.Reports;

/// <summary>
/// Registers the weekly report and the review pack (issue 19), on the console's console.db and options: the heartbeat
/// writer, the report builder, the review pack builder and, when <c>Reports:Weekly:Recipients</c> is set, the scheduled email. The incident store and the change
/// history are read through <see cref="IIncidentReader"/> and <see cref="IChangeHistory"/> when the console registers
/// them; without them those sections say they are not available.
/// </summary>
internal static class ReportsServiceCollectionExtensions
{
    public static IServiceCollection AddReports(this IServiceCollection services, IConfiguration configuration, ServiceOptions options,
        AlertOptions? alerts, ReportsOptions reports)
    {
        services.AddSingleton(reports.Weekly);
        services.AddSingleton<ReportMetrics>();
        services.AddHostedService(sp => new HeartbeatWriter(() => new HeartbeatStore(sp.GetRequiredService<ConsoleDatabase>()), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<AuditLog>(), sp.GetService<LdapDirectory>(), sp.GetRequiredService<ILogger<HeartbeatWriter>>(),
            sp.GetRequiredService<ReportMetrics>()));
        services.AddSingleton(sp => new WeeklyReportBuilder(new ReportSources(
            () => sp.GetRequiredService<PolicyStore>().Current,
            options.Audit.Path,
            sp.GetRequiredService<TimeProvider>(),
            reports.Weekly,
            TryOpen(() => new HeartbeatStore(sp.GetRequiredService<ConsoleDatabase>())),
            sp.GetService<IIncidentReader>(),
            sp.GetService<IChangeHistory>(),
            () => sp.GetService<FeedStatusBoard>()?.All ?? [])));
        services.AddSingleton(sp => new ReviewPackBuilder(() => sp.GetRequiredService<PolicyStore>().Current, reports.Review,
            sp.GetRequiredService<ConsoleOptions>().PupilRoles,
            sp.GetService<Proxy.InspectionAuthority>() is not null, sp.GetRequiredService<TimeProvider>(),
            sp.GetService<IChangeHistory>(), sp.GetService<IIncidentReader>()));
        if (alerts is { EmailEnabled: true })
        {
            services.AddSingleton(sp => new WeeklyReportMailer(alerts, reports.Weekly, sp.GetRequiredService<TimeProvider>()));
            if (reports.Weekly.RecipientList.Count > 0)
            {
                services.AddSingleton<WeeklyReportScheduler>();
                services.AddHostedService(sp => sp.GetRequiredService<WeeklyReportScheduler>());
            }
        }
        return services;
    }

    /// <summary>The console's menu entries (one line in the console's feature list, ConsoleServiceCollectionExtensions).</summary>
    public static IServiceCollection AddConsoleReports(this IServiceCollection services) => services
        .AddConsoleNavigation("Weekly report", "/reports/weekly", ConsolePolicies.Read, 500)
        .AddConsoleNavigation("Review pack", "/reports/review", ConsolePolicies.Read, 510);

    /// <summary>The store, or null when console.db cannot be opened (the report then says the heartbeat is not known).</summary>
    internal static HeartbeatStore? TryOpen(Func<HeartbeatStore> open)
    {
        try
        {
            return open();
        }
        catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
