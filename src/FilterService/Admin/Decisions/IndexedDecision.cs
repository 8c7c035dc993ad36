namespace FilterService.Admin.Decisions;

/// <summary>
/// One audit record as the decision index keeps it: the fields the search shows and filters on. Parsed from the audit
/// file's JSON line (<see cref="AuditLineParser"/>); <see cref="Host"/> is derived from <see cref="Target"/>.
/// </summary>
internal sealed class IndexedDecision
{
    public long TimeMs { get; set; }
    public string? User { get; set; }

    /// <summary>The display name, when the record carries one (<c>name</c>); today's audit records do not.</summary>
    public string? DisplayName { get; set; }

    /// <summary>The roles, comma-joined in the record's order; null when the record has none.</summary>
    public string? Roles { get; set; }
    public string Client { get; set; } = "";
    public string? Network { get; set; }
    public string Method { get; set; } = "";
    public string Host { get; set; } = "";

    /// <summary>The registrable domain of <see cref="Host"/> (<see cref="AuditLineParser.SiteOf"/>): what a host search for <c>google.com</c> means.</summary>
    public string Site { get; set; } = "";
    public string Target { get; set; } = "";
    public bool Blocked { get; set; }
    public string Rule { get; set; } = "";
    public string? Category { get; set; }
    public int Status { get; set; }
    public string? Reference { get; set; }

    public void Clear()
    {
        TimeMs = 0;
        User = DisplayName = Roles = Network = Category = Reference = null;
        Client = Method = Host = Site = Target = Rule = "";
        Blocked = false;
        Status = 0;
    }
}

/// <summary>The kinds of interned strings in the index's <c>terms</c> table (the values are stored; never renumber).</summary>
internal enum TermKind
{
    User = 1,
    DisplayName = 2,
    Roles = 3,
    Client = 4,
    Network = 5,
    Method = 6,
    Host = 7,
    Rule = 8,
    Category = 9,
}
