using FilterService.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FilterService.Admin.Incidents;

internal static class IncidentsServiceCollectionExtensions
{
    /// <summary>
    /// The DSL's inbox (issue 19): the store in console.db (<see cref="IIncidentReader"/> for reports), the ingester that
    /// feeds it from the alert outbox, its status for /health and metrics, and the page links alerts carry. Needs
    /// AddAlerts first (the outbox and the recorder).
    /// </summary>
    public static IServiceCollection AddIncidents(this IServiceCollection services, IncidentOptions options, AuditOptions audit)
    {
        services.AddSingleton(options);
        services.AddSingleton(new IncidentLinks(options.PublicUrl));
        var dataPath = options.DataPath ?? Path.Combine(audit.Path, "console");
        services.TryAddSingleton(_ => new ConsoleDatabase(Path.Combine(dataPath, "console.db")));
        services.AddSingleton(sp => new IncidentStore(() => sp.GetRequiredService<ConsoleDatabase>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IIncidentReader>(sp => sp.GetRequiredService<IncidentStore>());
        services.AddSingleton<IncidentIngestStatus>();
        services.AddHostedService<IncidentIngester>();
        return services;
    }
}
