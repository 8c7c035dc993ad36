using System.IO.Compression;
using System.Management.Automation.Language;
using FilterService.Hosting;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Hosting;

/// <summary>
/// Issue 20: deploy/windows. No Windows here (docs/service.md says where it was tried): the scripts are parsed by
/// PowerShell's own parser, held to the name the service uses for itself and its Event Log source, and the zip built by
/// build-zip holds a self-contained Windows service and the scripts.
/// </summary>
public sealed class WindowsPackageTests
{
    private static readonly string Dir = Path.Combine(RepoPaths.Root, "deploy", "windows");

    [Theory]
    [InlineData("install.ps1")]
    [InlineData("uninstall.ps1")]
    public void Script_ParsesWithoutErrors_AndRequiresAdministrator(string script)
    {
        var ast = Parser.ParseFile(Path.Combine(Dir, script), out _, out var errors);
        Assert.True(errors.Length == 0, string.Join("\n", errors.Select(e => $"{script}:{e.Extent.StartLineNumber}:{e.Extent.StartColumnNumber}: {e.Message}")));
        Assert.True(ast.ScriptRequirements?.IsElevationRequired, $"{script}: #Requires -RunAsAdministrator");
        // Every name the script uses for the service is the one the service gives itself (ProxyHost.WindowsServiceName).
        var assignment = ast.FindAll(a => a is AssignmentStatementAst { Left: VariableExpressionAst { VariablePath.UserPath: "ServiceName" } }, true)
            .Cast<AssignmentStatementAst>().Single();
        Assert.Equal($"'{ProxyHost.WindowsServiceName}'", assignment.Right.Extent.Text);
    }

    [Fact]
    public void Install_VirtualAccountRecoveryFirewallEventLogSourceAndAcls_AllUnderTheServiceName()
    {
        var ast = Parser.ParseFile(Path.Combine(Dir, "install.ps1"), out _, out _);
        var commands = ast.FindAll(a => a is CommandAst, true).Cast<CommandAst>().Select(c => c.Extent.Text).ToList();
        var text = File.ReadAllText(Path.Combine(Dir, "install.ps1"));
        Assert.Contains("$Account = \"NT SERVICE\\$ServiceName\"", text);
        Assert.Contains(commands, c => c.StartsWith("Invoke-Sc @('config', $ServiceName,") && c.Contains("'obj=', $Account"));
        Assert.Contains(commands, c => c == "Invoke-Sc @('failure', $ServiceName, 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/60000')");
        Assert.Contains(commands, c => c == "Invoke-Sc @('failureflag', $ServiceName, '1')");
        Assert.Contains("[System.Diagnostics.EventLog]::CreateEventSource($ServiceName, 'Application')", text);
        Assert.Contains(commands, c => c.StartsWith("New-NetFirewallRule -Name $FirewallRule") && c.Contains("-LocalPort $ports -Program $Exe"));
        Assert.Contains("Set-Acl-For -Path $stateDir -ServiceRights 'M'", text);
        Assert.Contains("Set-Acl-For -Path $logDir -ServiceRights 'M'", text);
        Assert.Contains("Set-Acl-For -Path $policyDir -ServiceRights 'RX'", text);
        // The folders the ACLs are for are the ones the Windows settings name.
        var settings = DeploySettings.Read(File.ReadAllText(Path.Combine(Dir, "appsettings.json")));
        Assert.Equal(@"C:\ProgramData\SchoolFilter\policy", settings.PolicyPath);
        Assert.Equal(@"C:\ProgramData\SchoolFilter\log", settings.AuditPath);
        Assert.StartsWith(@"C:\ProgramData\SchoolFilter\state\", settings.OutboxPath);
        Assert.Contains("$policyDir = Join-Path $DataDir 'policy'", text);
        Assert.Contains("$stateDir = Join-Path $DataDir 'state'", text);
        Assert.Contains("$logDir = Join-Path $DataDir 'log'", text);
        Assert.Contains("[string] $DataDir = (Join-Path $env:ProgramData 'SchoolFilter')", text);
    }

    [Fact]
    public async Task BuildZip_HoldsTheSelfContainedWindowsServiceItsSettingsPolicyAndScripts()
    {
        var dist = TempDir.Create("zip");
        var (code, output) = await Command.RunAsync(TimeSpan.FromSeconds(300), Path.Combine(Dir, "build-zip"), dist);
        Assert.True(code == 0, $"build-zip: exit {code}\n{output}");
        using var zip = ZipFile.OpenRead(Assert.Single(Directory.GetFiles(dist, "school-filter-*-win-x64.zip")));
        var root = zip.Entries[0].FullName.Split('/')[0] + "/";
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var name in new[] { "bin/FilterService.exe", "bin/FilterService.dll", "bin/coreclr.dll", "appsettings.json", "policy/policy.yaml", "install.ps1", "uninstall.ps1" })
        {
            Assert.Contains(root + name, names);
        }
        Assert.DoesNotContain(names, n => n.StartsWith(root + "bin/appsettings"));
        using (var exe = zip.GetEntry(root + "bin/FilterService.exe")!.Open())
        {
            var header = new byte[2];
            await exe.ReadExactlyAsync(header);
            Assert.Equal("MZ"u8.ToArray(), header); // a Windows executable
        }
        using var reader = new StreamReader(zip.GetEntry(root + "install.ps1")!.Open());
        Assert.Equal(File.ReadAllText(Path.Combine(Dir, "install.ps1")), await reader.ReadToEndAsync());
    }
}
