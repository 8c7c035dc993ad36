namespace PolicyModel.Matching;

/// <summary>
/// Collects lists and their entries, then builds an immutable <see cref="DomainMatcher"/>.
/// Categories are numbered 0..63; a list belongs to exactly one category.
/// </summary>
public sealed class DomainMatcherBuilder
{
    /// <summary>Registers a list and returns its id. <paramref name="name"/> is the display path (e.g. <c>lists/social.txt</c>).</summary>
    public int AddList(string name, int category) => throw new NotImplementedException();

    public void Add(int listId, in ListEntry entry) => throw new NotImplementedException();

    public DomainMatcher Build() => throw new NotImplementedException();
}

/// <summary>
/// Answers "which categories list this host or URL?". Immutable, shared by all threads without locks,
/// and allocation-free per <see cref="Match"/>.
/// </summary>
public sealed class DomainMatcher
{
    public static DomainMatcher Empty { get; } = new DomainMatcherBuilder().Build();

    /// <summary>
    /// The categories (bit i = category i) whose lists contain <paramref name="host"/> (already normalised:
    /// lower-case ASCII/punycode, no trailing dot; or an IP literal) or one of its parent domains, or a URL prefix
    /// of <c>host + pathAndQuery</c>. <paramref name="pathAndQuery"/> may be empty (CONNECT, no path known).
    /// </summary>
    public ulong Match(ReadOnlySpan<char> host, ReadOnlySpan<char> pathAndQuery) => throw new NotImplementedException();

    /// <summary>The most specific entry placing the host or URL in <paramref name="category"/>, or null. May allocate.</summary>
    public MatchHit? Explain(ReadOnlySpan<char> host, ReadOnlySpan<char> pathAndQuery, int category) => throw new NotImplementedException();

    /// <summary>Number of distinct entries loaded for a list.</summary>
    public int EntryCount(int listId) => throw new NotImplementedException();
}
