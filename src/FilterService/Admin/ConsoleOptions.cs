using FilterService.Audit;
using FilterService.Settings;

namespace FilterService.Admin;

/// <summary>The console (section <c>Console</c>, docs/console.md): where its data lives, who is a pupil, lockout.</summary>
internal sealed class ConsoleOptions
{
    /// <summary>The directory of <c>console.db</c>, the pseudonym key and the sign-in cookie keys. Default <c>&lt;Audit:Path&gt;/console</c>.</summary>
    public string DataPath { get; set; } = "";

    /// <summary>The roles whose holders are pupils (<see cref="PupilNames"/>). Default <c>pupil</c>.</summary>
    public List<string> PupilRoles { get; set; } = ["pupil"];

    /// <summary>The console's absolute URL (https://filter.school.example:9090/), for links in alert emails; optional.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>Section <c>Console:Lockout</c>: wrong passwords per account before it is locked.</summary>
    public LockoutOptions Lockout { get; set; } = new();

    public string DatabasePath => Path.Combine(DataPath, "console.db");
    public string PseudonymKeyPath => Path.Combine(DataPath, "pseudonym.key");
    public string CookieKeysPath => Path.Combine(DataPath, "cookie-keys");

    /// <summary>
    /// Creates <see cref="DataPath"/> owner-only (0700) if it is missing: it holds password hashes, the pseudonym key
    /// and the cookie keys. An existing directory keeps its mode (docs/console.md).
    /// </summary>
    public void EnsureDataPath()
    {
        if (!Directory.Exists(DataPath))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(DataPath);
            }
            else
            {
                Directory.CreateDirectory(DataPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }

    /// <summary>Binds and validates section <c>Console</c>; every problem goes to <paramref name="errors"/> (the caller reports them together).</summary>
    public static ConsoleOptions Bind(IConfiguration configuration, string contentRoot, List<string> errors)
    {
        var options = new ConsoleOptions();
        ServiceOptions.BindSection(configuration, "Console", options, errors, "PupilRoles", "Lockout");
        ServiceOptions.BindSection(configuration, "Console:Lockout", options.Lockout, errors);
        var roles = configuration.GetSection("Console:PupilRoles");
        if (roles.Value is { } scalar)
        {
            options.PupilRoles = scalar.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        }
        else if (roles.GetChildren().Any())
        {
            options.PupilRoles = roles.GetChildren().Select(c => c.Value?.Trim()).Where(v => !string.IsNullOrEmpty(v)).Select(v => v!).ToList();
        }
        if (string.IsNullOrWhiteSpace(options.DataPath))
        {
            var audit = configuration["Audit:Path"] is { Length: > 0 } a ? a : new AuditOptions().Path;
            options.DataPath = Path.Combine(Path.GetFullPath(audit, contentRoot), "console");
        }
        else
        {
            options.DataPath = Path.GetFullPath(options.DataPath, contentRoot);
        }
        if (options.PublicUrl is { } url && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
        {
            errors.Add($"Console:PublicUrl: '{url}' is not an absolute http:// or https:// URL");
        }
        if (options.Lockout.MaxFailures is < 1 or > 1000)
        {
            errors.Add($"Console:Lockout:MaxFailures: {options.Lockout.MaxFailures} is outside 1-1000");
        }
        if (options.Lockout.Duration <= TimeSpan.Zero)
        {
            errors.Add($"Console:Lockout:Duration: {options.Lockout.Duration} must be positive");
        }
        return options;
    }
}

/// <summary>Section <c>Console:Lockout</c>.</summary>
internal sealed class LockoutOptions
{
    /// <summary>Wrong passwords in a row that lock the account. Default 10.</summary>
    public int MaxFailures { get; set; } = 10;

    /// <summary>How long a locked account stays locked (an ict-manager can unlock it sooner). Default 15 minutes.</summary>
    public TimeSpan Duration { get; set; } = TimeSpan.FromMinutes(15);
}
