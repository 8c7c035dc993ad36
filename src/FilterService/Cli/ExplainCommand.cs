using System.CommandLine;
using System.Net;
using System.Text.Json;
using NodaTime;
using System.Globalization;
using System.Text.Encodings.Web;
using PolicyModel.Decisions;
using PolicyModel.Documents;
using PolicyModel.Matching;

namespace FilterService.Cli;

/// <summary>
/// <c>explain</c>: "why was this blocked?" Runs the same engine as the proxy on one request and prints the
/// decision with its reason, when it next changes and the trace of rules tried.
/// </summary>
internal static class ExplainCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var policy = new Option<DirectoryInfo>("--policy") { Description = "The policy directory", Required = true };
        var user = new Option<string?>("--user") { Description = "The signed-in user, if any" };
        var ip = new Option<string>("--ip") { Description = "The client address", Required = true };
        var at = new Option<string>("--at")
        {
            Description = "ISO 8601 time: with an offset or Z an instant, without one local time in the policy's zone",
            Required = true,
        };
        var url = new Option<string>("--url") { Description = "The URL, or host:port for a CONNECT tunnel", Required = true };
        var method = new Option<string?>("--method") { Description = "HTTP method (default GET; CONNECT for host:port)" };
        var json = new Option<bool>("--json") { Description = "Print exactly one JSON object" };
        var command = new Command("explain", "Decide one request and explain why") { policy, user, ip, at, url, method, json };
        command.SetAction(parse =>
        {
            var request = new ExplainRequest(
                parse.GetValue(policy)!.FullName, parse.GetValue(user), parse.GetValue(ip)!, parse.GetValue(at)!,
                parse.GetValue(url)!, parse.GetValue(method));
            return Run(request, parse.GetValue(json), stdout, stderr);
        });
        return command;
    }

    private sealed record ExplainRequest(string Policy, string? User, string Ip, string At, string Url, string? Method);

    private static int Run(ExplainRequest input, bool json, TextWriter stdout, TextWriter stderr)
    {
        var result = PolicyLoader.Load(input.Policy);
        if (result.Snapshot is not { } snapshot)
        {
            foreach (var d in result.Errors)
            {
                stderr.WriteLine(d);
            }

            stderr.WriteLine("policy rejected; nothing to explain");
            return 1;
        }

        if (!IPAddress.TryParse(input.Ip, out var address))
        {
            stderr.WriteLine($"--ip: '{input.Ip}' is not an IP address");
            return 2;
        }

        if (ParseTime(input.At, snapshot.TimeZone) is not { } instant)
        {
            stderr.WriteLine($"--at: '{input.At}' is not an ISO 8601 date-time (2026-11-23T10:00, 2026-11-23T10:00:00Z, 2026-11-23T10:00+00:00)");
            return 2;
        }

        if (ParseTarget(input.Url, input.Method) is not { } target)
        {
            stderr.WriteLine($"--url: '{input.Url}' is not an http(s) URL or host:port");
            return 2;
        }

        if (input.User is not null && snapshot.FindUser(input.User) is null)
        {
            stderr.WriteLine($"--user: '{input.User}' is not in the policy's user directory");
            return 2;
        }

        var request = new FilterRequest(address, input.User, target.Method, target.Scheme, target.Host, target.Port, target.PathAndQuery, instant.ToDateTimeOffset());
        var decision = snapshot.Decide(request, withTrace: true);
        if (json)
        {
            WriteJson(stdout, decision, snapshot.TimeZone, snapshot.Version, request.PathAndQuery);
        }
        else
        {
            WriteText(stdout, request, decision, snapshot.TimeZone);
        }

        return 0;
    }

    /// <summary>
    /// ISO 8601. With <c>Z</c> or an offset it is an instant; without, local time in the policy's zone, where a time in
    /// the spring DST gap becomes the instant the clocks jump to and one in the autumn overlap the earlier of the two.
    /// </summary>
    internal static Instant? ParseTime(string text, DateTimeZone zone)
    {
        var t = text.IndexOf('T');
        if (t < 0)
        {
            return null;
        }

        var time = text.AsSpan(t);
        var hasOffset = time.EndsWith("Z", StringComparison.OrdinalIgnoreCase) || time.LastIndexOfAny('+', '-') > 0;
        if (hasOffset)
        {
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant)
                ? Instant.FromDateTimeOffset(instant)
                : null;
        }

        if (!DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return null;
        }

        return zone.ResolveLocal(LocalDateTime.FromDateTime(local), NodaTime.TimeZones.Resolvers.LenientResolver).ToInstant();
    }

    internal sealed record Target(string Method, string Scheme, string Host, int Port, string PathAndQuery);

    internal static Target? ParseTarget(string url, string? method)
    {
        if (url.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            {
                return null;
            }

            var host = HostName.Normalize(uri.IdnHost);
            return host is null ? null : new Target((method ?? "GET").ToUpperInvariant(), uri.Scheme, host, uri.Port, uri.PathAndQuery);
        }

        // host:port, as in a CONNECT line.
        var colon = url.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(url.AsSpan(colon + 1), out var port) || port is <= 0 or > 65535)
        {
            return null;
        }

        var tunnelHost = HostName.Normalize(url.AsSpan(0, colon));
        return tunnelHost is null ? null : new Target((method ?? "CONNECT").ToUpperInvariant(), "https", tunnelHost, port, string.Empty);
    }

    private static void WriteJson(TextWriter stdout, Decision d, DateTimeZone zone, string version, string pathAndQuery)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("action", d.Action == DecisionAction.Allow ? "allow" : "block");
            w.WriteString("rule", d.Rule);
            w.WriteString("category", d.Category);
            w.WriteString("list", d.List);
            w.WriteString("entry", d.Entry);
            w.WriteString("reason", d.Reason);
            if (d.Until is { } until)
            {
                w.WriteString("until", until.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"));
                w.WriteString("until_local", Instant.FromDateTimeOffset(until).InZone(zone).ToOffsetDateTime().ToString("uuuu-MM-dd'T'HH:mm:sso<G>", null));
            }
            else
            {
                w.WriteNull("until");
            }

            w.WriteBoolean("alert", d.Alert);
            w.WriteString("severity", d.Severity.ToString().ToLowerInvariant());
            w.WriteString("user", d.Identity.User);
            w.WriteStartArray("roles");
            foreach (var r in d.Identity.Roles)
            {
                w.WriteStringValue(r);
            }

            w.WriteEndArray();
            w.WriteString("network", d.Identity.Network);
            w.WriteString("path", UrlPath.Canonicalize(pathAndQuery));
            w.WriteString("policy_version", version);
            w.WriteStartArray("trace");
            foreach (var step in d.Trace)
            {
                w.WriteStartObject();
                w.WriteString("step", step.Step);
                w.WriteBoolean("matched", step.Matched);
                w.WriteString("detail", step.Detail);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        stdout.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static void WriteText(TextWriter o, FilterRequest request, Decision d, DateTimeZone zone)
    {
        var target = request.PathAndQuery.Length == 0 ? $"{request.Host}:{request.Port}" : $"{request.Scheme}://{request.Host}{request.PathAndQuery}";
        o.WriteLine($"{(d.IsBlocked ? "BLOCKED" : "ALLOWED")}  {request.Method} {target}");
        var judged = UrlPath.Canonicalize(request.PathAndQuery);
        if (judged != request.PathAndQuery)
        {
            o.WriteLine($"  path:     judged as {judged} (the canonical form that lists and paths: rules match; sent as written)");
        }

        o.WriteLine($"  reason:   {d.Reason}");
        o.WriteLine($"  decided:  {d.Rule}{(d.Category is null ? "" : $" (category {d.Category})")}");
        if (d.List is not null)
        {
            o.WriteLine($"  matched:  {d.Entry} in {d.List}");
        }

        var who = d.Identity.User is null ? "no signed-in user" : $"{d.Identity.User}{(d.Identity.DisplayName is null ? "" : $" ({d.Identity.DisplayName})")}";
        var roles = d.Identity.Roles.IsDefaultOrEmpty ? "no roles" : "roles " + string.Join(", ", d.Identity.Roles);
        o.WriteLine($"  who:      {who}, {roles}, network {d.Identity.Network ?? "(none)"}, address {request.Client}");
        var when = Instant.FromDateTimeOffset(request.At).InZone(zone);
        o.WriteLine($"  at:       {when:uuuu-MM-dd HH:mm:ss} {zone.Id} ({when.ToInstant():uuuu-MM-dd'T'HH:mm:ss'Z'})");
        if (d.Until is { } until)
        {
            var local = Instant.FromDateTimeOffset(until).InZone(zone);
            o.WriteLine($"  changes:  {(d.IsBlocked ? "allowed" : "blocked")} from {local:dddd uuuu-MM-dd HH:mm} {zone.Id}");
        }
        else
        {
            o.WriteLine("  changes:  never (no schedule or exception affects this answer)");
        }

        o.WriteLine($"  alert:    {(d.Alert ? d.Severity.ToString().ToLowerInvariant() : "no")}");
        o.WriteLine("  trace:");
        foreach (var step in d.Trace)
        {
            o.WriteLine($"    {(step.Matched ? "->" : "  ")} {step.Step}: {step.Detail}");
        }
    }
}
