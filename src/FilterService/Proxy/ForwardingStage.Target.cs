namespace FilterService.Proxy;

/// <summary>The HTTP stage's target (step 1): the method and URI decided on are exactly those sent.</summary>
internal sealed partial class ForwardingStage
{
    /// <summary>
    /// Whether <paramref name="method"/> has no lower-case letter. Every registered method (GET, POST, PROPFIND...) is
    /// upper case; a token that differs from one only in case is a different method to the rules (RFC 9110 9.1) but the
    /// same one to HttpClient and to lenient origins, so it is refused rather than decided as one method and sent as another.
    /// </summary>
    public static bool IsUpperCaseMethod(string method) => !method.AsSpan().ContainsAnyInRange('a', 'z');

    private static string InspectedTarget(InspectedTunnel tunnel, string raw)
    {
        var authority = tunnel.Host.Contains(':') ? "[" + tunnel.Host + "]" : tunnel.Host;
        if (tunnel.Port != 443)
        {
            authority += ":" + tunnel.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (!raw.StartsWith('/'))
        {
            // An absolute-form target inside the tunnel: only its path counts; the tunnel fixes the host.
            raw = Uri.TryCreate(raw, UriKind.Absolute, out var absolute) ? absolute.PathAndQuery : "/";
        }
        return "https://" + authority + raw;
    }
}
