using System.Reflection;
using System.Security.Cryptography;

namespace FilterService.Admin;

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
