using System.CommandLine;
using System.Net;
using FilterService.Admin.Simulator;
using FilterService.Hosting;
using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace FilterService.Cli;

/// <summary>
/// <c>explain</c>: "why was this blocked?" Runs the same engine as the proxy on one request and prints the
/// decision with its reason, when it next changes and the trace of rules tried. The deciding and the wording are the
/// console simulator's too (<see cref="Explainer"/>, <see cref="ExplanationText"/>); this is the command line around them.
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

    /// <summary>The service's settings as it would read them from here, or from <paramref name="settingsFile"/> and the environment.</summary>
    internal static IConfiguration ServiceConfiguration(FileInfo? settingsFile) => settingsFile is null
        ? Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder().Configuration
        : new ConfigurationBuilder().AddJsonFile(settingsFile.FullName, optional: false).AddEnvironmentVariables().Build();

    /// <summary>
    /// Whether the service, configured as it would be started from here, has an inspection CA: the same sources it reads
    /// (appsettings.json and appsettings.{Environment}.json in the current directory, environment variables such as
    /// <c>Proxy__InspectionCaCertificate</c>), or <paramref name="settingsFile"/> and the environment. In the Development
    /// environment (the quick start) the service makes and uses its own CA when none is configured
    /// (<see cref="QuickStartCa"/>), so it has one then too.
    /// </summary>
    internal static bool HasInspectionCa(FileInfo? settingsFile)
    {
        var service = settingsFile is null ? Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder() : null;
        IConfiguration configuration = service?.Configuration
            ?? new ConfigurationBuilder().AddJsonFile(settingsFile!.FullName, optional: false).AddEnvironmentVariables().Build();
        return !string.IsNullOrEmpty(configuration["Proxy:InspectionCaCertificate"])
            || (service is not null && service.Environment.IsDevelopment() && configuration["Proxy:QuickStartCaDirectory"] is not "");
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

        if (Explainer.ParseTime(input.At, snapshot.TimeZone) is not { } instant)
        {
            stderr.WriteLine($"--at: '{input.At}' is not an ISO 8601 date-time (2026-11-23T10:00, 2026-11-23T10:00:00Z, 2026-11-23T10:00+00:00)");
            return 2;
        }

        if (Explainer.ParseTarget(input.Url, input.Method) is not { } target)
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
        var explanation = Explainer.Explain(snapshot, asked, inspection);
        if (json)
        {
            ExplainJson.Write(stdout, explanation);
        }
        else
        {
            ExplanationText.Write(stdout, explanation);
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
}
