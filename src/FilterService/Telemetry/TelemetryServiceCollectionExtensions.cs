using FilterService.Audit;

namespace FilterService.Telemetry;

internal static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// The metrics class (also an <see cref="IDecisionObserver"/> beside the audit log) and the bridge to prometheus-net.
    /// Both are resolved while the host is built, before traffic, so no measurement is missed.
    /// </summary>
    public static IServiceCollection AddTelemetry(this IServiceCollection services)
    {
        services.AddMetrics();
        // The bridge's listener must exist before FilterMetrics counts anything (the start load is counted in its constructor).
        services.AddSingleton(sp =>
        {
            sp.GetRequiredService<PrometheusBridge>();
            return ActivatorUtilities.CreateInstance<FilterMetrics>(sp);
        });
        services.AddSingleton<IDecisionObserver>(sp => sp.GetRequiredService<FilterMetrics>());
        services.AddSingleton<PrometheusBridge>();
        return services;
    }
}
