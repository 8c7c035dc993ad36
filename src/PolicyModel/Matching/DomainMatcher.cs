using System.Runtime.InteropServices;
using System.Text;

namespace PolicyModel.Matching;

/// <summary>
/// Collects lists and their entries, then builds an immutable <see cref="DomainMatcher"/>.
/// Categories are numbered 0..63; a list belongs to exactly one category. Not thread-safe.
/// </summary>
public sealed class DomainMatcherBuilder
{
    /// <summary>One (list, kind) membership of an entry; entries keep a linked chain of them.</summary>
    private struct Member
    {
        public int List;
        public EntryKind Kind;
        public int Next;
    }

    private readonly List<(string Name, int Category)> _lists = new();
    private readonly List<int> _entryCounts = new();
    private readonly Dictionary<string, int> _domains = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _urls = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _hashes = new(StringComparer.Ordinal);
    private Member[] _members = new Member[64];
    private int _memberCount;

    /// <summary>Registers a list and returns its id. <paramref name="name"/> is the display path (e.g. <c>lists/social.txt</c>).</summary>
    public int AddList(string name, int category)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(category);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(category, 63);
        _lists.Add((name, category));
        _entryCounts.Add(0);
        return _lists.Count - 1;
    }

    /// <summary>
    /// Adds one entry to a list; duplicates within a list are ignored. Values from <see cref="ListReader"/> are
    /// already normalised; anything else is normalised here, and an invalid value throws <see cref="ArgumentException"/>.
    /// </summary>
    public void Add(int listId, in ListEntry entry)
    {
        if ((uint)listId >= (uint)_lists.Count)
            throw new ArgumentOutOfRangeException(nameof(listId), listId, "Unknown list id; call AddList first.");
        string value = entry.Value ?? throw new ArgumentException("The entry has no value.", nameof(entry));

        switch (entry.Kind)
        {
            case EntryKind.Subtree:
            case EntryKind.Exact:
                if (!HostName.IsNormalizedName(value) || HostName.IsDottedQuad(value))
                    value = HostName.Normalize(value, value) ?? throw Invalid(entry, "a host name or IP address");
                AddMember(_domains, value, listId, entry.Kind);
                break;
            case EntryKind.UrlPrefix:
                AddMember(_urls, EntryText.NormalizeUrlPrefix(value) ?? throw Invalid(entry, "host/path"), listId, EntryKind.UrlPrefix);
                break;
            case EntryKind.Hash:
                if (!EntryText.IsDigestHex(value))
                    throw Invalid(entry, "64 hex digits (SHA-256)");
                AddMember(_hashes, value.ToLowerInvariant(), listId, EntryKind.Hash);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(entry), entry.Kind, "Unknown entry kind.");
        }
    }

    public DomainMatcher Build()
    {
        var tags = new TagTable(_lists);
        var tagLookup = new Dictionary<long, int>();
        var multiLookup = new Dictionary<string, int>(StringComparer.Ordinal);
        var scratch = new List<(int List, EntryKind Kind)>();

        List<KeyValuePair<string, int>> Tagged(Dictionary<string, int> entries)
        {
            var result = new List<KeyValuePair<string, int>>(entries.Count);
            foreach (var (value, head) in entries)
                result.Add(new(value, TagOf(head)));
            return result;
        }

        int TagOf(int head)
        {
            ref readonly Member first = ref _members[head];
            if (first.Next < 0)
            {
                long key = ((long)first.List << 8) | (byte)first.Kind;
                ref int slot = ref CollectionsMarshal.GetValueRefOrAddDefault(tagLookup, key, out bool exists);
                if (!exists)
                    slot = tags.Add([(first.List, first.Kind)]);
                return slot;
            }

            scratch.Clear();
            for (int m = head; m >= 0; m = _members[m].Next)
                scratch.Add((_members[m].List, _members[m].Kind));
            scratch.Sort();
            var text = new StringBuilder();
            foreach (var (list, kind) in scratch)
                text.Append(list).Append((char)('a' + (int)kind)).Append(',');
            ref int multi = ref CollectionsMarshal.GetValueRefOrAddDefault(multiLookup, text.ToString(), out bool found);
            if (!found)
                multi = tags.Add(scratch.ToArray());
            return multi;
        }

        var domains = new DomainTable(Tagged(_domains));
        var urls = _urls.Count == 0 ? null : new UrlPrefixIndex(Tagged(_urls));
        var hashes = _hashes.Count == 0 ? null : new HashIndex(Tagged(_hashes));
        var lists = new DomainMatcher.ListInfo[_lists.Count];
        for (int i = 0; i < lists.Length; i++)
            lists[i] = new DomainMatcher.ListInfo(_lists[i].Name, _lists[i].Category, _entryCounts[i]);
        return new DomainMatcher(domains, urls, hashes, tags, lists);
    }

    private void AddMember(Dictionary<string, int> entries, string value, int listId, EntryKind kind)
    {
        ref int head = ref CollectionsMarshal.GetValueRefOrAddDefault(entries, value, out bool exists);
        if (exists)
        {
            for (int m = head; m >= 0; m = _members[m].Next)
            {
                if (_members[m].List == listId && _members[m].Kind == kind)
                    return;
            }
        }
        else
        {
            head = -1;
        }

        if (_memberCount == _members.Length)
            Array.Resize(ref _members, _members.Length * 2);
        _members[_memberCount] = new Member { List = listId, Kind = kind, Next = head };
        head = _memberCount++;
        _entryCounts[listId]++;
    }

    private static ArgumentException Invalid(in ListEntry entry, string expected) =>
        new($"Line {entry.Line}: '{entry.Value}' is not a valid {entry.Kind} entry; expected {expected}.", nameof(entry));
}

/// <summary>
/// The distinct sets of (list, kind) memberships that entries have. Entries store an index into this small table
/// instead of their own lists, so a million names from one list share one tag.
/// </summary>
internal sealed class TagTable
{
    private readonly List<(string Name, int Category)> _lists;
    private readonly List<ulong> _full = new();
    private readonly List<ulong> _subtree = new();
    private readonly List<(int List, EntryKind Kind)[]> _members = new();

    public TagTable(List<(string Name, int Category)> lists) => _lists = lists;

    public int Add((int List, EntryKind Kind)[] members)
    {
        if (_members.Count > ushort.MaxValue)
            throw new InvalidOperationException($"More than {ushort.MaxValue + 1} distinct combinations of lists share entries.");
        ulong full = 0, subtree = 0;
        foreach (var (list, kind) in members)
        {
            ulong bit = 1UL << _lists[list].Category;
            full |= bit;
            if (kind == EntryKind.Subtree)
                subtree |= bit;
        }
        _full.Add(full);
        _subtree.Add(subtree);
        _members.Add(members);
        return _members.Count - 1;
    }

    /// <summary>Categories of a tag's entries when they match the host itself (any kind).</summary>
    public ulong[] FullMasks => _full.ToArray();

    /// <summary>Categories of a tag's entries when they match a parent domain (subtree entries only).</summary>
    public ulong[] SubtreeMasks => _subtree.ToArray();

    public (int List, EntryKind Kind)[][] Members => _members.ToArray();
}

/// <summary>
/// Answers "which categories list this host or URL?". Immutable, shared by all threads without locks,
/// and allocation-free per <see cref="Match"/>.
/// </summary>
public sealed class DomainMatcher
{
    internal readonly record struct ListInfo(string Name, int Category, int EntryCount);

    private readonly DomainTable _domains;
    private readonly UrlPrefixIndex? _urls;
    private readonly HashIndex? _hashes;
    private readonly ulong[] _fullMask;
    private readonly ulong[] _subtreeMask;
    private readonly (int List, EntryKind Kind)[][] _tagMembers;
    private readonly ListInfo[] _lists;

    internal DomainMatcher(DomainTable domains, UrlPrefixIndex? urls, HashIndex? hashes, TagTable tags, ListInfo[] lists)
    {
        _domains = domains;
        _urls = urls;
        _hashes = hashes;
        _fullMask = tags.FullMasks;
        _subtreeMask = tags.SubtreeMasks;
        _tagMembers = tags.Members;
        _lists = lists;
    }

    public static DomainMatcher Empty { get; } = new DomainMatcherBuilder().Build();

    /// <summary>Number of lists registered with the builder.</summary>
    public int ListCount => _lists.Length;

    /// <summary>Distinct host names (subtree or exact) across all lists.</summary>
    public int DomainCount => _domains.Count;

    /// <summary>Bytes held by the domain table; the other parts are small.</summary>
    internal long DomainTableBytes => _domains.ResidentBytes;

    /// <summary>
    /// The categories (bit i = category i) whose lists contain <paramref name="host"/> (already normalised:
    /// lower-case ASCII/punycode, no trailing dot; or an IP literal) or one of its parent domains, or a URL prefix
    /// of <c>host + pathAndQuery</c>. <paramref name="pathAndQuery"/> may be empty (CONNECT, no path known); it is
    /// judged in its canonical form (<see cref="UrlPath"/>), which costs one scan and no allocation when it already is.
    /// </summary>
    public ulong Match(ReadOnlySpan<char> host, ReadOnlySpan<char> pathAndQuery)
    {
        ulong mask = _domains.Match(host, _fullMask, _subtreeMask);
        if ((_urls is not null || _hashes is not null) && !UrlPath.IsCanonical(pathAndQuery))
            pathAndQuery = UrlPath.Canonicalize(pathAndQuery);
        if (_urls is not null)
            mask |= _urls.Match(host, pathAndQuery, _fullMask);
        if (_hashes is not null)
            mask |= _hashes.Match(host, pathAndQuery, _fullMask);
        return mask;
    }

    /// <summary>The most specific entry placing the host or URL in <paramref name="category"/>, or null. May allocate.</summary>
    /// <remarks>
    /// Specificity is the length of the text that matched (a URL prefix beats its host; a longer suffix beats a
    /// shorter one); on a tie the lowest list id wins.
    /// </remarks>
    public MatchHit? Explain(ReadOnlySpan<char> host, ReadOnlySpan<char> pathAndQuery, int category)
    {
        MatchHit? best = null;
        int bestLength = -1;
        if ((_urls is not null || _hashes is not null) && !UrlPath.IsCanonical(pathAndQuery))
            pathAndQuery = UrlPath.Canonicalize(pathAndQuery); // as Match: only URL entries read the path

        // The entry's text is made only for a hit that wins (entry null: the domain hit host[start..]).
        void Consider(ReadOnlySpan<char> host, int tag, bool wholeHost, int length, string? entry, int start)
        {
            if (length <= bestLength)
                return;
            foreach (var (list, kind) in _tagMembers[tag])
            {
                if (_lists[list].Category != category || (kind == EntryKind.Exact && !wholeHost))
                    continue;
                best = new MatchHit(list, _lists[list].Name, kind, entry ?? host[start..].ToString());
                bestLength = length;
                return;
            }
        }

        var domains = t_domainHits ??= [];
        _domains.FindAll(host, domains, t_tags ??= []);
        foreach (var (start, tag, wholeHost) in domains)
            Consider(host, tag, wholeHost, host.Length - start, null, start);
        if (_urls is not null)
        {
            foreach (var (entry, tag) in _urls.FindAll(host, pathAndQuery))
                Consider(host, tag, true, entry.Length, entry, 0);
        }
        if (_hashes is not null)
        {
            foreach (var (hex, tag, length) in _hashes.FindAll(host, pathAndQuery))
                Consider(host, tag, true, length, "sha256:" + hex[..12], 0);
        }
        return best;
    }

    // Explain's scratch, per thread: it runs for every blocked request.
    [ThreadStatic] private static List<(int Start, int Tag, bool WholeHost)>? t_domainHits;
    [ThreadStatic] private static List<int>? t_tags;

    /// <summary>Every URL-prefix entry with the list (name, category index) holding it; allocates.</summary>
    public IEnumerable<(string Entry, string List, int Category)> UrlPrefixEntries()
    {
        if (_urls is null)
            yield break;
        foreach (var (entry, tag) in _urls.All())
        {
            foreach (var (list, kind) in _tagMembers[tag])
            {
                if (kind == EntryKind.UrlPrefix)
                    yield return (entry, _lists[list].Name, _lists[list].Category);
            }
        }
    }

    /// <summary>Number of distinct entries loaded for a list.</summary>
    public int EntryCount(int listId)
    {
        if ((uint)listId >= (uint)_lists.Length)
            throw new ArgumentOutOfRangeException(nameof(listId), listId, "Unknown list id.");
        return _lists[listId].EntryCount;
    }
}
