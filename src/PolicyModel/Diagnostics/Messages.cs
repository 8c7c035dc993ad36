namespace PolicyModel.Diagnostics;

/// <summary>
/// Every diagnostic the policy loader reports: one table of codes and messages, as NodaTime keeps its text error
/// messages. One code, one problem: a code may have several wordings of its problem, never two problems.
/// Templates are composite format strings filled with invariant culture; tests assert the text exactly.
/// The table is split by code range, one file each (PM01xx here); docs/policy.md lists every code once.
/// </summary>
internal static partial class Messages
{
    // PM0100 YAML syntax error
    public static readonly DiagnosticMessage SyntaxError = new("PM0100", "YAML syntax error: {0}");

    // PM0101 missing required key
    public static readonly DiagnosticMessage BindingNeedsAddressAndUser = new("PM0101", "a binding needs 'address' and 'user'");
    public static readonly DiagnosticMessage CategoryNeedsLists = new("PM0101", "category '{0}' needs 'lists': at least one list file");
    public static readonly DiagnosticMessage DeniedUserNeedsUserAndReason = new("PM0101", "a denied user needs 'user' and 'reason'");
    public static readonly DiagnosticMessage ExceptionNeedsAllowOrHosts = new("PM0101", "exception '{0}' needs 'allow' (categories) or 'hosts'");
    public static readonly DiagnosticMessage ExceptionNeedsName = new("PM0101", "every exception needs a 'name'");
    public static readonly DiagnosticMessage ExceptionNeedsUserOrRole = new("PM0101", "exception '{0}' needs 'user' or 'role'");
    public static readonly DiagnosticMessage ListNeedsPath = new("PM0101", "a list needs 'path'");
    public static readonly DiagnosticMessage MissingCategories = new("PM0101", "missing 'categories'");
    public static readonly DiagnosticMessage MissingClients = new("PM0101", "missing 'clients': the networks allowed to use the proxy (the proxy is never open to everyone)");
    public static readonly DiagnosticMessage MissingDefault = new("PM0101", "missing 'default': say 'allow' or 'block' for requests no rule decides");
    public static readonly DiagnosticMessage MissingRoles = new("PM0101", "missing 'roles': list every role the policy uses");
    public static readonly DiagnosticMessage MissingTimeZone = new("PM0101", "missing 'timezone' (an IANA name such as Europe/London)");
    public static readonly DiagnosticMessage NetworkNeedsCidrs = new("PM0101", "network '{0}' needs 'cidrs'");
    public static readonly DiagnosticMessage RuleNeedsName = new("PM0101", "every rule needs a 'name'");
    public static readonly DiagnosticMessage SafeSearchNeedsRoles = new("PM0101", "safe_search: missing 'roles': the roles whose search is locked to safe search");

    // PM0102 unknown key (with a suggestion)
    public static readonly DiagnosticMessage UnknownKey = new("PM0102", "unknown key '{0}' in {1}{2}");

    // PM0103 unknown role (with a suggestion)
    public static readonly DiagnosticMessage UnknownRole = new("PM0103", "unknown role '{0}'{1}");

    // PM0104 unknown time zone (with a suggestion)
    public static readonly DiagnosticMessage UnknownTimeZone = new("PM0104", "unknown time zone '{0}'{1}");

    // PM0105 wrong YAML shape: a mapping, list or single value expected
    public static readonly DiagnosticMessage BindingsNotAList = new("PM0105", "bindings must be a list of {{ address, user }}");
    public static readonly DiagnosticMessage DeniedUsersNotAList = new("PM0105", "denied_users must be a list of {{ user, reason, by }}");
    public static readonly DiagnosticMessage ExceptionsNotAList = new("PM0105", "exceptions must be a list");
    public static readonly DiagnosticMessage KeyNotPlainName = new("PM0105", "keys in {0} must be plain names");
    public static readonly DiagnosticMessage ListItemNotScalar = new("PM0105", "each item of {0} must be a single value");
    public static readonly DiagnosticMessage NotAList = new("PM0105", "{0} must be a list of values");
    public static readonly DiagnosticMessage NotAMapping = new("PM0105", "{0} must be a mapping of keys to values");
    public static readonly DiagnosticMessage NotAScalar = new("PM0105", "{0} must be a single value");
    public static readonly DiagnosticMessage RulesNotAList = new("PM0105", "rules must be a list");

    // PM0106 duplicate name (role, network, category, schedule, rule, exception, user, bound address)
    public static readonly DiagnosticMessage AddressBoundTwice = new("PM0106", "address {0} is bound twice");
    public static readonly DiagnosticMessage DuplicateCategory = new("PM0106", "duplicate category '{0}'");
    public static readonly DiagnosticMessage DuplicateException = new("PM0106", "duplicate exception name '{0}'");
    public static readonly DiagnosticMessage DuplicateNetwork = new("PM0106", "duplicate network '{0}'");
    public static readonly DiagnosticMessage DuplicateRole = new("PM0106", "duplicate role '{0}'");
    public static readonly DiagnosticMessage DuplicateRule = new("PM0106", "duplicate rule name '{0}' (first at line {1})");
    public static readonly DiagnosticMessage DuplicateSchedule = new("PM0106", "duplicate schedule '{0}'");
    public static readonly DiagnosticMessage DuplicateUser = new("PM0106", "duplicate user '{0}'");

    // PM0107 unknown schedule, network or category (with a suggestion)
    public static readonly DiagnosticMessage UnknownCategory = new("PM0107", "unknown category '{0}'{1}");
    public static readonly DiagnosticMessage UnknownNetwork = new("PM0107", "unknown network '{0}'{1}");
    public static readonly DiagnosticMessage UnknownSchedule = new("PM0107", "unknown schedule '{0}'{1}");

    // PM0108 YAML nested more than 64 levels deep (policy.yaml or a term calendar)
    public static readonly DiagnosticMessage TooDeep = new("PM0108", "nested more than {0} levels deep; a policy needs a handful");

    // PM0109 a file larger than its limit (see Limits below)
    public static readonly DiagnosticMessage FileTooLarge = new("PM0109", "{0} '{1}' is larger than the limit of {2}");
    public static readonly DiagnosticMessage PolicyFileTooLarge = new("PM0109", "'{0}' is larger than the limit of {1}");

    // PM0110 a file that is not a regular file (a device, FIFO or socket), or a link to one
    public static readonly DiagnosticMessage FileNotRegular = new("PM0110", "{0} '{1}' is not a regular file (a device, FIFO or socket); refusing to read it");
    public static readonly DiagnosticMessage PolicyFileNotRegular = new("PM0110", "'{0}' is not a regular file (a device, FIFO or socket); refusing to read it");

    // PM0111 `policy.yaml` not found or unreadable
    public static readonly DiagnosticMessage NoPolicyFile = new("PM0111", "no {0} in '{1}'");
    public static readonly DiagnosticMessage PolicyFileUnreadable = new("PM0111", "cannot read {0}: {1}");

    // PM0112 `policy.yaml` is empty
    public static readonly DiagnosticMessage PolicyFileEmpty = new("PM0112", "the policy file is empty");

    // PM0113 more than 64 roles, networks or categories
    public static readonly DiagnosticMessage TooManyCategories = new("PM0113", "at most 64 categories");
    public static readonly DiagnosticMessage TooManyNetworks = new("PM0113", "at most 64 networks");
    public static readonly DiagnosticMessage TooManyRoles = new("PM0113", "at most 64 roles");

    // PM0114 a keyword value that is not one of the allowed words (e.g. `action: deny`, `proxy_auth: on`, `alert: loud`, `exact: maybe`)
    public static readonly DiagnosticMessage BadAction = new("PM0114", "{0} must be 'allow' or 'block', not '{1}'{2}");
    public static readonly DiagnosticMessage BadAlert = new("PM0114", "alert must be true, false, low, medium or high, not '{0}'");
    public static readonly DiagnosticMessage BadBool = new("PM0114", "{0} must be true or false, not '{1}'");
    public static readonly DiagnosticMessage BadProxyAuth = new("PM0114", "proxy_auth must be off, optional or required, not '{0}'");

    // PM0115 `identity.required_on` with `proxy_auth: off`
    public static readonly DiagnosticMessage RequiredOnNeedsOptionalSignIn = new("PM0115", "required_on needs 'proxy_auth: optional' (sign-in on these networks, not elsewhere); with proxy_auth off nobody is asked to sign in");
}
