using System.Security.Cryptography;
using FilterService.Admin;

namespace FilterService.Hosting;

/// <summary>
/// The admin endpoint's pipeline: <c>/metrics</c> and <c>/health</c> exactly as before (no sign-in), then the console
/// (static assets, routing, cookie authentication, authorisation, Razor Pages). Built once as its own request delegate
/// and called by the service's one terminal delegate for requests that came in on an admin listener, so a proxy request
/// never meets any of it (ProxyHost).
/// </summary>
internal static class ConsoleHosting
{
    // WebApplication adds these middlewares to the main pipeline (the proxy's) when their services are registered,
    // unless these markers say they are in place; they are, in the console's branch.
    private static readonly string[] MiddlewareMarkers = ["__AuthenticationMiddlewareSet", "__AuthorizationMiddlewareSet", "__AntiforgeryMiddlewareSet"];

    public static RequestDelegate Build(WebApplication app, AdminEndpoint endpoint)
    {
        try
        {
            app.Services.GetRequiredService<ConsoleOptions>().EnsureDataPath(); // owner-only, before the cookie keys are written into it
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            app.Logger.LogError("console: cannot create Console:DataPath: {Problem}; sign-in will fail until it can", e.Message);
        }
        IApplicationBuilder root = app;
        var branch = root.New();
        // Endpoints of the branch stay in the branch: with the global route builder, WebApplication would put routing in front of the proxy too.
        branch.Properties.Remove("__GlobalEndpointRouteBuilder");
        foreach (var marker in MiddlewareMarkers)
        {
            root.Properties[marker] = true;
        }
        branch.Use(next => context => context.Request.Path == "/metrics" || context.Request.Path == "/health" ? endpoint.InvokeAsync(context) : next(context));
        branch.Use(next => context =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
            headers["Referrer-Policy"] = "same-origin";
            return next(context);
        });
        var assets = ConsoleAssets.Load();
        branch.Use(next => context => assets.TryServeAsync(context) ?? next(context));
        branch.UseRouting();
        branch.UseAuthentication();
        branch.UseAuthorization();
        branch.UseEndpoints(e => e.MapRazorPages());
        branch.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        return branch.Build();
    }
}
