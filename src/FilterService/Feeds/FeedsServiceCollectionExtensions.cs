using FilterService.Policy;
using FilterService.Settings;

namespace FilterService.Feeds;

internal static class FeedsServiceCollectionExtensions
{
    /// <summary>The feed updater, its fetcher and its status board (state in <c>Feeds:CacheDirectory</c>, default <c>Audit:Path/feeds</c>).</summary>
    public static IServiceCollection AddFeeds(this IServiceCollection services, FeedOptions feeds, ServiceOptions options)
    {
        feeds.CacheDirectory ??= Path.Combine(options.Audit.Path, "feeds");
        services.AddSingleton(feeds);
        services.AddSingleton(sp => new FeedStatusBoard(feeds.CacheDirectory, sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton(sp => new FeedFetcher(feeds, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new FeedUpdater(sp.GetRequiredService<PolicyStore>(), sp.GetRequiredService<FeedFetcher>(), sp.GetRequiredService<FeedStatusBoard>(), feeds,
            new StatutoryGuard(options.Policy.StatutoryShrinkFraction, options.Policy.StatutoryMinEntries, options.Audit.Path),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<FeedUpdater>>()));
        services.AddHostedService(sp => sp.GetRequiredService<FeedUpdater>());
        return services;
    }
}
