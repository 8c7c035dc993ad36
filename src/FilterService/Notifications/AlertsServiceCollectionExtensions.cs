namespace FilterService.Notifications;

internal static class AlertsServiceCollectionExtensions
{
    /// <summary>Registers the outbox, the recorder the proxy calls, the channels configured in <paramref name="options"/> and the delivery worker.</summary>
    public static IServiceCollection AddAlerts(this IServiceCollection services, AlertOptions options)
    {
        services.AddMetrics();
        services.AddSingleton(options);
        services.AddSingleton(sp => new Outbox(options.Outbox.Path!, sp.GetRequiredService<ILogger<Outbox>>()));
        if (options.EmailEnabled)
        {
            services.AddSingleton<IAlertChannel>(sp => new EmailChannel(options, sp.GetService<TimeProvider>() ?? TimeProvider.System));
        }
        if (options.WebhookEnabled)
        {
            services.AddSingleton<IAlertChannel>(_ => new WebhookChannel(options));
        }
        services.AddSingleton(sp => new AlertStats(sp.GetRequiredService<Outbox>(),
            sp.GetServices<IAlertChannel>().Select(c => c.Name), sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton<IncidentRecorder>();
        services.AddHostedService<DeliveryWorker>();
        return services;
    }
}
