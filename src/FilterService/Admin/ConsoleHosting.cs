using System.Reflection;
using System.Security.Cryptography;
using FilterService.Hosting;

namespace FilterService.Admin;

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

/// <summary>
/// The console's static files (Admin/Assets: one CSS file), embedded in the assembly so the published service, the
/// .deb and the container serve them whatever the working directory. Served at <c>/assets/NAME?v=HASH</c>, cached for
/// a year (the hash in the URL changes with the content).
/// </summary>
internal sealed class ConsoleAssets
{
    private readonly Dictionary<string, (byte[] Bytes, string ContentType, string ETag)> _files = new(StringComparer.Ordinal);

    /// <summary>The URL of an asset with its content hash (<c>/assets/console.css?v=1a2b3c4d</c>).</summary>
    public static string Url(string name) => s_urls.Value.TryGetValue(name, out var url) ? url : "/assets/" + name;

    private static readonly Lazy<Dictionary<string, string>> s_urls = new(() => Load()._files.ToDictionary(f => f.Key[8..], f => f.Key + "?v=" + f.Value.ETag.Trim('"')));

    public static ConsoleAssets Load()
    {
        var result = new ConsoleAssets();
        var assembly = Assembly.GetExecutingAssembly();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("console-assets/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            var bytes = memory.ToArray();
            var name = resource["console-assets/".Length..];
            var type = Path.GetExtension(name) switch { ".css" => "text/css; charset=utf-8", ".js" => "text/javascript; charset=utf-8", ".svg" => "image/svg+xml", _ => "application/octet-stream" };
            result._files["/assets/" + name] = (bytes, type, "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 6)) + "\"");
        }
        return result;
    }

    /// <summary>Serves the asset at the request's path, or returns null to pass the request on.</summary>
    public Task? TryServeAsync(HttpContext context)
    {
        if (!(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)) || !_files.TryGetValue(context.Request.Path.Value ?? "", out var file))
        {
            return null;
        }
        context.Response.Headers.ETag = file.ETag;
        context.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        if (context.Request.Headers.IfNoneMatch == file.ETag)
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        context.Response.ContentType = file.ContentType;
        context.Response.ContentLength = file.Bytes.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.Body.WriteAsync(file.Bytes).AsTask();
    }
}
