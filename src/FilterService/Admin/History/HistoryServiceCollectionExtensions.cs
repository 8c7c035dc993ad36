namespace FilterService.Admin.History;

/// <summary>The change history's services; the console's hosting calls <see cref="AddChangeHistory"/> once (it registers <see cref="ConsoleDatabase"/>).</summary>
internal static class HistoryServiceCollectionExtensions
{
    public static IServiceCollection AddChangeHistory(this IServiceCollection services)
    {
        services.AddSingleton<SqliteChangeHistory>();
        services.AddSingleton<IChangeHistory>(sp => sp.GetRequiredService<SqliteChangeHistory>());
        return services;
    }
}
