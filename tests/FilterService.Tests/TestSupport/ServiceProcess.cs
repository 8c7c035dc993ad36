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

    private ServiceProcess(Process process, StringBuilder output, int proxyPort)
    {
        _process = process;
        _output = output;
        ProxyPort = proxyPort;
    }

    public int ProxyPort { get; }
    public string Proxy => $"http://127.0.0.1:{ProxyPort}";

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

    public static async Task<ServiceProcess> StartAsync(IEnumerable<string> settings)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "FilterService.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        psi.ArgumentList.Add(dll);
        foreach (var s in new[] { "--Proxy:Listen=127.0.0.1:0", "--Admin:Listen=127.0.0.1:0", "--Policy:Watch=false" }.Concat(settings))
        {
            psi.ArgumentList.Add(s);
        }
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (output)
            {
                output.AppendLine(line);
            }
            if (ListeningLine().Match(line) is { Success: true } m)
            {
                listening.TrySetResult(int.Parse(m.Groups[1].Value));
            }
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("the service exited"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            int port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return new ServiceProcess(process, output, port);
        }
        catch (Exception ex)
        {
            try
            {
                process.Kill();
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

    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync();
        _process.Dispose();
    }

    [GeneratedRegex(@"Proxy listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();

    /// <summary>Whether the process has exited (crashed, for a test that did not stop it).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The admin endpoint's port, from the start-up line.</summary>
    public int AdminPort => int.Parse(AdminLine().Match(Output).Groups[1].Value);

    [GeneratedRegex(@"admin on 127\.0\.0\.1:(\d+)")]
    private static partial Regex AdminLine();
}
