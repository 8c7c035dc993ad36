using FilterService.Notifications;

namespace FilterService.Admin.Incidents;

internal static class IncidentsServiceCollectionExtensions
{
    /// <summary>
    /// The DSL's inbox (issue 19): the store in console.db (<see cref="IIncidentReader"/> for reports), the ingester that
    /// feeds it from the alert outbox (AddAlerts registers the outbox and the recorder), its status for /health and
    /// metrics, the page links alerts carry, and the menu entry.
    /// </summary>
    public static IServiceCollection AddConsoleIncidents(this IServiceCollection services)
    {
        services.AddSingleton(new IncidentOptions());
        services.AddSingleton(sp => new IncidentLinks(sp.GetRequiredService<ConsoleOptions>().PublicUrl));
        // The database is opened on first use, not at start: a console.db that cannot be opened must not stop the proxy.
        services.AddSingleton(sp => new IncidentStore(() => sp.GetRequiredService<ConsoleDatabase>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IIncidentReader>(sp => sp.GetRequiredService<IncidentStore>());
        services.AddSingleton<IncidentIngestStatus>();
        services.AddHostedService<IncidentIngester>();
        services.AddConsoleNavigation("Incidents", "/incidents", ConsolePolicies.Read, 300);
        return services;
    }
}
