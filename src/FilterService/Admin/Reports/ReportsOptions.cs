namespace FilterService.Admin.Reports;

/// <summary>
/// The weekly report and the annual review pack (configuration section <c>Reports</c>, issue 19). The weekly email is
/// on when <c>Reports:Weekly:Recipients</c> is set; it is sent through the alert SMTP settings (<c>Alerts:Smtp</c>,
/// <c>Alerts:Email:From</c>), so it needs them.
/// </summary>
internal sealed class ReportsOptions
{
    public WeeklySettings Weekly { get; set; } = new();
    public ReviewSettings Review { get; set; } = new();

    /// <summary>Binds <c>Reports</c> and validates it against the alert settings. Returns null with every problem in <paramref name="errors"/>.</summary>
    public static ReportsOptions? Bind(IConfiguration configuration, Notifications.AlertOptions? alerts, List<string> errors)
    {
        int before = errors.Count;
        var o = new ReportsOptions();
        try
        {
            configuration.GetSection("Reports").Bind(o, b => b.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            errors.Add("Reports: " + ex.Message);
            return null;
        }
        try
        {
            Cronos.CronExpression.Parse(o.Weekly.Schedule);
        }
        catch (Cronos.CronFormatException ex)
        {
            errors.Add($"Reports:Weekly:Schedule: '{o.Weekly.Schedule}' is not a cron expression (minute hour day month weekday): {ex.Message}");
        }
        foreach (var to in o.Weekly.RecipientList.Where(t => !(MimeKit.MailboxAddress.TryParse(t, out var m) && m.Address.Contains('@'))))
        {
            errors.Add($"Reports:Weekly:Recipients: '{to}' is not an email address");
        }
        if (o.Weekly.RecipientList.Count > 0 && alerts is { EmailEnabled: false })
        {
            errors.Add("Reports:Weekly:Recipients: the weekly report is sent through the alert SMTP settings; set Alerts:Smtp:Host and Alerts:Email:From");
        }
        if (o.Weekly.TopHosts is < 1 or > 100)
        {
            errors.Add($"Reports:Weekly:TopHosts: {o.Weekly.TopHosts} is outside 1-100");
        }
        if (o.Review.SamplesPerList is < 1 or > 20)
        {
            errors.Add($"Reports:Review:SamplesPerList: {o.Review.SamplesPerList} is outside 1-20");
        }
        if (!ReviewSettings.TryParseAt(o.Review.At, out _, out _))
        {
            errors.Add($"Reports:Review:At: '{o.Review.At}' is not a weekday and a time such as 'Wed 10:30'");
        }
        return errors.Count == before ? o : null;
    }
}

internal sealed class WeeklySettings
{
    /// <summary>Who receives the weekly report, separated by commas or semicolons; empty: not emailed (the console still shows it).</summary>
    public string? Recipients { get; set; }

    /// <summary>When it is sent: a cron expression (minute hour day-of-month month day-of-week) in the policy's time zone. Default Monday 07:00.</summary>
    public string Schedule { get; set; } = "0 7 * * MON";

    /// <summary>How many of the most blocked hosts the report lists. Default 10.</summary>
    public int TopHosts { get; set; } = 10;

    public IReadOnlyList<string> RecipientList =>
        (Recipients ?? "").Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

internal sealed class ReviewSettings
{
    /// <summary>
    /// The categories no pupil group may reach: a reachable one is flagged. Default (null): <see cref="DefaultMustNotReach"/>,
    /// those of them the policy defines.
    /// </summary>
    public List<string>? PupilsMustNotReach { get; set; }

    /// <summary>Addresses (host names or URLs) tested for each category, besides a few entries read from its lists: <c>Reports:Review:TestAddresses:terrorism:0</c>.</summary>
    public Dictionary<string, List<string>> TestAddresses { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How many entries of each list file are tested. Default 3.</summary>
    public int SamplesPerList { get; set; } = 3;

    /// <summary>
    /// The moment of the school week the pack decides at (policy time zone): a weekday and a time. Default "Wed 10:30", a
    /// lesson; each outcome also says when the answer would next change.
    /// </summary>
    public string At { get; set; } = "Wed 10:30";

    /// <summary>
    /// Social media and circumvention, and the DfE's harmful content categories (discrimination, drugs, extremism,
    /// gambling, malware and hacking, pornography, piracy, self-harm, violence) under their usual list names.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultMustNotReach =
    [
        "social", "social-media", "social_networks", "circumvention", "proxy", "vpn", "doh", "adult", "porn", "pornography",
        "gambling", "drugs", "extremism", "radicalisation", "hate", "discrimination", "violence", "weapons", "self-harm",
        "selfharm", "suicide", "malware", "phishing", "hacking", "piracy", "warez",
    ];

    /// <summary>Parses "Wed 10:30" (English day name or its first three letters, 24-hour time).</summary>
    public static bool TryParseAt(string? text, out NodaTime.IsoDayOfWeek day, out TimeOnly time)
    {
        day = default;
        time = default;
        var parts = (text ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || parts[0].Length < 3)
        {
            return false;
        }
        int d = Array.IndexOf(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], parts[0][..3].ToLowerInvariant());
        if (d < 0 || !TimeOnly.TryParseExact(parts[1], "HH:mm", System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.None, out time))
        {
            return false;
        }
        day = (NodaTime.IsoDayOfWeek)(d + 1);
        return true;
    }
}
