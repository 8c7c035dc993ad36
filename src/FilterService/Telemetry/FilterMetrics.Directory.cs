using System.Diagnostics.Metrics;
using FilterService.Identity;

namespace FilterService.Telemetry;

internal sealed partial class FilterMetrics
{
    /// <summary>
    /// Issue 22: the school's directory (identity.directory), observed from <see cref="LdapDirectory"/>'s counters.
    /// Every series is absent while the policy has no directory.
    /// </summary>
    private void AddDirectory(Meter meter, LdapDirectory directory)
    {
        IEnumerable<Measurement<long>> When(Func<IEnumerable<Measurement<long>>> read) => _store.Current.Ldap is null ? [] : read();
        meter.CreateObservableGauge("filterservice.directory.up", () => When(() => [new(directory.Status.Up ? 1 : 0)]), "1",
            "1 while the directory answers (sign-ins, refreshes and probes), 0 while it cannot be asked.");
        meter.CreateObservableCounter("filterservice.directory.bind_failures", () => When(() => [new(directory.BindFailures)]), "{attempt}",
            "Sign-ins the directory refused: unknown user, wrong password, or a name refused unasked for its shape.");
        meter.CreateObservableCounter("filterservice.directory.cache_hits", () => When(() => [new(directory.CacheHits)]), "{request}",
            "Requests let through on a cached directory sign-in without asking the directory.");
        meter.CreateObservableCounter("filterservice.directory.fallbacks", () => When(() =>
        {
            var (cached, defaultRole, refused) = directory.Fallbacks;
            return [new(cached, new KeyValuePair<string, object?>("outcome", "cached")), new(defaultRole, new KeyValuePair<string, object?>("outcome", "default_role")),
                new(refused, new KeyValuePair<string, object?>("outcome", "refused"))];
        }), "{attempt}",
            "Sign-ins the directory could not check (it was down), by outcome: cached (an earlier sign-in still valid), default_role, refused.");
        meter.CreateObservableGauge("filterservice.directory.cached_sign_ins", () => When(() => [new(directory.CachedSignIns)]), "{sign_in}",
            "Directory sign-ins held in the cache (HMACs of credentials, never passwords).");
    }
}
