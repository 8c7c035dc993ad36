using FilterService.Audit;

namespace FilterService.Telemetry;

internal static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// The metrics class (also an <see cref="IDecisionObserver"/> beside the audit log) and the Prometheus exporter.
    /// Both are resolved while the host is built, before traffic, so no measurement is missed.
    /// </summary>
    public static IServiceCollection AddTelemetry(this IServiceCollection services)
    {
        services.AddMetrics();
        services.AddSingleton<FilterMetrics>();
        services.AddSingleton<IDecisionObserver>(sp => sp.GetRequiredService<FilterMetrics>());
        services.AddSingleton<PrometheusExporter>();
        return services;
    }
}
