using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Hosting;

/// <summary>
/// The service speaks sd_notify(3) to a real notify socket. Microsoft.Extensions.Hosting.Systemd turns itself on
/// when the process is systemd's child or PID 1 with NOTIFY_SOCKET set (a container); the test takes the second
/// way: the built service runs as PID 1 of its own PID namespace (unshare), exactly as deployed otherwise.
/// </summary>
public sealed class SystemdTests
{
    [Fact]
    public async Task Systemd_UnderANotifySocket_SaysReadyOnlyOnceListeningThenWatchdogThenStoppingOnSigterm()
    {
        using var notify = new NotifySocket();
        int port = FreePort();
        string[] launcher = Geteuid() == 0
            ? ["unshare", "--pid", "--fork", "--kill-child"]
            : ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--kill-child"];
        var starting = ServiceProcess.StartAsync(
            [$"--Proxy:Listen=127.0.0.1:{port}", $"--Policy:Path={Samples.DefaultDir}", $"--Audit:Path={TempDir.Create("audit")}", "--Proxy:ShutdownTimeout=00:00:05"],
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path, ["WATCHDOG_USEC"] = "400000" },
            launcher);

        await notify.WaitForAsync("READY=1", TimeSpan.FromSeconds(60));
        // At READY=1 the proxy port accepts: systemd starts dependants (and `systemctl start` returns) only now.
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
        }
        await using var service = await starting;
        Assert.DoesNotContain(notify.Received, m => m.Contains("STOPPING=1"));

        await notify.WaitForAsync("WATCHDOG=1", TimeSpan.FromSeconds(10));

        Assert.Equal(0, Kill(ServicePid(service.ProcessId), 15 /* SIGTERM */));
        await notify.WaitForAsync("STOPPING=1", TimeSpan.FromSeconds(30));
        Assert.Equal(0, await service.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>The service's process id as this namespace sees it: unshare's one child.</summary>
    private static int ServicePid(int unsharePid)
    {
        var children = File.ReadAllText($"/proc/{unsharePid}/task/{unsharePid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return int.Parse(Assert.Single(children));
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint Geteuid();
}
