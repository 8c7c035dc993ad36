using System.Text;
using FilterService.Admin.History;
using FilterService.Policy;
using PolicyModel.Documents;
using PolicyModel.Matching;

namespace FilterService.Admin.Editing;

/// <summary>One list of a category as the console shows it: its size and age; the school's own list is editable.</summary>
internal sealed record ListRow(string Path, string Format, int Entries, DateTimeOffset? LastModified, bool School);

/// <summary>A category as the lists page shows it.</summary>
internal sealed record CategoryLists(string Name, bool Statutory, IReadOnlyList<ListRow> Lists, IReadOnlyList<string> SchoolEntries)
{
    public string SchoolPath => ListEditor.SchoolListPath(Name);
}

/// <summary>
/// The school's own list entries per category (issue 18). Each category's entries live in a plain domain list of its
/// own, <c>lists/school-CATEGORY.txt</c>, that the console creates and adds to the category the first time; it is
/// edited line by line, so comments and order written by hand stay. Entries are normalised and validated by the
/// loader's own list reader. Statutory categories are read only.
/// </summary>
internal sealed class ListEditor(PolicyWriter writer, PolicyStore store)
{
    /// <summary>The most entries one upload may add: a school list, not a feed (a feed is a <c>source:</c>).</summary>
    public const int MaxUploadEntries = 10_000;

    public static string SchoolListPath(string category) => $"lists/school-{category}.txt";

    public IReadOnlyList<CategoryLists> Categories()
    {
        var policy = store.Current;
        return policy.Categories.Select(c => new CategoryLists(c.Name, c.Statutory,
            policy.Lists.Where(l => l.Category == c.Name)
                .Select(l => new ListRow(l.Path, l.Format, l.Entries, l.LastModified, l.Path == SchoolListPath(c.Name))).ToList(),
            c.Statutory ? [] : Lines(writer.Read(SchoolListPath(c.Name)))
                .Where(l => l.Trim() is { Length: > 0 } t && !t.StartsWith('#')).Select(l => l.Trim()).ToList())).ToList();
    }

    /// <summary>
    /// The normalised entry (lower case, IDN as ASCII, no trailing dot), or null and why not, exactly as the loader's
    /// list reader reads one line of a <c>domains</c> list.
    /// </summary>
    public static (string? Entry, string? Problem) Normalise(string text)
    {
        var line = text.Trim();
        if (line.Length == 0 || line.Contains('\n') || line.Contains('\r') || line.StartsWith('#'))
        {
            return (null, "an entry is one domain name on one line");
        }
        var parsed = ListReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(line + "\n")), "entry", ListFormat.Domains);
        if (parsed.Warnings.Count > 0 || parsed.Entries.Count != 1)
        {
            return (null, parsed.Warnings.Count > 0 ? parsed.Warnings[0].Message : "not a domain name");
        }
        return (parsed.Entries[0].Value, null);
    }

    /// <summary>Adds entries to the category's school list (one, or the lines of an uploaded file).</summary>
    public Task<FormOutcome> AddAsync(string category, string text, string who, string reason, string field = "entry", CancellationToken cancellationToken = default)
    {
        if (Refusal(category) is { } refused)
        {
            return Task.FromResult(refused);
        }
        var path = SchoolListPath(category);
        var before = writer.Read(path);
        var have = Lines(before).Select(l => l.Trim()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var added = new List<string>();
        var number = 0;
        foreach (var raw in Lines(text))
        {
            number++;
            if (raw.Trim() is not { Length: > 0 } t || t.StartsWith('#'))
            {
                continue;
            }
            var (entry, problem) = Normalise(t);
            if (entry is null)
            {
                return Task.FromResult(FormOutcome.Refused(EditCodes.Error(field, EditCodes.BadValue, $"line {number}: '{t}' is not a valid entry: {problem}", number, 1)));
            }
            if (have.Add(entry))
            {
                added.Add(entry);
            }
        }
        if (added.Count == 0)
        {
            return Task.FromResult(FormOutcome.Refused(EditCodes.Error(field, EditCodes.BadValue, "nothing to add: every entry is already in the list")));
        }
        if (added.Count > MaxUploadEntries)
        {
            return Task.FromResult(FormOutcome.Refused(EditCodes.Error(field, EditCodes.BadValue, $"{added.Count} entries in one go; at most {MaxUploadEntries}")));
        }
        var start = before ?? $"# The school's own entries for category '{category}', edited in the console and by hand alike\n# (one domain a line, each covering its subdomains; comments are kept).\n";
        var after = start + (start.Length > 0 && !start.EndsWith('\n') ? "\n" : "") + string.Join("", added.Select(a => a + "\n"));
        return ApplyAsync(category, path, before, after, who, reason, cancellationToken);
    }

    /// <summary>Removes one entry's line(s) from the category's school list; every other line stays as it was.</summary>
    public Task<FormOutcome> RemoveAsync(string category, string entry, string who, string reason, CancellationToken cancellationToken = default)
    {
        if (Refusal(category) is { } refused)
        {
            return Task.FromResult(refused);
        }
        var path = SchoolListPath(category);
        var before = writer.Read(path);
        var target = Normalise(entry).Entry ?? entry.Trim();
        var lines = (before ?? "").Split('\n');
        var kept = lines.Where(l => !string.Equals(l.Trim(), target, StringComparison.OrdinalIgnoreCase)).ToArray();
        if (before is null || kept.Length == lines.Length)
        {
            return Task.FromResult(FormOutcome.Refused(EditCodes.Error("entry", EditCodes.BadValue, $"'{entry}' is not in {path}")));
        }
        return ApplyAsync(category, path, before, string.Join('\n', kept), who, reason, cancellationToken);
    }

    private FormOutcome? Refusal(string category)
    {
        var known = store.Current.Categories.FirstOrDefault(c => c.Name == category);
        if (known.Name is null)
        {
            return FormOutcome.Refused(EditCodes.Error("category", EditCodes.BadValue, $"unknown category '{category}'"));
        }
        return known.Statutory
            ? FormOutcome.Refused(EditCodes.Error("category", EditCodes.Statutory, $"'{category}' is a statutory category; it is read only in the console and cannot be weakened"))
            : null;
    }

    /// <summary>Writes the list; the first time, policy.yaml gains the list in the category as well (one change).</summary>
    private Task<FormOutcome> ApplyAsync(string category, string path, string? before, string after, string who, string reason, CancellationToken cancellationToken)
    {
        var list = new FileChange(path, before, after);
        if (store.Current.Lists.Any(l => l.Category == category && l.Path == path))
        {
            return WriteListAsync(list, who, reason, cancellationToken);
        }
        return PolicyEdits.EditYamlAsync(writer, who, reason, PolicyLoader.FileName, layout =>
        {
            var lists = new object[] { "categories", category, "lists" };
            if (layout.Get(lists) is not YamlDotNet.RepresentationModel.YamlSequenceNode seq)
            {
                return YamlEdit.Refuse("category", $"category '{category}' has no 'lists:' the console can add to; add {path} to it by hand");
            }
            return layout.InsertItem(lists, seq.Children.Count, YamlMap.Of(("path", path), ("format", "domains")));
        }, extra: [list], cancellationToken: cancellationToken);
    }

    private async Task<FormOutcome> WriteListAsync(FileChange list, string who, string reason, CancellationToken cancellationToken)
    {
        var outcome = await writer.ApplyAsync(new PolicyChange(who, reason, ChangeSource.Console, [list]), cancellationToken);
        return new FormOutcome(outcome, PolicyEdits.ByField(outcome.Diagnostics, PolicyLoader.FileName, null, null));
    }

    private static IEnumerable<string> Lines(string? text) => (text ?? "").Split('\n').Select(l => l.TrimEnd('\r'));
}
