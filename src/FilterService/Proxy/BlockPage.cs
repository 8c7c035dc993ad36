using System.Globalization;
using System.Net;
using System.Text;
using NodaTime;
using PolicyModel.Decisions;

namespace FilterService.Proxy;

/// <summary>
/// The page a blocked plain-HTTP request gets: what was blocked, by which rule and category, why, when it is
/// available again (in the policy's time zone), and a reference the ICT manager can find in the audit log.
/// Everything from the request or the policy is HTML-encoded.
/// </summary>
internal static class BlockPage
{
    public static string Render(PolicySnapshot policy, Decision decision, string url, IPAddress client, DateTimeOffset at, string reference)
    {
        var zone = policy.TimeZone;
        var local = Instant.FromDateTimeOffset(at).InZone(zone).ToDateTimeUnspecified();
        var school = policy.Name ?? "the school";
        var sb = new StringBuilder(2048);
        sb.Append("<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>Blocked by the school web filter</title>")
          .Append("<meta name=\"viewport\" content=\"width=device-width\">")
          .Append("<style>body{font-family:system-ui,sans-serif;max-width:44em;margin:3em auto;padding:0 1em;color:#222}")
          .Append("h1{color:#a00}dt{font-weight:bold;margin-top:.6em}dd{margin-left:0}code{background:#eee;padding:0 .3em}</style></head><body>\n")
          .Append("<h1>This page is blocked</h1>\n<p>The web filter of ").Append(E(school)).Append(" blocked <code>").Append(E(url)).Append("</code>.</p>\n<dl>\n");
        Item(sb, "Reason", decision.Reason);
        Item(sb, "Rule", decision.Rule);
        Item(sb, "Category", decision.Category ?? "none");
        if (decision.Until is { } until)
        {
            var back = Instant.FromDateTimeOffset(until).InZone(zone).ToDateTimeUnspecified();
            Item(sb, "Available again", "Available again at " + back.ToString(back.Date == local.Date ? "HH:mm" : "HH:mm 'on' dddd d MMMM yyyy", CultureInfo.InvariantCulture));
        }
        Item(sb, "Time", local.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " (" + zone.Id + ")");
        Item(sb, "Your address", client.ToString());
        if (decision.Identity.User is { } user)
        {
            Item(sb, "Signed in as", user);
        }
        Item(sb, "Reference", reference);
        sb.Append("</dl>\n<p>If you think this is wrong, ask your ICT manager to review it and quote the reference <strong>")
          .Append(E(reference)).Append("</strong>.</p>\n</body></html>\n");
        return sb.ToString();
    }

    private static void Item(StringBuilder sb, string label, string value) =>
        sb.Append("<dt>").Append(E(label)).Append("</dt><dd>").Append(E(value)).Append("</dd>\n");

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
