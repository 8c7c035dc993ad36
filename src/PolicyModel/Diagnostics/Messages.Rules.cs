namespace PolicyModel.Diagnostics;

/// <summary>PM04xx: rules and exceptions.</summary>
internal static partial class Messages
{
    // PM0401 rule has no action
    public static readonly DiagnosticMessage RuleHasNoAction = new("PM0401", "rule '{0}' has no action (allow or block)");

    // PM0402 rule or exception allows a statutory category
    public static readonly DiagnosticMessage ExceptionAllowsStatutory = new("PM0402", "exception '{0}' tries to allow the statutory category '{1}'; statutory lists cannot be overridden");
    public static readonly DiagnosticMessage RuleAllowsStatutory = new("PM0402", "rule '{0}' tries to allow the statutory category '{1}'; statutory lists cannot be overridden");

    // PM0403 rule is unreachable: an earlier rule matches everything it does
    public static readonly DiagnosticMessage RuleNeverMatches = new("PM0403", "rule '{0}' can never match: rule '{1}' (line {2}) matches every request it does");

    // PM0404 exception missing `granted_by`, `reason` or `until`
    public static readonly DiagnosticMessage ExceptionNotAttributable = new("PM0404", "exception '{0}' needs {1}: every exception is dated and attributable");

    // PM0405 exception has expired (warning)
    public static readonly DiagnosticMessage ExceptionExpired = new("PM0405", "exception '{0}' expired at {1:yyyy-MM-dd HH:mm} and no longer applies");

    // PM0406 bad host pattern
    public static readonly DiagnosticMessage BadHostPattern = new("PM0406", "bad host pattern '{0}'");
    public static readonly DiagnosticMessage BadHostPatternWhy = new("PM0406", "bad host pattern '{0}': {1}");

    // PM0407 rule or exception allows a host that a statutory list covers
    public static readonly DiagnosticMessage AllowsStatutoryHost = new("PM0407", "{0} tries to allow '{1}', which is in the statutory category '{2}'; statutory lists cannot be overridden");

    // PM0408 unknown HTTP method in `methods`
    public static readonly DiagnosticMessage UnknownHttpMethod = new("PM0408", "unknown HTTP method '{0}'");

    // PM0409 path pattern that does not start with `/` (or `*`)
    public static readonly DiagnosticMessage BadPathPattern = new("PM0409", "path pattern '{0}' must start with '/'");

    // PM0410 exception `until` not after `from`
    public static readonly DiagnosticMessage ExceptionEndsBeforeStart = new("PM0410", "exception '{0}' ends before it starts");

    // PM0411 exception `from`/`until` is not a date or a date-time
    public static readonly DiagnosticMessage NotADateOrDateTime = new("PM0411", "'{0}' is not a date (2026-12-18) or a date-time in school local time (2026-12-18T16:00 or 2026-12-18T16:00:30)");
}
