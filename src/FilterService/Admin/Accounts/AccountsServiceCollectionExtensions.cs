namespace FilterService.Admin.Accounts;

internal static class AccountsServiceCollectionExtensions
{
    /// <summary>The accounts store and the Accounts page (list for every role; changes for ict-manager; own password for all).</summary>
    public static IServiceCollection AddConsoleAccounts(this IServiceCollection services)
    {
        services.AddSingleton<AccountStore>();
        services.AddConsoleNavigation("Accounts", "/accounts", ConsolePolicies.Read, 900);
        return services;
    }
}
