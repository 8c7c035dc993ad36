using System.CommandLine;
using System.Globalization;
using FilterService.Admin;
using FilterService.Admin.Accounts;

namespace FilterService.Cli;

/// <summary>
/// <c>admin add --user NAME --role ROLE</c> (the password on standard input), <c>admin list</c>, <c>admin unlock --user
/// NAME</c>: the console's accounts in console.db, found through the service's own settings (appsettings.json in the
/// content root, environment variables, and any <c>--Key=value</c> given after the command, e.g.
/// <c>--Console:DataPath=/var/lib/school-filter/console</c>), so the command and the service agree on the file.
/// </summary>
internal static class AdminCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr, TextReader stdin)
    {
        var user = new Option<string>("--user") { Description = "The account name", Required = true };
        var role = new Option<string>("--role") { Description = $"The role: {string.Join(", ", ConsoleRoles.All)}", Required = true };
        var add = new Command("add", "Add an admin account; the password (at least 12 characters) is read from standard input") { user, role };
        add.TreatUnmatchedTokensAsErrors = false;
        add.SetAction(parse => WithStore(parse, stderr, store =>
        {
            var password = stdin.ReadLine();
            if (string.IsNullOrEmpty(password))
            {
                stderr.WriteLine("error FS0011: no password on standard input");
                return 1;
            }
            if (store.Add(parse.GetValue(user)!, parse.GetValue(role)!, password) is { } problem)
            {
                stderr.WriteLine($"error FS0011: {problem}");
                return 1;
            }
            stdout.WriteLine($"added {parse.GetValue(user)} ({parse.GetValue(role)})");
            return 0;
        }));

        var list = new Command("list", "List the admin accounts: name, role, state, last sign-in");
        list.TreatUnmatchedTokensAsErrors = false;
        list.SetAction(parse => WithStore(parse, stderr, store =>
        {
            var now = TimeProvider.System.GetUtcNow();
            foreach (var a in store.List())
            {
                var state = a.Disabled ? "disabled" : a.IsLocked(now) ? $"locked until {a.LockedUntil:u}" : "active";
                var last = a.LastSignIn is { } at ? at.ToString("u", CultureInfo.InvariantCulture) : "never";
                stdout.WriteLine($"{a.Name}\t{a.Role}\t{state}\tlast sign-in {last}");
            }
            return 0;
        }));

        var unlockUser = new Option<string>("--user") { Description = "The account name", Required = true };
        var unlock = new Command("unlock", "Unlock an account locked by wrong passwords") { unlockUser };
        unlock.TreatUnmatchedTokensAsErrors = false;
        unlock.SetAction(parse => WithStore(parse, stderr, store =>
        {
            var name = parse.GetValue(unlockUser)!;
            if (!store.Unlock(name))
            {
                stderr.WriteLine($"error FS0011: no account named '{name}'");
                return 1;
            }
            stdout.WriteLine($"unlocked {name}");
            return 0;
        }));

        return new Command("admin", "The console's admin accounts (docs/console.md)") { add, list, unlock };
    }

    private static int WithStore(ParseResult parse, TextWriter stderr, Func<AccountStore, int> action)
    {
        var settings = parse.UnmatchedTokens.ToArray();
        foreach (var s in settings)
        {
            if (!s.StartsWith("--", StringComparison.Ordinal) || !s.Contains('='))
            {
                stderr.WriteLine($"error FS0011: '{s}' is not understood (settings are written --Key=value)");
                return 2;
            }
        }
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = settings });
        var errors = new List<string>();
        var options = ConsoleOptions.Bind(builder.Configuration, builder.Environment.ContentRootPath, errors);
        if (errors.Count > 0)
        {
            foreach (var e in errors)
            {
                stderr.WriteLine($"config: error FS0001: {e}");
            }
            return 2;
        }
        try
        {
            options.EnsureDataPath();
            return action(new AccountStore(new ConsoleDatabase(options.DatabasePath), options.Lockout, TimeProvider.System));
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{options.DatabasePath}: error FS0011: {e.Message}");
            return 1;
        }
    }
}
