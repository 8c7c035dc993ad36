using System.Text;
using PolicyModel.Decisions;
using PolicyModel.Documents;
using PolicyModel.Files;
using YamlDotNet.RepresentationModel;

namespace FilterService.Admin.History;

/// <summary>One tracked file as it is now: its text, or its <see cref="FileSummary"/>; null when it does not exist.</summary>
internal sealed record TrackedFile(string Path, FileTracking Tracking, string? Text);

/// <summary>
/// Which files of the policy directory the history tracks, and how (History/README.md, "What is tracked"):
/// <list type="bullet">
/// <item><c>policy.yaml</c>, the term calendars and the never-inspect lists: whole (<see cref="FileTracking.Content"/>);</item>
/// <item>every list a category names, whole when it is the school's own: at most <see cref="MaxContentBytes"/>, not
/// statutory, not hashed, not fetched by a feed, not a UT1 folder; otherwise by <see cref="FileSummary"/> (SHA-256,
/// bytes, entries as loaded): the IWF and CTIRU lists may not be disclosed, and a 35 MB feed has no useful diff;</item>
/// <item>users files and timetables by summary only (SHA-256, bytes, lines), never their text: they hold pupils' names
/// and password hashes, and auditors read the history.</item>
/// </list>
/// The names are read from <c>policy.yaml</c> itself, so a file the policy stops naming stops being tracked (its last
/// recorded state stays in the history). Paths outside the directory are not tracked. Summaries of unchanged files
/// (same size and modification time) are kept from the last call, so a reload does not hash every big list again.
/// Not thread-safe: the detector calls it under <see cref="PolicyDirectoryGate"/>.
/// </summary>
internal sealed class TrackedFiles(string directory)
{
    /// <summary>The school's own lists are small; anything larger is kept by summary.</summary>
    public const long MaxContentBytes = 1 << 20;

    private readonly Dictionary<string, (long Length, DateTime Modified, string Sha256, long Bytes, long Lines)> _hashes = new(StringComparer.Ordinal);

    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>Every tracked file as it is on disk now, in a stable order (policy.yaml first); <paramref name="policy"/> gives the lists' entry counts.</summary>
    public IReadOnlyList<TrackedFile> Read(PolicySnapshot? policy)
    {
        var wanted = new Dictionary<string, Kind>(StringComparer.Ordinal) { [PolicyLoader.FileName] = Kind.Whole };
        var yaml = ReadText(PolicyLoader.FileName);
        if (yaml is not null)
        {
            Named(yaml, wanted);
        }
        var files = new List<TrackedFile>();
        foreach (var (path, kind) in wanted.OrderBy(w => w.Key == PolicyLoader.FileName ? 0 : 1).ThenBy(w => w.Key, StringComparer.Ordinal))
        {
            files.AddRange(Track(path, kind, policy));
        }
        return files;
    }

    private enum Kind
    {
        /// <summary>policy.yaml, term calendars, never-inspect lists: whole when small.</summary>
        Whole,
        /// <summary>A category's list that may be kept whole (small, not statutory, not hashed, no feed).</summary>
        OwnList,
        /// <summary>A statutory, hashed or feed-managed list, or a UT1 folder: summary with entries.</summary>
        ManagedList,
        /// <summary>A users file or timetable: summary with lines, never the text.</summary>
        People,
    }

    private IEnumerable<TrackedFile> Track(string path, Kind kind, PolicySnapshot? policy)
    {
        var full = Path.Combine(Directory, path);
        if (System.IO.Directory.Exists(full))
        {
            // A UT1 category folder: its two files, as the loader reads them.
            foreach (var part in new[] { "domains", "urls" })
            {
                yield return Summarised(path + "/" + part, FileSummary.Lines);
            }
            yield break;
        }
        if (!File.Exists(full))
        {
            yield return new TrackedFile(path, kind is Kind.ManagedList or Kind.People ? FileTracking.Summary : FileTracking.Content, null);
            yield break;
        }
        var entries = policy?.Lists.FirstOrDefault(l => l.Path == path)?.Entries;
        var small = new FileInfo(full).Length <= MaxContentBytes;
        yield return kind switch
        {
            Kind.People => Summarised(path, FileSummary.Lines),
            Kind.ManagedList => Summarised(path, entries is null ? FileSummary.Lines : FileSummary.Entries, entries),
            _ when small => new TrackedFile(path, FileTracking.Content, ReadText(path)),
            _ => Summarised(path, entries is null ? FileSummary.Lines : FileSummary.Entries, entries),
        };
    }

    private TrackedFile Summarised(string path, string countName, long? count = null)
    {
        var full = Path.Combine(Directory, path);
        var info = new FileInfo(full);
        if (!info.Exists)
        {
            return new TrackedFile(path, FileTracking.Summary, null);
        }
        if (!_hashes.TryGetValue(full, out var known) || known.Length != info.Length || known.Modified != info.LastWriteTimeUtc)
        {
            var summary = FileSummary.OfFile(full, FileSummary.Lines);
            known = (info.Length, info.LastWriteTimeUtc, summary.Sha256, summary.Bytes, summary.Count);
            _hashes[full] = known;
        }
        return new TrackedFile(path, FileTracking.Summary, new FileSummary(known.Sha256, known.Bytes, countName, count ?? known.Lines).Format());
    }

    private string? ReadText(string path)
    {
        var full = Path.Combine(Directory, path);
        return PolicyFiles.Inspect(full, MaxContentBytes) == PolicyFiles.Check.Ok ? File.ReadAllText(full, Encoding.UTF8) : null;
    }

    /// <summary>The files <paramref name="yaml"/> names, with how each is kept; a policy that does not parse names none.</summary>
    private void Named(string yaml, Dictionary<string, Kind> wanted)
    {
        YamlMappingNode root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode r)
            {
                return;
            }
            root = r;
        }
        catch (YamlDotNet.Core.YamlException)
        {
            return;
        }
        void Add(YamlNode? node, Kind kind)
        {
            if (node is YamlScalarNode { Value: { Length: > 0 } value } && Inside(value) is { } path)
            {
                // The most private way wins: a users file named as a list too is still never kept whole.
                wanted[path] = wanted.TryGetValue(path, out var had) && had > kind ? had : kind;
            }
        }
        Add(Get(Get(root, "identity"), "users"), Kind.People);
        if (Get(root, "schedules") is YamlMappingNode schedules)
        {
            foreach (var schedule in schedules.Children.Values)
            {
                Add(Get(schedule, "calendar"), Kind.Whole);
                Add(Get(schedule, "timetable"), Kind.People);
            }
        }
        if (Get(root, "categories") is YamlMappingNode categories)
        {
            foreach (var category in categories.Children.Values)
            {
                var statutory = Get(category, "statutory") is YamlScalarNode { Value: { } s } && s.Trim().ToLowerInvariant() is "true" or "yes";
                foreach (var item in (Get(category, "lists") as YamlSequenceNode)?.Children ?? [])
                {
                    var path = item is YamlMappingNode ? Get(item, "path") : item;
                    var managed = statutory || Get(item, "source") is not null
                        || Get(item, "format") is YamlScalarNode { Value: { } f } && f.Trim().Equals("hashed", StringComparison.OrdinalIgnoreCase)
                        || path is YamlScalarNode { Value: { } p } && p.EndsWith(".hashed", StringComparison.OrdinalIgnoreCase);
                    Add(path, managed ? Kind.ManagedList : Kind.OwnList);
                }
            }
        }
        if (Get(Get(Get(root, "inspection"), "never_inspect"), "lists") is YamlSequenceNode never)
        {
            foreach (var item in never.Children)
            {
                Add(item, Kind.Whole);
            }
        }
    }

    private static YamlNode? Get(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    /// <summary>The path relative to the directory with forward slashes, or null when it leaves the directory.</summary>
    private string? Inside(string named)
    {
        if (Path.IsPathRooted(named))
        {
            return null;
        }
        var full = Path.GetFullPath(Path.Combine(Directory, named));
        var relative = Path.GetRelativePath(Directory, full).Replace('\\', '/');
        return relative.StartsWith("../", StringComparison.Ordinal) || relative == ".." || relative == "." ? null : relative;
    }
}
