using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin;

/// <summary><c>admin add</c>, <c>admin list</c>, <c>admin unlock</c> as the school runs them: the real CLI as its own process.</summary>
public sealed class AdminCommandTests
{
    [Fact]
    public async Task Admin_add_reads_the_password_on_standard_input_and_list_shows_the_account_in_the_configured_data_path()
    {
        var data = TempDir.Create("console-data");
        string[] settings = [$"--Console:DataPath={data}"];
        await AdminAccounts.AddAsync(settings, "jo", "ict-manager");
        Assert.True(File.Exists(Path.Combine(data, "console.db")));
        var (code, output) = await AdminAccounts.RunAsync(["admin", "list", .. settings]);
        Assert.Equal(0, code);
        Assert.Matches(@"^jo\tict-manager\tactive\tlast sign-in never$", output);
        Assert.DoesNotContain(AdminAccounts.Password, File.ReadAllText(Path.Combine(data, "console.db")));
    }

    [Fact]
    public async Task The_default_data_path_is_the_audit_path_s_console_folder_created_owner_only()
    {
        var audit = TempDir.Create("audit");
        await AdminAccounts.AddAsync([$"--Audit:Path={audit}"], "sam", "auditor");
        Assert.True(File.Exists(Path.Combine(audit, "console", "console.db")));
        // It holds password hashes: created owner-only (on Windows the folder's ACL is inherited from the data path's).
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(audit, "console")));
        }
    }

    [Fact]
    public async Task Admin_add_refuses_an_unknown_role_a_short_or_missing_password_and_a_taken_name()
    {
        var data = TempDir.Create("console-data");
        string[] settings = [$"--Console:DataPath={data}"];
        var (code, output) = await AdminAccounts.RunAsync(["admin", "add", "--user", "jo", "--role", "root", .. settings], "a long enough password\n");
        Assert.Equal((1, true), (code, output.Contains("error FS0011: 'root' is not a console role (ict-manager, dsl, auditor)")));
        (code, output) = await AdminAccounts.RunAsync(["admin", "add", "--user", "jo", "--role", "dsl", .. settings], "short\n");
        Assert.Equal((1, true), (code, output.Contains("at least 12 characters")));
        (code, output) = await AdminAccounts.RunAsync(["admin", "add", "--user", "jo", "--role", "dsl", .. settings]);
        Assert.Equal((1, true), (code, output.Contains("no password on standard input")));
        await AdminAccounts.AddAsync(settings, "jo", "dsl");
        (code, output) = await AdminAccounts.RunAsync(["admin", "add", "--user", "JO", "--role", "auditor", .. settings], "a long enough password\n");
        Assert.Equal((1, true), (code, output.Contains("already exists")));
        (code, output) = await AdminAccounts.RunAsync(["admin", "add", "--user", "kim", "--role", "dsl", "--Console:Lockout:MaxFailures=0", .. settings], "a long enough password\n");
        Assert.Equal((2, true), (code, output.Contains("config: error FS0001: Console:Lockout:MaxFailures: 0 is outside 1-1000")));
        (code, output) = await AdminAccounts.RunAsync(["admin", "unlock", "--user", "nobody", .. settings]);
        Assert.Equal((1, true), (code, output.Contains("no account named 'nobody'")));
    }
}
