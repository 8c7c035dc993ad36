using System.Security.Claims;

namespace FilterService.Admin;

/// <summary>
/// The console's roles and what each may do (Admin/README.md). An admin account has exactly one role, carried as a
/// <see cref="ClaimTypes.Role"/> claim of the sign-in cookie. Pages and handlers demand an authorisation policy by
/// name (<see cref="ConsolePolicies"/>); every POST handler is checked on the server, whatever the page shows.
/// </summary>
internal static class ConsoleRoles
{
    /// <summary>Edits the policy, schedules, lists, rules, exceptions and accounts; reads everything; sees no pupil names.</summary>
    public const string IctManager = "ict-manager";

    /// <summary>The designated safeguarding lead: incidents, decisions and reports, with pupils' names.</summary>
    public const string Dsl = "dsl";

    /// <summary>Reads everything the ICT manager reads (history, policy, decisions, incidents), changes nothing; no pupil names.</summary>
    public const string Auditor = "auditor";

    public static readonly IReadOnlyList<string> All = [IctManager, Dsl, Auditor];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);

    /// <summary>Only the DSL sees pupils' names (issue 19); everyone else sees a stable pseudonym (<c>PupilNames</c>).</summary>
    public static bool SeesPupilNames(ClaimsPrincipal user) => user.IsInRole(Dsl);
}

/// <summary>Authorisation policy names, registered once by the console's hosting.</summary>
internal static class ConsolePolicies
{
    /// <summary>Any signed-in admin (ict-manager, dsl, auditor).</summary>
    public const string Read = "console-read";

    /// <summary>Changes to the policy and accounts: ict-manager only.</summary>
    public const string EditPolicy = "console-edit-policy";

    /// <summary>Changes to incidents (acknowledge, assign, action, outcome, close): dsl only.</summary>
    public const string ManageIncidents = "console-manage-incidents";
}
