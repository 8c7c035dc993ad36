using FilterService.Admin.Editing;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FilterService.Admin.History;

/// <summary>The change history's services and menu entry; <see cref="ConsoleServiceCollectionExtensions.AddConsole"/> calls <see cref="AddConsoleHistory"/> once.</summary>
internal static class HistoryServiceCollectionExtensions
{
    public static IServiceCollection AddConsoleHistory(this IServiceCollection services)
    {
        services.AddSingleton<SqliteChangeHistory>();
        services.AddSingleton<IChangeHistory>(sp => sp.GetRequiredService<SqliteChangeHistory>());
        services.AddSingleton<HandEditDetector>();
        services.AddHostedService(sp => sp.GetRequiredService<HandEditDetector>());
        services.TryAddSingleton<PolicyWriter>(); // the editing feature's, registered here too in case it is not yet
        services.AddSingleton<HistoryReverter>();
        services.AddConsoleNavigation("History", "/history", ConsolePolicies.Read, 200);
        return services;
    }
}
