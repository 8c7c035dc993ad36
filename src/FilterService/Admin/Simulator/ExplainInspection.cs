using FilterService.Proxy;
using PolicyModel.Decisions;

namespace FilterService.Admin.Simulator;

/// <summary><c>explain</c>'s account of whether a tunnel is inspected and why (issue 17): the proxy's own judgement, printed.</summary>
internal static class ExplainInspection
{
    /// <summary>
    /// For an https URL or a host:port, what the policy wants for its tunnel (<see cref="PolicySnapshot.InspectTunnel"/>, as
    /// <see cref="ConnectFlow.Judge"/> asks it for the live proxy); null for plain http, which has no tunnel.
    /// </summary>
    public static TunnelInspection? Of(PolicySnapshot snapshot, FilterRequest asked)
    {
        if (asked.Scheme != "https")
        {
            return null;
        }
        var judged = ConnectFlow.Judge(snapshot, asked.Client, asked.User, Authority.Format(asked.Host, asked.Port), asked.At, new ProxyOptions(), canInspect: true,
            TimeProvider.System);
        return judged.Verdict == ConnectFlow.ConnectVerdict.BadTarget ? null : judged.Inspection;
    }

    public static string ReasonName(InspectionReason reason) => reason switch
    {
        InspectionReason.Rule => "rule",
        InspectionReason.TenantRestrictions => "tenant-restrictions",
        InspectionReason.Named => "named",
        InspectionReason.BlockPage => "block-page",
        InspectionReason.NeverInspect => "never-inspect",
        _ => "not-needed",
    };

    /// <summary>One line on whether and why the tunnel is inspected.</summary>
    public static string Text(TunnelInspection t, bool ca)
    {
        var why = t.Reason switch
        {
            InspectionReason.Rule => $"rule '{t.Detail}' needs methods or paths",
            InspectionReason.TenantRestrictions => "tenant_restrictions adds the sign-in headers",
            InspectionReason.Named => $"named by {t.Detail}",
            InspectionReason.BlockPage => $"blocked ({t.Detail}): inspected only to show the block page",
            InspectionReason.NeverInspect => $"{t.Detail}: spliced, the client sees the site's own certificate; a block that is not statutory is a 403",
            _ => "no rule with methods or paths, tenant restriction or inspection entry covers the host",
        };
        if (!t.Inspect)
        {
            return "no: " + why;
        }
        return ca ? "yes: " + why : $"no: there is no inspection CA (with one, yes: {why})";
    }
}
