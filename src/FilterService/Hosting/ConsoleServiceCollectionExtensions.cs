using FilterService.Admin;
using FilterService.Admin.Accounts;
using FilterService.Admin.Editing;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;

namespace FilterService.Hosting;

/// <summary>
/// Registers the console: its options, console.db, <see cref="PupilNames"/>, <see cref="PolicyDirectoryGate"/>, the
/// accounts, cookie sign-in, the authorisation policies of <see cref="ConsolePolicies"/>, antiforgery and Razor Pages
/// (root <c>/Admin/Pages</c>), then every feature (the marked list below). The pipeline is built by
/// <see cref="ConsoleHosting"/>, only for requests on an admin listener.
/// </summary>
internal static class ConsoleServiceCollectionExtensions
{
    public static IServiceCollection AddConsole(this IServiceCollection services, ConsoleOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(options.Lockout);
        services.AddSingleton(_ =>
        {
            options.EnsureDataPath();
            return new ConsoleDatabase(options.DatabasePath);
        });
        services.AddSingleton(_ =>
        {
            options.EnsureDataPath();
            return new PupilNames(options.PupilRoles, PupilNames.LoadOrCreateKey(options.PseudonymKeyPath));
        });
        services.AddSingleton<PolicyDirectoryGate>();
        services.AddSingleton<ConsoleAudit>();

        // Sign-in cookies survive a restart: their keys live beside console.db (owner-only directory, docs/console.md).
        services.AddDataProtection().SetApplicationName("FilterService.Console");
        services.Configure<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>(o => o.XmlRepository = new CookieKeyRepository(options.CookieKeysPath));
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(ConsoleAuthentication.Configure);
        services.AddAuthorization(o =>
        {
            o.AddPolicy(ConsolePolicies.Read, p => p.RequireAuthenticatedUser().RequireRole(ConsoleRoles.All));
            o.AddPolicy(ConsolePolicies.EditPolicy, p => p.RequireAuthenticatedUser().RequireRole(ConsoleRoles.IctManager));
            o.AddPolicy(ConsolePolicies.ManageIncidents, p => p.RequireAuthenticatedUser().RequireRole(ConsoleRoles.Dsl));
        });
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "filter-console-antiforgery";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__RequestVerificationToken";
        });
        services.AddRazorPages(o =>
        {
            o.RootDirectory = "/Admin/Pages";
            // Every page needs a signed-in admin unless it says otherwise (sign-in itself); POST handlers demand their own policy.
            o.Conventions.AuthorizeFolder("/", ConsolePolicies.Read);
            o.Conventions.AllowAnonymousToPage("/SignIn");
        }).ConfigureApplicationPartManager(parts =>
        {
            // The pages are compiled into this assembly; when another one is the entry assembly (the service built
            // inside a test host) it is not discovered by default.
            var assembly = typeof(ConsoleHosting).Assembly;
            if (!parts.ApplicationParts.Any(p => p.Name == assembly.GetName().Name))
            {
                foreach (var part in Microsoft.AspNetCore.Mvc.ApplicationParts.ApplicationPartFactory.GetApplicationPartFactory(assembly).GetApplicationParts(assembly))
                {
                    parts.ApplicationParts.Add(part);
                }
            }
        });
        services.AddConsoleNavigation("Home", "/", ConsolePolicies.Read, 0);

        // ---- Console features: one line each, in menu order (each registers its services and its menu entry). ----
        services.AddConsoleAccounts();       // Admin/Accounts: accounts page, own password
        services.AddConsoleEditing();      // Admin/Editing/EditingServiceCollectionExtensions.cs: /policy and its pages
        Admin.History.HistoryServiceCollectionExtensions.AddConsoleHistory(services);
        Admin.Simulator.SimulatorServiceCollectionExtensions.AddSimulator(services);
        Admin.Decisions.DecisionsServiceCollectionExtensions.AddConsoleDecisions(services); // the decision index, search and live view (Admin/Decisions)
        Admin.Incidents.IncidentsServiceCollectionExtensions.AddConsoleIncidents(services); // issue 19: the DSL's inbox
        Admin.Reports.ReportsServiceCollectionExtensions.AddConsoleReports(services); // (Admin/Reports/ReportsServiceCollectionExtensions.cs; services: ProxyHost, AddReports)
        // ---- end of console features ----
        return services;
    }
}
