namespace FilterService.Tests.TestSupport;

/// <summary>
/// The container's file system without a container runtime: bubblewrap builds a root that is read-only (the host's
/// /usr and the few /etc files a chiseled image has, the published output at /app, the settings and policy at
/// /etc/school-filter) with only the state and log directories writable, and runs the command in it as uid 1654 (the
/// .NET chiseled images' app user) through setpriv, with no new privileges. bwrap runs as root (it needs no user
/// namespace then), so uid 1654 is the real, unprivileged uid outside the sandbox too.
/// </summary>
public sealed record ReadOnlyRoot(string App, string Config, string State, string Log)
{
    public const int Uid = 1654;

    /// <summary>bwrap and setpriv, to be followed by the command (a launcher for <see cref="ServiceProcess"/>).</summary>
    public IReadOnlyList<string> Launcher()
    {
        var args = new List<string>
        {
            "bwrap", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
            "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin", "--dir", "/etc",
        };
        foreach (var file in new[] { "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts", "/etc/resolv.conf", "/etc/ld.so.cache", "/etc/ssl" })
        {
            args.AddRange(["--ro-bind-try", file, file]);
        }
        args.AddRange(["--dev", "/dev", "--proc", "/proc", "--dir", "/tmp"]);
        foreach (var dir in new[] { "/var", "/var/lib", "/var/log" })
        {
            args.AddRange(["--perms", "0755", "--dir", dir]);
        }
        args.AddRange([
            "--ro-bind", App, "/app", "--ro-bind", Config, "/etc/school-filter",
            "--bind", State, "/var/lib/school-filter", "--bind", Log, "/var/log/school-filter",
            "--remount-ro", "/", "--chdir", "/var/lib/school-filter",
            // A container starts with its image's environment, not the test host's (whose DOTNET_ variables point at its SDK).
            "--clearenv", "--setenv", "PATH", "/usr/sbin:/usr/bin",
            "--setenv", "DOTNET_CONTENTROOT", "/etc/school-filter", "--setenv", "HOME", "/var/lib/school-filter",
            // Not --die-with-parent: its signal follows the thread that started bwrap, a thread-pool thread that may end first.
            "--unshare-pid", "--unshare-ipc", "--",
            "setpriv", $"--reuid={Uid}", $"--regid={Uid}", "--clear-groups", "--no-new-privs",
        ]);
        return args;
    }
}
