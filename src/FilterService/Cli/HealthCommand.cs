using System.CommandLine;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using FilterService.Settings;

namespace FilterService.Cli;

/// <summary>
/// <c>health [--url URL] [--timeout SECONDS]</c>: asks the running service's admin endpoint for <c>/health</c>, prints
/// its status, and exits 0 when it is "ok", 1 otherwise (degraded, or no answer). The container image's HEALTHCHECK runs
/// it: the .NET chiseled images have no shell and no curl. Without --url it asks where the service listens, read from
/// the same settings the service reads (appsettings.json in the content root, environment variables), a wildcard
/// address asked on loopback.
/// </summary>
internal static class HealthCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var url = new Option<string>("--url") { Description = "The health URL (default: http://ADMIN-LISTEN/health from the service's settings)" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the answer", DefaultValueFactory = _ => 5 };
        var command = new Command("health", "Ask the running service for /health: exit 0 if it is ok, 1 if degraded or not answering") { url, timeout };
        command.SetAction((parse, cancel) => RunAsync(parse.GetValue(url), parse.GetValue(timeout), stdout, stderr, cancel));
        return command;
    }

    private static async Task<int> RunAsync(string? given, int timeoutSeconds, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (given is not null && !(Uri.TryCreate(given, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https"))
        {
            stderr.WriteLine($"error FS0010: --url '{given}' is not an http:// or https:// URL");
            return 1;
        }
        var url = given is null ? DefaultUrl(stderr) : new Uri(given);
        if (url is null)
        {
            return 1;
        }
        // Straight to the service: never through an HTTP_PROXY from the environment (a filter's host may well set one).
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(Math.Clamp(timeoutSeconds, 1, 300)) };
        try
        {
            using var response = await client.GetAsync(url, cancel);
            var body = await response.Content.ReadAsStringAsync(cancel);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                stderr.WriteLine($"error FS0010: {url} answered {(int)response.StatusCode} {response.ReasonPhrase}, not 200");
                return 1;
            }
            var root = JsonDocument.Parse(body).RootElement;
            var status = root.TryGetProperty("status", out var s) ? s.GetString() : null;
            var version = root.TryGetProperty("policy", out var p) && p.TryGetProperty("version", out var v) ? v.GetString() : "?";
            if (status == "ok")
            {
                stdout.WriteLine($"ok: policy {version} ({url})");
                return 0;
            }
            var problems = root.TryGetProperty("problems", out var list) && list.ValueKind == JsonValueKind.Array
                ? string.Join("; ", list.EnumerateArray().Select(e => e.GetString()))
                : "";
            stdout.WriteLine($"{status ?? "unknown"}: {(problems.Length > 0 ? problems : "see " + url)}");
            return 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            var why = e is TaskCanceledException ? $"no answer in {timeoutSeconds} s" : e.Message;
            stderr.WriteLine($"error FS0010: {url}: {why}");
            return 1;
        }
    }

    /// <summary>The first Admin:Listen address the service would bind, as a URL; null (and why, on stderr) when the admin endpoint is off or the setting is bad.</summary>
    private static Uri? DefaultUrl(TextWriter stderr)
    {
        // The service's own configuration sources and content root (DOTNET_CONTENTROOT), so the answer is where it listens.
        var configuration = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] }).Configuration;
        var errors = new List<string>();
        var listen = ServiceOptions.ReadAdminListen(configuration, errors);
        if (errors.Count > 0)
        {
            stderr.WriteLine($"config: error FS0001: {errors[0]}");
            return null;
        }
        if (listen.Count == 0)
        {
            stderr.WriteLine("error FS0010: the admin endpoint is off (Admin:Listen is empty): there is no /health to ask; give --url");
            return null;
        }
        var ep = listen[0];
        var address = ep.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : ep.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : ep.Address;
        return new Uri($"http://{new IPEndPoint(address, ep.Port)}/health");
    }
}
