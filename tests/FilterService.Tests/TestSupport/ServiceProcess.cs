using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// The built service (FilterService.dll, copied beside the tests) as a child process, so a test can kill it with
/// SIGKILL and start it again on the same state. Listens on port 0; the ports are read from its start-up line.
/// </summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;
    private readonly StringBuilder _stdout;

    private ServiceProcess(Process process, StringBuilder output, StringBuilder stdout, int proxyPort)
    {
        _process = process;
        _output = output;
        _stdout = stdout;
        ProxyPort = proxyPort;
    }

    public int ProxyPort { get; }
    public int ProcessId => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Proxy => $"http://127.0.0.1:{ProxyPort}";

    /// <summary>The admin endpoint's port (0 when it is off).</summary>
    public int AdminPort { get; private init; }

    /// <summary>The admin endpoint (the console, /health, /metrics) over plain HTTP: <c>http://127.0.0.1:PORT</c>.</summary>
    public string AdminUrl => $"http://127.0.0.1:{AdminPort}";

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Standard output alone (<see cref="Output"/> interleaves standard error): the console log.</summary>
    public string StandardOutput
    {
        get
        {
            lock (_output)
            {
                return _stdout.ToString();
            }
        }
    }

    /// <param name="environment">Variables added to the child's environment (NOTIFY_SOCKET, WATCHDOG_USEC).</param>
    /// <param name="launcher">A command the service is started under (e.g. unshare); the service's own command line follows it.</param>
    /// <param name="executable">A self-contained service executable (a package's) to run instead of the built FilterService.dll.</param>
    /// <param name="workingDirectory">The service's current directory, and so its content root (default: the test output directory).</param>
    public static async Task<ServiceProcess> StartAsync(IEnumerable<string> settings, IReadOnlyDictionary<string, string>? environment = null,
        IReadOnlyList<string>? launcher = null, string? executable = null, string? workingDirectory = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "FilterService.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        if (executable is not null)
        {
            (dotnet, dll) = (executable, null!);
        }
        var psi = new ProcessStartInfo(launcher is { Count: > 0 } ? launcher[0] : dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }
        if (launcher is { Count: > 0 })
        {
            foreach (var a in launcher.Skip(1))
            {
                psi.ArgumentList.Add(a);
            }
            psi.ArgumentList.Add(dotnet);
        }
        if (dll is not null)
        {
            psi.ArgumentList.Add(dll);
        }
        foreach (var s in new[] { "--Proxy:Listen=127.0.0.1:0", "--Admin:Listen=127.0.0.1:0", "--Policy:Watch=false", "--Audit:FlushInterval=00:00:00.100" }.Concat(settings))
        {
            psi.ArgumentList.Add(s);
        }
        var output = new StringBuilder();
        var stdout = new StringBuilder();
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        int adminPort = 0;
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        void OnLine(string? line, bool isStdout)
        {
            if (line is null)
            {
                return;
            }
            lock (output)
            {
                output.AppendLine(line);
                if (isStdout)
                {
                    stdout.AppendLine(line);
                }
            }
            if (ListeningLine().Match(line) is { Success: true } m)
            {
                if (AdminLine().Match(line) is { Success: true } admin)
                {
                    adminPort = int.Parse(admin.Groups[1].Value);
                }
                listening.TrySetResult(int.Parse(m.Groups[1].Value));
            }
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data, isStdout: true);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, isStdout: false);
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("the service exited"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            int port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return new ServiceProcess(process, output, stdout, port) { AdminPort = adminPort };
        }
        catch (Exception ex)
        {
            try
            {
                process.Kill(entireProcessTree: true); // with a launcher (unshare, bwrap) the service is its child
            }
            catch (InvalidOperationException)
            {
            }
            throw new Xunit.Sdk.XunitException($"the service did not start ({ex.Message}):\n{output}");
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing is flushed that was not already.</summary>
    public async Task KillHardAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
    }

    /// <summary>Sends the service a signal (<c>kill -NAME</c>, e.g. HUP), as an operator or logrotate would.</summary>
    public async Task SignalAsync(string name)
    {
        using var kill = Process.Start("kill", [$"-{name}", ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        Assert.True(kill.ExitCode == 0, $"kill -{name} {ProcessId} exited {kill.ExitCode}");
    }

    /// <summary>
    /// Waits (at most <paramref name="bound"/>) until the output holds <paramref name="text"/>: a log line can follow
    /// the metric or the effect it goes with. False if it never did, or the process ended first.
    /// </summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan bound)
    {
        var deadline = DateTime.UtcNow + bound;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (HasExited || DateTime.UtcNow >= deadline)
            {
                return Output.Contains(text, StringComparison.Ordinal);
            }
            await Task.Delay(50);
        }
        return true;
    }

    /// <summary>Waits for the process to end by itself; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync();
        _process.Dispose();
    }

    [GeneratedRegex(@"Proxy listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"; admin on 127\.0\.0\.1:(\d+)")]
    private static partial Regex AdminLine();
}
