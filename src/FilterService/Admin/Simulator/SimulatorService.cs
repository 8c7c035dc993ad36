using System.Security.Claims;
using FilterService.Policy;
using FilterService.Proxy;
using NodaTime;
using PolicyModel.Decisions;

namespace FilterService.Admin.Simulator;

/// <summary>
/// The console's simulator: the form answered on the live policy (<see cref="PolicyStore.Current"/>, with the service's
/// directory members) as this service's proxy would answer it, with or without its inspection CA. Reads only.
/// </summary>
internal sealed class SimulatorService(PolicyStore store, TimeProvider clock, bool inspectionCa, PupilNames? pupilNames)
{
    /// <summary>Whether the service has an inspection CA: https requests are then decided as an inspecting proxy would.</summary>
    public bool InspectionCa => inspectionCa;

    /// <summary>The live policy (for the form's lists of roles and networks, and its time zone).</summary>
    public PolicySnapshot Policy => store.Current;

    /// <summary>Now on the policy's clock, as the form's default time (<c>2026-11-23T10:00</c>).</summary>
    public string Now => Instant.FromDateTimeOffset(clock.GetUtcNow()).InZone(store.Current.TimeZone).ToString("uuuu-MM-dd'T'HH:mm", null);

    /// <summary>Today on the policy's clock, as the week form's default (<c>2026-11-23</c>).</summary>
    public string Today => Instant.FromDateTimeOffset(clock.GetUtcNow()).InZone(store.Current.TimeZone).ToString("uuuu-MM-dd", null);

    /// <summary>"Why was this blocked?" for the form, or null with every problem in <paramref name="problems"/>.</summary>
    public Explanation? Explain(SimulatorForm form, ClaimsPrincipal viewer, List<FormProblem> problems)
    {
        if (SimulatorQuery.Parse(store.Current, form, Instant.FromDateTimeOffset(clock.GetUtcNow()), problems) is not { } query)
        {
            return null;
        }
        var explanation = Explainer.Explain(query.Snapshot, query.Request, inspectionCa);
        return ForViewer(explanation, viewer);
    }

    /// <summary>The week view for the form (its week field, else the week of its time), or null with every problem in <paramref name="problems"/>.</summary>
    public WeekTimeline? Week(SimulatorForm form, List<FormProblem> problems)
    {
        return SimulatorQuery.Parse(store.Current, form, Instant.FromDateTimeOffset(clock.GetUtcNow()), problems) is { } query
            ? WeekTimeline.Compute(query.Snapshot, query.Request, query.Day, inspectionCa)
            : null;
    }

    /// <summary>
    /// The explanation as <paramref name="viewer"/> may see it: the user is what the admin typed, so a pupil's display
    /// name from the directory is left out for every viewer <see cref="PupilNames"/> would not show it to.
    /// </summary>
    private Explanation ForViewer(Explanation e, ClaimsPrincipal viewer)
    {
        var identity = e.Decision.Identity;
        var pupil = pupilNames?.IsPupil(identity.Roles) ?? true;
        if (identity.DisplayName is null || !pupil || ConsoleRoles.SeesPupilNames(viewer))
        {
            return e;
        }
        return e with { Decision = e.Decision with { Identity = identity with { DisplayName = null } } };
    }
}

/// <summary>The simulator's registration: one line in the console's feature list calls <see cref="AddSimulator"/>.</summary>
internal static class SimulatorServiceCollectionExtensions
{
    public static IServiceCollection AddSimulator(this IServiceCollection services)
    {
        services.AddSingleton(sp => new SimulatorService(sp.GetRequiredService<PolicyStore>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetService<InspectionAuthority>() is not null, sp.GetService<PupilNames>()));
        services.AddConsoleNavigation("Why blocked?", "/simulator", ConsolePolicies.Read, 500);
        return services.AddConsoleNavigation("Week view", "/simulator/week", ConsolePolicies.Read, 510);
    }
}
