using System.Text.Encodings.Web;
using System.Text.Json;
using FilterService.Admin.Simulator;
using FilterService.Proxy;
using NodaTime;
using PolicyModel.Decisions;
using PolicyModel.Matching;

namespace FilterService.Cli;

/// <summary><c>explain --json</c>: exactly one JSON object, the same <see cref="Explanation"/> the text output prints.</summary>
internal static class ExplainJson
{
    public static void Write(TextWriter stdout, Explanation e)
    {
        var (d, on, answered, inspected, zone, version, pathAndQuery, safe, roleSources) =
            (e.Decision, e.On, e.Answered, e.Inspected, e.Zone, e.PolicyVersion, e.Decided.PathAndQuery, e.SafeSearch, e.RoleSources);
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
                ConnectFlow.ConnectVerdict.BlockPage => "block-page-in-tls",
                ConnectFlow.ConnectVerdict.Blocked => "connect-403",
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
}
