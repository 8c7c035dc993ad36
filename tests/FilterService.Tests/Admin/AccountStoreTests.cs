using FilterService.Admin;
using FilterService.Admin.Accounts;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin;

/// <summary>The console's accounts in a real console.db: PBKDF2 hashes, roles, lockout per account, stamps.</summary>
public sealed class AccountStoreTests
{
    private const string Good = "a long enough password";

    private static (AccountStore Store, ConsoleDatabase Db, FakeTime Time) NewStore(int maxFailures = 10, int lockMinutes = 15)
    {
        var db = new ConsoleDatabase(Path.Combine(TempDir.Create("console"), "console.db"));
        var time = new FakeTime(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero));
        var store = new AccountStore(db, new LockoutOptions { MaxFailures = maxFailures, Duration = TimeSpan.FromMinutes(lockMinutes) }, time);
        return (store, db, time);
    }

    private static string StoredHash(ConsoleDatabase db, string name)
    {
        using var c = db.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT hash FROM accounts WHERE name = $n";
        cmd.Parameters.AddWithValue("$n", name);
        return (string)cmd.ExecuteScalar()!;
    }

    [Fact]
    public void The_password_is_stored_as_salted_PBKDF2_SHA256_with_600000_iterations_and_never_in_clear()
    {
        var (store, db, _) = NewStore();
        Assert.Null(store.Add("jo", ConsoleRoles.IctManager, Good));
        Assert.Null(store.Add("sam", ConsoleRoles.Auditor, Good));
        var jo = StoredHash(db, "jo");
        var parts = jo.Split('$');
        Assert.Equal(["pbkdf2-sha256", "600000"], parts[..2]);
        Assert.Equal(16, Convert.FromBase64String(parts[2]).Length);
        Assert.Equal(32, Convert.FromBase64String(parts[3]).Length);
        Assert.NotEqual(jo, StoredHash(db, "sam")); // same password, different salt
        Assert.DoesNotContain(Good, File.ReadAllText(db.Path + (File.Exists(db.Path + "-wal") ? "-wal" : "")));
        Assert.True(AdminPassword.Verify(Good, jo));
        Assert.False(AdminPassword.Verify(Good + "x", jo));
        Assert.False(AdminPassword.Verify(Good, "pbkdf2-sha256$600000$not base64$x"));
        Assert.False(AdminPassword.Verify(Good, null));
    }

    [Fact]
    public void Adding_checks_the_name_the_role_the_password_and_duplicates_whatever_their_case()
    {
        var (store, _, _) = NewStore();
        Assert.Null(store.Add("jo.smith", ConsoleRoles.Dsl, Good));
        Assert.Contains("already exists", store.Add("JO.SMITH", ConsoleRoles.Auditor, Good));
        Assert.Contains("not a console role", store.Add("kim", "admin", Good));
        Assert.Contains("at least 12", store.Add("kim", ConsoleRoles.Auditor, "short"));
        Assert.Contains("not an account name", store.Add("<script>", ConsoleRoles.Auditor, Good));
        var only = Assert.Single(store.List());
        Assert.Equal(("jo.smith", "dsl", false), (only.Name, only.Role, only.Disabled));
    }

    [Fact]
    public void Sign_in_succeeds_with_the_right_password_in_any_case_of_the_name_and_fails_for_an_unknown_name()
    {
        var (store, _, time) = NewStore();
        store.Add("jo", ConsoleRoles.IctManager, Good);
        var ok = store.SignIn("JO", Good);
        Assert.Equal(SignInOutcome.Succeeded, ok.Outcome);
        Assert.Equal(("jo", "ict-manager"), (ok.Account!.Name, ok.Account.Role));
        Assert.Equal(time.GetUtcNow(), store.Find("jo")!.LastSignIn);
        Assert.Equal(SignInOutcome.Failed, store.SignIn("nobody", Good).Outcome);
        Assert.Equal(SignInOutcome.Failed, store.SignIn("jo", "a long enough passwore").Outcome);
    }

    [Fact]
    public void Ten_wrong_passwords_lock_that_account_only_for_the_duration_and_unlock_clears_it()
    {
        var (store, _, time) = NewStore(maxFailures: 10, lockMinutes: 15);
        store.Add("jo", ConsoleRoles.IctManager, Good);
        store.Add("sam", ConsoleRoles.Auditor, Good);
        for (int i = 1; i < 10; i++)
        {
            Assert.Equal(SignInOutcome.Failed, store.SignIn("jo", "wrong password " + i).Outcome);
        }
        Assert.Equal(SignInOutcome.LockedNow, store.SignIn("jo", "wrong password 10").Outcome);
        Assert.Equal(SignInOutcome.Locked, store.SignIn("jo", Good).Outcome); // even the right password
        Assert.Equal(SignInOutcome.Succeeded, store.SignIn("sam", Good).Outcome); // another account is unaffected
        time.Advance(TimeSpan.FromMinutes(14));
        Assert.Equal(SignInOutcome.Locked, store.SignIn("jo", Good).Outcome);
        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(SignInOutcome.Succeeded, store.SignIn("jo", Good).Outcome);

        for (int i = 0; i < 10; i++)
        {
            store.SignIn("jo", "wrong again");
        }
        Assert.True(store.Find("jo")!.IsLocked(time.GetUtcNow()));
        Assert.True(store.Unlock("jo"));
        Assert.Equal(SignInOutcome.Succeeded, store.SignIn("jo", Good).Outcome);
    }

    [Fact]
    public void A_right_password_resets_the_failure_count()
    {
        var (store, _, _) = NewStore(maxFailures: 3);
        store.Add("jo", ConsoleRoles.IctManager, Good);
        store.SignIn("jo", "wrong password 1");
        store.SignIn("jo", "wrong password 2");
        Assert.Equal(SignInOutcome.Succeeded, store.SignIn("jo", Good).Outcome);
        store.SignIn("jo", "wrong password 3");
        store.SignIn("jo", "wrong password 4");
        Assert.Equal(SignInOutcome.Succeeded, store.SignIn("jo", Good).Outcome);
    }

    [Fact]
    public void Role_password_and_disabling_change_the_stamp_so_old_cookies_stop_working()
    {
        var (store, _, _) = NewStore();
        store.Add("jo", ConsoleRoles.IctManager, Good);
        var first = store.Find("jo")!.Stamp;
        Assert.Null(store.SetRole("jo", ConsoleRoles.Auditor));
        var second = store.Find("jo")!;
        Assert.Equal("auditor", second.Role);
        Assert.NotEqual(first, second.Stamp);
        Assert.Null(store.SetPassword("jo", "another long password"));
        Assert.NotEqual(second.Stamp, store.Find("jo")!.Stamp);
        Assert.Equal(SignInOutcome.Failed, store.SignIn("jo", Good).Outcome);
        Assert.True(store.SetDisabled("jo", true));
        Assert.Equal(SignInOutcome.Disabled, store.SignIn("jo", "another long password").Outcome);
        Assert.Contains("not a console role", store.SetRole("jo", "root"));
    }
}
