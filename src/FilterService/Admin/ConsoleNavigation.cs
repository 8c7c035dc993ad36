using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace FilterService.Admin;

/// <summary>One link of the console's menu: registered by its feature with <see cref="ConsoleNavigationExtensions.AddConsoleNavigation"/>.</summary>
/// <param name="Title">The link's text.</param>
/// <param name="Path">The page's path on the admin endpoint (<c>/history</c>).</param>
/// <param name="Policy">The <see cref="ConsolePolicies"/> policy a viewer needs to see the link (the page must demand it too).</param>
/// <param name="Order">Position in the menu, lowest first (Home is 0; leave gaps: 100, 200, ...).</param>
internal sealed record ConsoleNavigationEntry(string Title, string Path, string Policy, int Order);

internal static class ConsoleNavigationExtensions
{
    /// <summary>
    /// Adds a link to the console's menu (the layout draws every registered link the viewer's role may follow), e.g.
    /// <c>services.AddConsoleNavigation("History", "/history", ConsolePolicies.Read, 200)</c> from a feature's own
    /// ServiceCollection extension. Nobody edits the layout to add a link.
    /// </summary>
    public static IServiceCollection AddConsoleNavigation(this IServiceCollection services, string title, string path, string policy, int order)
    {
        services.AddSingleton(new ConsoleNavigationEntry(title, path, policy, order));
        return services;
    }

    /// <summary>The links <paramref name="user"/> may follow, in menu order.</summary>
    public static async Task<IReadOnlyList<ConsoleNavigationEntry>> VisibleToAsync(this IEnumerable<ConsoleNavigationEntry> entries,
        ClaimsPrincipal user, IAuthorizationService authorization)
    {
        var visible = new List<ConsoleNavigationEntry>();
        foreach (var e in entries.OrderBy(e => e.Order).ThenBy(e => e.Title, StringComparer.Ordinal))
        {
            if ((await authorization.AuthorizeAsync(user, e.Policy)).Succeeded)
            {
                visible.Add(e);
            }
        }
        return visible;
    }
}
