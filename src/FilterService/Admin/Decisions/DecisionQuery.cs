using System.Globalization;

namespace FilterService.Admin.Decisions;

/// <summary>
/// A search of the decision index: every filter optional, newest first, one page after <see cref="Before"/> (keyset
/// paging: the time and id of the last row of the previous page, never an offset).
/// </summary>
internal sealed record DecisionQuery
{
    public const int DefaultPageSize = 50, MaxPageSize = 500;

    /// <summary>An account name (any case), or a pupil's pseudonym (<c>pupil-7c1e9a2b</c>, <see cref="PupilNames"/>).</summary>
    public string? User { get; init; }

    /// <summary>The device (client) address, exactly.</summary>
    public string? Client { get; init; }

    /// <summary>
    /// A registrable domain finds it and its subdomains (<c>facebook.com</c> finds <c>www.facebook.com</c>); any other
    /// host (<c>www.facebook.com</c>) finds that host exactly.
    /// </summary>
    public string? Host { get; init; }

    public string? Category { get; init; }

    /// <summary>null for both, true for blocked, false for allowed.</summary>
    public bool? Blocked { get; init; }

    /// <summary>From this instant on (inclusive).</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Before this instant (exclusive).</summary>
    public DateTimeOffset? Until { get; init; }

    public PageKey? Before { get; init; }

    public int PageSize { get; init; } = DefaultPageSize;

    /// <summary>The filter shape, for the benchmark's report: which filters are set (<c>user+action</c>, <c>none</c>).</summary>
    public string Shape
    {
        get
        {
            var parts = new List<string>();
            if (!string.IsNullOrWhiteSpace(User)) parts.Add("user");
            if (!string.IsNullOrWhiteSpace(Client)) parts.Add("client");
            if (!string.IsNullOrWhiteSpace(Host)) parts.Add("host");
            if (!string.IsNullOrWhiteSpace(Category)) parts.Add("category");
            if (Blocked is not null) parts.Add("action");
            if (From is not null || Until is not null) parts.Add("time");
            if (Before is not null) parts.Add("page2+");
            return parts.Count == 0 ? "none" : string.Join('+', parts);
        }
    }
}

/// <summary>Where a page ends: the time (Unix ms) and id of its last row.</summary>
internal readonly record struct PageKey(long TimeMs, long Id)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{TimeMs}.{Id}");

    public static PageKey? Parse(string? text)
    {
        if (text is null)
        {
            return null;
        }
        int dot = text.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && long.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var ts)
            && long.TryParse(text.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? new PageKey(ts, id) : null;
    }
}

/// <summary>One decision as the search returns it, before <see cref="PupilNames"/> decides how its person is shown.</summary>
internal sealed record DecisionRow(
    long Id, DateTimeOffset At, string? User, string? DisplayName, IReadOnlyList<string> Roles, string Client, string? Network,
    string Method, string Host, string Target, bool Blocked, string Rule, string? Category, int Status, string? Reference);

/// <summary>A page of results, newest first; <see cref="Next"/> is the key of the following (older) page, null at the end.</summary>
internal sealed record DecisionPage(IReadOnlyList<DecisionRow> Rows, PageKey? Next);
