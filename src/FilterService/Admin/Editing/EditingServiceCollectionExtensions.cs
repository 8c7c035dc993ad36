using FilterService.Admin.History;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FilterService.Admin.Editing;

/// <summary>The policy editing services and the console's Policy link; the console's hosting calls <see cref="AddConsoleEditing"/> once.</summary>
internal static class EditingServiceCollectionExtensions
{
    public static IServiceCollection AddConsoleEditing(this IServiceCollection services)
    {
        // The writer records into the change history; registered here too in case the history's own line is not (yet).
        services.TryAddSingleton<SqliteChangeHistory>();
        services.TryAddSingleton<IChangeHistory>(sp => sp.GetRequiredService<SqliteChangeHistory>());
        services.AddSingleton<PolicyWriter>();
        services.AddSingleton<ListEditor>();
        services.AddSingleton<ExceptionEditor>();
        services.AddSingleton<ScheduleEditor>();
        services.AddSingleton<RuleEditor>();
        services.AddSingleton<HistoryReverter>(); // a revert is an edit: the history's page asks the editor for it
        services.AddConsoleNavigation("Policy", "/policy", ConsolePolicies.Read, 100);
        return services;
    }
}
