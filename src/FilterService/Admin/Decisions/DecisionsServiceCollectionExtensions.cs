using System.Diagnostics.Metrics;
using FilterService.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FilterService.Admin.Decisions;

/// <summary>Registers the decision index, its indexer (a hosted service) and the search.</summary>
internal static class DecisionsServiceCollectionExtensions
{
    /// <summary>
    /// <c>Console:DataPath</c> (default <c>&lt;Audit:Path&gt;/console</c>, relative to the content root), where
    /// <c>decisions.db</c> lives beside <c>console.db</c>.
    /// </summary>
    public static string DataPath(IConfiguration configuration, AuditOptions audit, string contentRoot) =>
        configuration["Console:DataPath"] is { Length: > 0 } path
            ? Path.GetFullPath(path, contentRoot)
            : Path.Combine(audit.Path, "console");

    public static IServiceCollection AddDecisions(this IServiceCollection services, IConfiguration configuration, AuditOptions audit, string contentRoot)
    {
        var dataPath = DataPath(configuration, audit, contentRoot);
        var pupilRoles = configuration.GetSection("Console:PupilRoles").Get<string[]>() is { Length: > 0 } roles ? roles : ["pupil"];
        // The console's hosting registers PupilNames too; whichever comes first is the one (the same key file).
        services.TryAddSingleton(_ => new PupilNames(pupilRoles, PupilNames.LoadOrCreateKey(Path.Combine(dataPath, "pupil-names.key"))));
        services.AddSingleton(_ => new DecisionIndexStore(Path.Combine(dataPath, DecisionIndexStore.FileName)));
        services.AddSingleton(sp => new DecisionIndexStatus(sp.GetRequiredService<TimeProvider>(), Path.Combine(dataPath, DecisionIndexStore.FileName),
            sp.GetRequiredService<IMeterFactory>()));
        services.AddSingleton(sp => new DecisionIndexer(sp.GetRequiredService<DecisionIndexStore>(), audit.Path) { Pace = 1.0 });
        services.AddSingleton<DecisionSearch>();
        services.AddHostedService(sp => new DecisionIndexService(sp.GetRequiredService<DecisionIndexer>(), sp.GetRequiredService<DecisionIndexStatus>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<DecisionIndexService>>()));
        return services;
    }
}
