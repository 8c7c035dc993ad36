using System.CommandLine;
using System.Net;
using System.Text.Json;
using NodaTime;
using System.Globalization;
using System.Text.Encodings.Web;
using PolicyModel.Decisions;
using PolicyModel.Documents;
using PolicyModel.Matching;
using FilterService.Hosting;
using FilterService.Proxy;
using Microsoft.Extensions.Configuration;

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
        var inspectionCa = new Option<bool?>("--inspection-ca")
        {
            Description = "Answer as a proxy with (true) or without (false) a TLS inspection CA. Default: as the service's configuration says (Proxy:InspectionCaCertificate)",
        };
        var config = new Option<FileInfo?>("--config")
        {
            Description = "The service's settings file (appsettings.json) to read Proxy:InspectionCaCertificate from; default: the service's own configuration sources, from the current directory",
        };
        var command = new Command("explain", "Decide one request as the proxy would and explain why") { policy, user, ip, at, url, method, json, inspectionCa, config };
        command.SetAction(parse =>
        {
            var request = new ExplainRequest(
                parse.GetValue(policy)!.FullName, parse.GetValue(user), parse.GetValue(ip)!, parse.GetValue(at)!,
                parse.GetValue(url)!, parse.GetValue(method));
            if (parse.GetValue(config) is { Exists: false } missing)
            {
                stderr.WriteLine($"--config: file '{missing.FullName}' does not exist");
                return 2;
            }
            bool inspection = parse.GetValue(inspectionCa) ?? HasInspectionCa(parse.GetValue(config));
            return Run(request, inspection, parse.GetValue(json), stdout, stderr, () => ServiceConfiguration(parse.GetValue(config)));
        });
        return command;
    }

    private sealed record ExplainRequest(string Policy, string? User, string Ip, string At, string Url, string? Method);

    /// <summary>Where the proxy makes the decision for a request (<c>decided_on</c>).</summary>
    internal enum DecidedOn
    {
        /// <summary>On the host alone, when the CONNECT arrives: a host:port, or an https URL whose tunnel is not inspected.</summary>
        ConnectHost,
        /// <summary>On the whole URL: plain http, or a request inside an inspected tunnel.</summary>
        Url,
    }

    /// <summary>
    /// Whether the service, configured as it would be started from here, has an inspection CA: the same sources it reads
    /// (appsettings.json and appsettings.{Environment}.json in the current directory, environment variables such as
    /// <c>Proxy__InspectionCaCertificate</c>), or <paramref name="settingsFile"/> and the environment. In the Development
    /// environment (the quick start) the service makes and uses its own CA when none is configured
    /// (<see cref="QuickStartCa"/>), so it has one then too.
    /// </summary>
    /// <summary>The service's settings as it would read them from here, or from <paramref name="settingsFile"/> and the environment.</summary>
    internal static IConfiguration ServiceConfiguration(FileInfo? settingsFile) => settingsFile is null
        ? Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder().Configuration
        : new ConfigurationBuilder().AddJsonFile(settingsFile.FullName, optional: false).AddEnvironmentVariables().Build();

    internal static bool HasInspectionCa(FileInfo? settingsFile)
    {
        var service = settingsFile is null ? Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder() : null;
        IConfiguration configuration = service?.Configuration
            ?? new ConfigurationBuilder().AddJsonFile(settingsFile!.FullName, optional: false).AddEnvironmentVariables().Build();
        return !string.IsNullOrEmpty(configuration["Proxy:InspectionCaCertificate"])
            || (service is not null && service.Environment.IsDevelopment() && configuration["Proxy:QuickStartCaDirectory"] is not "");
    }

    /// <summary>
    /// The request the proxy actually decides for <paramref name="asked"/>, and on what. An https URL reaches the proxy as
    /// <c>CONNECT host:port</c>: the tunnel is judged by <see cref="ConnectMiddleware.Judge"/>, the proxy's own judgement,
    /// and only an inspected tunnel (an inspection CA, a host whose rules need methods or paths) has its requests decided
    /// on the URL; otherwise the host at CONNECT is all the proxy sees.
    /// </summary>
    internal static (FilterRequest Decided, DecidedOn On) AsTheProxyWould(PolicySnapshot snapshot, FilterRequest asked, bool inspection)
    {
        if (asked.PathAndQuery.Length == 0)
        {
            return (asked, DecidedOn.ConnectHost);
        }
        if (asked.Scheme != "https")
        {
            return (asked, DecidedOn.Url);
        }
        var judged = ConnectMiddleware.Judge(snapshot, asked.Client, asked.User, Authority.Format(asked.Host, asked.Port), asked.At,
            new ProxyOptions(), inspection);
        if (judged.Verdict == ConnectMiddleware.ConnectVerdict.Inspect)
        {
            return (asked, DecidedOn.Url);
        }
        return (new FilterRequest(asked.Client, asked.User, "CONNECT", "https", judged.Host ?? asked.Host, judged.Host is null ? asked.Port : judged.Port, "", asked.At),
            DecidedOn.ConnectHost);
    }

    /// <summary>
    /// How the live proxy answers a tunnel it refuses, by <see cref="ConnectMiddleware.Judge"/>'s verdict: the block page
    /// inside TLS (<c>BlockPage</c>: an inspection CA and a host name) or 403 to the CONNECT (<c>Blocked</c>). Null when
    /// the request is allowed or is decided on the URL (a plain http request or one inside an inspected tunnel, answered
    /// with the block page as any request).
    /// </summary>
    internal static ConnectMiddleware.ConnectVerdict? AnsweredWith(PolicySnapshot snapshot, FilterRequest decided, DecidedOn on, bool inspection)
    {
        if (on != DecidedOn.ConnectHost)
        {
            return null;
        }
        var judged = ConnectMiddleware.Judge(snapshot, decided.Client, decided.User, Authority.Format(decided.Host, decided.Port), decided.At,
            new ProxyOptions(), inspection);
        return judged.Verdict is ConnectMiddleware.ConnectVerdict.BlockPage or ConnectMiddleware.ConnectVerdict.Blocked ? judged.Verdict : null;
    }

    private static int Run(ExplainRequest input, bool inspection, bool json, TextWriter stdout, TextWriter stderr, Func<IConfiguration> configuration)
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

        if (input.User is not null && snapshot.FindUser(input.User) is null && snapshot.Ldap is null)
        {
            stderr.WriteLine($"--user: '{input.User}' is not in the policy's user directory");
            return 2;
        }

        // Issue 22: a name users.csv does not know is looked up in the school's directory, as the proxy would.
        if (input.User is not null && snapshot.FindUser(input.User) is null && snapshot.Ldap is { } ldap)
        {
            if (DirectoryMember(ldap, input.User, configuration, stderr) is not { } member)
            {
                return 2;
            }
            snapshot = snapshot.WithDirectoryMembers(new OneMember(member));
        }

        var asked = new FilterRequest(address, input.User, target.Method, target.Scheme, target.Host, target.Port, target.PathAndQuery, instant.ToDateTimeOffset());
        var (request, on) = AsTheProxyWould(snapshot, asked, inspection);
        var decision = snapshot.Decide(request, withTrace: true);
        if (on == DecidedOn.ConnectHost)
        {
            // The policy's connect options (bare_ip), as ConnectMiddleware.Judge applies them.
            decision = ConnectMiddleware.ApplyConnectOptions(snapshot, Authority.CanonicalHost(request.Host) ?? request.Host, decision);
        }
        var inspected = ExplainInspection.Of(snapshot, asked);
        // As the proxy connects: an allowed request from a locked role to a search host goes to the safe-search address.
        var safe = decision.IsBlocked ? null : snapshot.SafeSearchFor(decision.Identity, request.Host);
        var answered = decision.IsBlocked ? AnsweredWith(snapshot, request, on, inspection) : null;
        if (json)
        {
            WriteJson(stdout, decision, on, answered, inspected, snapshot.TimeZone, snapshot.Version, request.PathAndQuery, safe,
                input.User is null ? null : snapshot.RoleSources(input.User));
        }
        else
        {
            WriteText(stdout, asked, request, on, inspection, answered, inspected, decision, snapshot.TimeZone);
            if (safe is not null)
            {
                stdout.WriteLine($"  safe search: connected to {safe.Host} ({safe.Provider}), not {request.Host}'s own address"
                    + (safe.YouTube is { } yt ? $"; inspected requests also carry YouTube-Restrict: {yt}" : ""));
            }
            if (input.User is not null)
            {
                foreach (var (role, source) in snapshot.RoleSources(input.User))
                {
                    stdout.WriteLine($"  role:     {role} from {source}");
                }
            }
        }

        return 0;
    }

    /// <summary>
    /// <paramref name="user"/> as the directory has them now (groups read with the service account, as the scheduled
    /// refresh does; no password is checked), or null after saying why on <paramref name="stderr"/>.
    /// </summary>
    private static DirectoryMember? DirectoryMember(DirectoryPolicy ldap, string user, Func<IConfiguration> configuration, TextWriter stderr)
    {
        if (!Identity.LdapNames.IsUserName(user))
        {
            stderr.WriteLine($"--user: '{user}' is not a sign-in name (letters, digits, . _ - @); the proxy refuses it");
            return null;
        }
        var problems = new List<string>();
        var settings = Identity.LdapSettings.Bind(configuration(), problems);
        if (problems.Count > 0)
        {
            problems.ForEach(stderr.WriteLine);
            return null;
        }
        var found = new Identity.LdapClient(ldap, settings).Check(user, password: null);
        switch (found.Answer)
        {
            case Identity.LdapAnswer.Valid:
                return new DirectoryMember(user, found.DisplayName, found.Groups, TimeProvider.System.GetUtcNow());
            case Identity.LdapAnswer.Wrong:
                stderr.WriteLine($"--user: '{user}' is not in the policy's user directory (users.csv) nor in the school's directory ({ldap.Url})");
                return null;
            default:
                stderr.WriteLine($"--user: the school's directory cannot be asked: {found.Problem}");
                return null;
        }
    }

    /// <summary>The one person explain asks about, as the engine's table of directory members.</summary>
    private sealed class OneMember(DirectoryMember member) : IDirectoryMembers
    {
        public DirectoryMember? Find(string userName) => string.Equals(userName, member.UserName, StringComparison.OrdinalIgnoreCase) ? member : null;
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

    private static void WriteJson(TextWriter stdout, Decision d, DecidedOn on, ConnectMiddleware.ConnectVerdict? answered, TunnelInspection? inspected,
        DateTimeZone zone, string version, string pathAndQuery, SafeSearchTarget? safe, IReadOnlyList<(string Role, string Source)>? roleSources)
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
                w.WriteNull("until_local");
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
            if (roleSources is not null)
            {
                w.WriteStartArray("role_sources");
                foreach (var (role, source) in roleSources)
                {
                    w.WriteStartObject();
                    w.WriteString("role", role);
                    w.WriteString("source", source);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteString("network", d.Identity.Network);
            w.WriteString("path", UrlPath.Canonicalize(pathAndQuery));
            w.WriteString("policy_version", version);
            w.WriteString("decided_on", on == DecidedOn.Url ? "url" : "connect-host");
            w.WriteString("answered_with", answered switch
            {
                ConnectMiddleware.ConnectVerdict.BlockPage => "block-page-in-tls",
                ConnectMiddleware.ConnectVerdict.Blocked => "connect-403",
                _ => null,
            });
            if (inspected is not { } t)
            {
                w.WriteNull("inspection");
            }
            else
            {
                // What the policy wants; whether it happens also needs a CA (decided_on says what the proxy does).
                w.WriteStartObject("inspection");
                w.WriteBoolean("wanted", t.Inspect);
                w.WriteString("reason", ExplainInspection.ReasonName(t.Reason));
                w.WriteString("detail", t.Detail);
                w.WriteEndObject();
            }
            if (safe is null)
            {
                w.WriteNull("safe_search");
            }
            else
            {
                w.WriteStartObject("safe_search");
                w.WriteString("provider", safe.Provider);
                w.WriteString("connect_to", safe.Host);
                if (safe.YouTube is { } yt)
                {
                    w.WriteString("youtube_restrict", yt.ToString());
                }
                w.WriteEndObject();
            }
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

    private static string Shown(FilterRequest r) =>
        r.PathAndQuery.Length == 0 ? Authority.Format(r.Host, r.Port) : $"{r.Scheme}://{r.Host}{r.PathAndQuery}";

    private static void WriteText(TextWriter o, FilterRequest asked, FilterRequest request, DecidedOn on, bool inspection, ConnectMiddleware.ConnectVerdict? answered,
        TunnelInspection? inspected, Decision d, DateTimeZone zone)
    {
        o.WriteLine($"{(d.IsBlocked ? "BLOCKED" : "ALLOWED")}  {request.Method} {Shown(request)}");
        var judged = UrlPath.Canonicalize(request.PathAndQuery);
        if (judged != request.PathAndQuery)
        {
            o.WriteLine($"  path:     judged as {judged} (the canonical form that lists and paths: rules match; sent as written)");
        }
        var where = (on, asked.PathAndQuery.Length == 0, asked.Scheme) switch
        {
            (DecidedOn.ConnectHost, true, _) => "the host, at CONNECT",
            (DecidedOn.ConnectHost, false, _) when !inspection =>
                $"the host, at CONNECT: with no inspection CA the proxy sees only {Shown(request)} for {asked.Method} {Shown(asked)}; rules with methods or paths are not applied",
            (DecidedOn.ConnectHost, false, _) =>
                $"the host, at CONNECT: {request.Host} is not inspected (see 'inspected'), so the proxy sees only {Shown(request)} for {asked.Method} {Shown(asked)}",
            (DecidedOn.Url, _, "https") => "the full URL, inside an inspected tunnel (see 'inspected')",
            _ => "the full URL (plain http)",
        };
        o.WriteLine($"  decided on: {where}");
        if (inspected is { } t)
        {
            o.WriteLine($"  inspected: {ExplainInspection.Text(t, inspection)}");
        }
        if (answered is { } verdict)
        {
            o.WriteLine(verdict == ConnectMiddleware.ConnectVerdict.BlockPage
                ? "  answered: block page inside TLS (inspection CA configured)"
                : !inspection
                    ? "  answered: 403 to the CONNECT (no inspection CA)"
                    : inspected is { Reason: InspectionReason.NeverInspect }
                        ? "  answered: 403 to the CONNECT (never_inspect: the tunnel is not decrypted, so no block page)"
                        : "  answered: 403 to the CONNECT (an IP address: no name to show a block page under)");
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
