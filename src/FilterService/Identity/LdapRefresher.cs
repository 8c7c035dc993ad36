using FilterService.Policy;
using PolicyModel.Decisions;

namespace FilterService.Identity;

/// <summary>
/// Re-reads directory groups on the policy's <c>identity.directory.refresh</c> schedule (a user removed from a group
/// loses its role within one interval), probes the directory when nobody is signed in (so /health and
/// <c>filterservice_directory_up</c> are true when nothing is happening), and forgets every sign-in when a reload
/// changes or removes the directory. Runs on the injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed class LdapRefresher(PolicyStore store, LdapDirectory directory, TimeProvider time) : BackgroundService
{
    /// <summary>How often a policy without a directory is looked at again (a reload may add one).</summary>
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A successful reload wakes the loop at once: a changed directory, new bindings or a new interval apply now.
        var reloaded = new SemaphoreSlim(0, 1);
        void Wake(PolicyLoadReport report)
        {
            if (report.Succeeded && reloaded.CurrentCount == 0)
            {
                try
                {
                    reloaded.Release();
                }
                catch (SemaphoreFullException)
                {
                    // already woken
                }
            }
        }
        store.Reloaded += Wake;
        try
        {
            await Loop(reloaded, stoppingToken);
        }
        finally
        {
            store.Reloaded -= Wake;
        }
    }

    private async Task Loop(SemaphoreSlim reloaded, CancellationToken stoppingToken)
    {
        DirectoryPolicy? last = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var snapshot = store.Current;
            var policy = snapshot.Ldap;
            if (!SameDirectory(policy, last))
            {
                directory.Clear();
                last = policy;
            }
            if (policy is not null)
            {
                try
                {
                    await Task.Run(() => directory.Refresh(policy, snapshot.BoundDirectoryUsers), stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Never the end of the loop: the directory shows down until a refresh succeeds.
                    directory.MarkDown(policy, $"refresh failed: {ex.GetType().Name}: {ex.Message}");
                }
            }
            try
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var delay = Task.Delay(policy?.Refresh ?? Idle, time, wait.Token);
                await Task.WhenAny(delay, reloaded.WaitAsync(wait.Token));
                await wait.CancelAsync();
                stoppingToken.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Whether two policies name the same directory, account and searches (the group mapping may differ: the engine maps afresh).</summary>
    private static bool SameDirectory(DirectoryPolicy? a, DirectoryPolicy? b) =>
        a is null || b is null ? a == b
        : a with { RolesByDn = b.RolesByDn, RolesByName = b.RolesByName, Refresh = b.Refresh, Line = b.Line } == b;
}
