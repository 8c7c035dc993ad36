using System.Diagnostics.Metrics;
using FilterService.Hosting;
using FilterService.Audit;

namespace FilterService.Admin.Decisions;

/// <summary>Registers the decision index, its indexer (a hosted service), the search and the menu entry.</summary>
internal static class DecisionsServiceCollectionExtensions
{
    /// <summary><c>decisions.db</c> in <c>Console:DataPath</c>, beside <c>console.db</c>.</summary>
    public static string IndexPath(ConsoleOptions console) => Path.Combine(console.DataPath, DecisionIndexStore.FileName);

    public static IServiceCollection AddConsoleDecisions(this IServiceCollection services)
    {
        services.AddSingleton(sp => new DecisionIndexStore(IndexPath(sp.GetRequiredService<ConsoleOptions>())));
        services.AddSingleton(sp => new DecisionIndexStatus(sp.GetRequiredService<TimeProvider>(), IndexPath(sp.GetRequiredService<ConsoleOptions>()),
            sp.GetRequiredService<IMeterFactory>()));
        services.AddSingleton(sp => new DecisionIndexer(sp.GetRequiredService<DecisionIndexStore>(), sp.GetRequiredService<AuditOptions>().Path) { Pace = 1.0, Time = sp.GetRequiredService<TimeProvider>() });
        services.AddSingleton<DecisionSearch>();
        services.AddHostedService(sp => new DecisionIndexService(sp.GetRequiredService<DecisionIndexer>(), sp.GetRequiredService<DecisionIndexStatus>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<DecisionIndexService>>()));
        services.AddConsoleNavigation("Decisions", "/decisions", ConsolePolicies.Read, 300);
        return services;
    }
}
