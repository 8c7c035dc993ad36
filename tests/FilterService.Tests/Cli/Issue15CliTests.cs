using System.Diagnostics;
using FilterService.Cli;

namespace FilterService.Tests.Cli;

/// <summary>
/// Issue 15: a policy that used to crash the loader (stack overflow, endless read, YamlDotNet exceptions) is a
/// located diagnostic in <c>check</c> (exit 1) and at service start (exit 2), both run as their own processes,
/// exactly as deployed; and <c>hash-list</c> names a bad line instead of printing a stack trace.
/// </summary>
public sealed class Issue15CliTests
{
    private static async Task<(int Exit, string Out, string Err)> RunProcess(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "FilterService.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        finally
        {
            await TestSupport.ProcessExtensions.StopAsync(process);
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    public static TheoryData<string, string> BrokenPolicies() => new()
    {
        // Item 9: 20,000 nested flow sequences overflowed the stack (check exited 134; the service crash-looped).
        { "deep", "policy.yaml:{line}:70: error PM0108: nested more than 64 levels deep; a policy needs a handful" },
        // Item 9: policy.yaml a link to /dev/zero grew the process to 4.3 GB.
        { "dev-zero", "policy.yaml: error PM0110: 'policy.yaml' is not a regular file (a device, FIFO or socket); refusing to read it" },
        // Item 10: an unclosed flow mapping made YamlDotNet throw InvalidOperationException; start-up printed a stack trace.
        { "unclosed", "policy.yaml:{line}:63: error PM0100: YAML syntax error: malformed YAML near here" },
    };

    /// <summary>A broken copy of the default sample, and the line of policy.yaml the error is on (0: none).</summary>
    private static (string Dir, int Line) Break(string kind)
    {
        var dir = RepoPaths.CopyToTemp(RepoPaths.Sample("default"));
        var path = Path.Combine(dir, "policy.yaml");
        var text = File.ReadAllText(path).TrimEnd('\n') + "\n";
        int LineOf(string part) => text[..text.IndexOf(part, StringComparison.Ordinal)].Count(c => c == '\n') + 1;
        switch (kind)
        {
            case "deep":
                File.WriteAllText(path, text + Deep);
                return (dir, text.Count(c => c == '\n') + 1);
            case "dev-zero":
                File.Delete(path);
                File.CreateSymbolicLink(path, "/dev/zero");
                return (dir, 0);
            default:
                const string line = "      - { path: lists/social-extra.txt, format: domains }\n";
                Assert.Contains(line, text);
                File.WriteAllText(path, text.Replace(line, "      - { path: {}\n"));
                // The parser notices the broken mapping at the end of the last complete token: the line before.
                return (dir, LineOf(line) - 1);
        }
    }

    private static readonly string Deep = "deep: " + new string('[', 20_000) + new string(']', 20_000) + "\n";

    [Theory]
    [MemberData(nameof(BrokenPolicies))]
    public async Task Item09_Item10_BrokenPolicy_CheckExitsOneAndServiceExitsTwo_WithTheLocatedError(string kind, string expected)
    {
        var (dir, line) = Break(kind);
        expected = expected.Replace("{line}", line.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

        var check = await RunProcess("check", "--policy", dir);
        Assert.True(check.Exit == 1, $"exit {check.Exit}\n{check.Out}\n{check.Err}");
        Assert.Equal([expected, "policy rejected: 1 error"], check.Out.TrimEnd('\n').Split('\n'));
        Assert.Equal("", check.Err);

        var service = await RunProcess($"--Policy:Path={dir}", "--Proxy:Listen=127.0.0.1:0", "--Admin:Listen=127.0.0.1:0", "--Policy:Watch=false");
        Assert.True(service.Exit == 2, $"exit {service.Exit}\n{service.Out}\n{service.Err}");
        Assert.Contains(expected, service.Err.Split('\n'));
        Assert.DoesNotContain("   at ", service.Err + service.Out);
    }

    [Fact]
    public async Task Item09_ReloadOfAPolicyNested20000Deep_IsRejectedAndTheServiceKeepsFiltering()
    {
        var dir = RepoPaths.CopyToTemp(RepoPaths.Sample("default"));
        await using var service = await TestSupport.ServiceProcess.StartAsync([$"--Policy:Path={dir}", $"--Audit:Path={Directory.CreateTempSubdirectory("audit-").FullName}"]);
        var path = Path.Combine(dir, "policy.yaml");
        var text = File.ReadAllText(path).TrimEnd('\n') + "\n";
        File.WriteAllText(path, text + Deep);
        int line = text.Count(c => c == '\n') + 1;

        // One SIGHUP is enough: the service handles SIGHUP from before it loads its lists (HangupLatch), so a signal
        // sent while hosted services are still starting is neither lost nor fatal (SighupDuringStartTests).
        await service.SignalAsync("HUP");
        Assert.True(await service.WaitForOutputAsync("stays live", TimeSpan.FromSeconds(60)), service.Output);
        Assert.False(service.HasExited, service.Output);
        Assert.Contains($"policy.yaml:{line}:70: error PM0108: nested more than 64 levels deep; a policy needs a handful", service.Output);
        using var client = new HttpClient(new HttpClientHandler { Proxy = new System.Net.WebProxy(service.Proxy), UseProxy = true });
        using var response = await client.GetAsync("http://blocked-terror.test/");
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Smaller_HashListBadEntry_NamesTheFileAndLineAndWritesNothing()
    {
        var dir = Directory.CreateTempSubdirectory("hash-list-").FullName;
        var list = Path.Combine(dir, "plain.txt");
        File.WriteAllText(list, "# confidential\nblocked-terror.test\n\nnot a host!\nother.test\n");
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var exit = await CliCommands.RunAsync(["hash-list", list], stdout, stderr, new StringReader(""));

        Assert.Equal(1, exit);
        Assert.Equal("", stdout.ToString());
        Assert.Equal($"{list}:4: error: 'not a host!' is not a valid host name or host/path; nothing written\n", stderr.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Smaller_HashListOfADevice_IsRefused()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var exit = await CliCommands.RunAsync(["hash-list", "/dev/zero"], stdout, stderr, new StringReader(""));

        Assert.Equal(1, exit);
        Assert.Equal("", stdout.ToString());
        Assert.Equal("/dev/zero: error: '/dev/zero' is not a regular file (a device, FIFO or socket); refusing to read it\n", stderr.ToString().ReplaceLineEndings("\n"));
    }
}
