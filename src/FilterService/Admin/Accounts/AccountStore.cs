using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace FilterService.Admin.Accounts;

/// <summary>An admin account as the console lists it (never its hash).</summary>
internal sealed record Account(string Name, string Role, bool Disabled, int Failures, DateTimeOffset? LockedUntil,
    DateTimeOffset Created, DateTimeOffset? LastSignIn, string Stamp)
{
    public bool IsLocked(DateTimeOffset now) => LockedUntil is { } until && until > now;
}

/// <summary>The outcome of a sign-in attempt. <see cref="Account"/> is set only when it succeeded.</summary>
internal enum SignInOutcome
{
    Succeeded,
    /// <summary>Unknown name or wrong password (the page says the same for every failure).</summary>
    Failed,
    /// <summary>This wrong password reached <c>Console:Lockout:MaxFailures</c>: the account is now locked.</summary>
    LockedNow,
    /// <summary>The account is locked (the password was not checked).</summary>
    Locked,
    Disabled,
}

internal sealed record AccountSignIn(SignInOutcome Outcome, Account? Account);

/// <summary>
/// Admin accounts in <c>console.db</c> (table <c>accounts</c>): one role each (<see cref="ConsoleRoles"/>), a PBKDF2 hash
/// (<see cref="AdminPassword"/>), the lockout counters, and a stamp that changes with the password, role or state so a
/// sign-in cookie issued before the change stops working (<see cref="ConsoleAuthentication"/>). Names are compared
/// without case. Thread-safe: a connection per operation.
/// </summary>
internal sealed class AccountStore
{
    private readonly ConsoleDatabase _db;
    private readonly LockoutOptions _lockout;
    private readonly TimeProvider _time;

    public AccountStore(ConsoleDatabase db, LockoutOptions lockout, TimeProvider time)
    {
        _db = db;
        _lockout = lockout;
        _time = time;
        db.EnsureSchema("""
            CREATE TABLE IF NOT EXISTS accounts (
                name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
                role TEXT NOT NULL,
                hash TEXT NOT NULL,
                disabled INTEGER NOT NULL DEFAULT 0,
                failures INTEGER NOT NULL DEFAULT 0,
                locked_until TEXT NULL,
                created TEXT NOT NULL,
                last_sign_in TEXT NULL,
                stamp TEXT NOT NULL
            );
            """);
    }

    /// <summary>Why <paramref name="name"/> cannot be an account name, or null: 1-64 letters, digits, '.', '-', '_', '@'.</summary>
    public static string? InvalidName(string name) =>
        name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '@')
            ? $"'{name}' is not an account name (1-64 letters, digits, '.', '-', '_', '@')"
            : null;

    /// <summary>Adds an account; returns a problem (name taken, bad name or role, weak password) or null.</summary>
    public string? Add(string name, string role, string password)
    {
        if ((InvalidName(name) ?? InvalidRole(role) ?? AdminPassword.Weakness(password)) is { } problem)
        {
            return problem;
        }
        using var c = _db.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO accounts(name, role, hash, created, stamp) VALUES($name, $role, $hash, $now, $stamp) ON CONFLICT(name) DO NOTHING";
        cmd.Parameters.AddWithValue("$name", name);
        cmd.Parameters.AddWithValue("$role", role);
        cmd.Parameters.AddWithValue("$hash", AdminPassword.Hash(password));
        cmd.Parameters.AddWithValue("$now", Format(_time.GetUtcNow()));
        cmd.Parameters.AddWithValue("$stamp", NewStamp());
        return cmd.ExecuteNonQuery() == 1 ? null : $"an account named '{name}' already exists";
    }

    public IReadOnlyList<Account> List()
    {
        using var c = _db.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT name, role, disabled, failures, locked_until, created, last_sign_in, stamp FROM accounts ORDER BY name";
        using var r = cmd.ExecuteReader();
        var list = new List<Account>();
        while (r.Read())
        {
            list.Add(Read(r));
        }
        return list;
    }

    public Account? Find(string name)
    {
        using var c = _db.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT name, role, disabled, failures, locked_until, created, last_sign_in, stamp FROM accounts WHERE name = $name";
        cmd.Parameters.AddWithValue("$name", name);
        using var r = cmd.ExecuteReader();
        return r.Read() ? Read(r) : null;
    }

    /// <summary>
    /// Checks a password and keeps the lockout counters: <c>Console:Lockout:MaxFailures</c> wrong passwords in a row lock
    /// this account (only this one) for <c>Console:Lockout:Duration</c>. An unknown name costs the same PBKDF2 time.
    /// </summary>
    public AccountSignIn SignIn(string name, string password)
    {
        var now = _time.GetUtcNow();
        using var c = _db.Open();
        string? hash = null;
        Account? account = null;
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "SELECT name, role, disabled, failures, locked_until, created, last_sign_in, stamp, hash FROM accounts WHERE name = $name";
            cmd.Parameters.AddWithValue("$name", name);
            using var r = cmd.ExecuteReader();
            if (r.Read())
            {
                account = Read(r);
                hash = r.GetString(8);
            }
        }
        bool matches = AdminPassword.Verify(password, hash);
        if (account is null)
        {
            return new AccountSignIn(SignInOutcome.Failed, null);
        }
        if (account.IsLocked(now))
        {
            return new AccountSignIn(SignInOutcome.Locked, null);
        }
        if (account.Disabled)
        {
            return new AccountSignIn(SignInOutcome.Disabled, null);
        }
        using var update = c.CreateCommand();
        update.Parameters.AddWithValue("$name", account.Name);
        if (matches)
        {
            update.CommandText = "UPDATE accounts SET failures = 0, locked_until = NULL, last_sign_in = $now WHERE name = $name";
            update.Parameters.AddWithValue("$now", Format(now));
            update.ExecuteNonQuery();
            return new AccountSignIn(SignInOutcome.Succeeded, account with { Failures = 0, LockedUntil = null, LastSignIn = now });
        }
        // One statement, so two wrong passwords at once both count.
        update.CommandText = """
            UPDATE accounts SET failures = CASE WHEN failures + 1 >= $max THEN 0 ELSE failures + 1 END,
                locked_until = CASE WHEN failures + 1 >= $max THEN $until ELSE locked_until END
            WHERE name = $name RETURNING locked_until
            """;
        update.Parameters.AddWithValue("$max", _lockout.MaxFailures);
        update.Parameters.AddWithValue("$until", Format(now + _lockout.Duration));
        var lockedUntil = update.ExecuteScalar() as string;
        return new AccountSignIn(lockedUntil is not null && Parse(lockedUntil) > now ? SignInOutcome.LockedNow : SignInOutcome.Failed, null);
    }

    /// <summary>Clears the lockout and the failure count. False when there is no such account.</summary>
    public bool Unlock(string name) => Execute("UPDATE accounts SET failures = 0, locked_until = NULL WHERE name = $name", name);

    /// <summary>Sets the role (signs the account out everywhere). Null or the problem.</summary>
    public string? SetRole(string name, string role) =>
        InvalidRole(role) ?? (Execute("UPDATE accounts SET role = $value, stamp = $stamp WHERE name = $name", name, role) ? null : $"no account named '{name}'");

    /// <summary>Disables or enables the account (disabling signs it out everywhere). False when there is no such account.</summary>
    public bool SetDisabled(string name, bool disabled) =>
        Execute("UPDATE accounts SET disabled = $value, stamp = $stamp WHERE name = $name", name, disabled ? 1 : 0);

    /// <summary>Sets a new password (signs the account out everywhere else). Null or the problem.</summary>
    public string? SetPassword(string name, string password) =>
        AdminPassword.Weakness(password)
        ?? (Execute("UPDATE accounts SET hash = $value, stamp = $stamp, failures = 0, locked_until = NULL WHERE name = $name", name, AdminPassword.Hash(password))
            ? null : $"no account named '{name}'");

    private bool Execute(string sql, string name, object? value = null)
    {
        using var c = _db.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$name", name);
        cmd.Parameters.AddWithValue("$value", value ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$stamp", NewStamp());
        return cmd.ExecuteNonQuery() == 1;
    }

    private static string? InvalidRole(string role) =>
        ConsoleRoles.IsKnown(role) ? null : $"'{role}' is not a console role ({string.Join(", ", ConsoleRoles.All)})";

    private static Account Read(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetInt64(2) != 0, (int)r.GetInt64(3),
        r.IsDBNull(4) ? null : Parse(r.GetString(4)), Parse(r.GetString(5)), r.IsDBNull(6) ? null : Parse(r.GetString(6)), r.GetString(7));

    private static string NewStamp() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
