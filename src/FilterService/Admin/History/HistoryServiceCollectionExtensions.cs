
namespace FilterService.Admin.History;

/// <summary>The change history's services and menu entry; the console's AddConsole (Hosting) calls <see cref="AddConsoleHistory"/> once.</summary>
internal static class HistoryServiceCollectionExtensions
{
    public static IServiceCollection AddConsoleHistory(this IServiceCollection services)
    {
        services.AddSingleton<SqliteChangeHistory>();
        services.AddSingleton<IChangeHistory>(sp => sp.GetRequiredService<SqliteChangeHistory>());
        services.AddSingleton<HandEditDetector>();
        services.AddHostedService(sp => sp.GetRequiredService<HandEditDetector>());
        services.AddConsoleNavigation("History", "/history", ConsolePolicies.Read, 200);
        return services;
    }
}
