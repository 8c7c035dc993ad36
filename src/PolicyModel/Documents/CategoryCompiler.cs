using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using PolicyModel.Matching;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>
/// The <c>categories</c> section and the lists each names: every list is read (through the loader's reader, so its
/// bytes are in the version), parsed and added to one <see cref="DomainMatcher"/>. A statutory list fails closed: a
/// missing, empty or malformed one is an error. Fills the context's categories, matcher and feeds.
/// </summary>
internal static class CategoryCompiler
{
    private const int MaxWarningsPerList = 20;

    private sealed record PendingList(int ListId, string Category, string Path, ListFormat Format, int Skipped, DateTimeOffset? Modified, bool Statutory, YamlNode At);

    public static (DomainMatcher, IReadOnlyList<ListSummary>) Compile(CompileContext cx, YamlNode? node, YamlNode root)
    {
        var builder = new DomainMatcherBuilder();
        var pending = new List<PendingList>();
        if (node is null)
        {
            cx.Src.Error(root, Messages.MissingCategories);
            return (builder.Build(), []);
        }

        foreach (var (key, value) in cx.Src.Entries(node, "categories"))
        {
            var name = key.Value!;
            if (cx.Categories.ContainsKey(name))
            {
                cx.Src.Error(key, Messages.DuplicateCategory, name);
                continue;
            }

            if (cx.Categories.Count == 64)
            {
                cx.Src.Error(key, Messages.TooManyCategories);
                continue;
            }

            var entries = cx.Src.Entries(value, $"category '{name}'", ["description", "statutory", "alert", "alert_roles", "lists"]);
            var statutory = cx.Src.Bool(YamlSource.Get(entries, "statutory"), "statutory") ?? false;
            var alertNode = YamlSource.Get(entries, "alert");
            var alert = alertNode is null ? (statutory ? AlertSeverity.High : AlertSeverity.None) : cx.Severity(alertNode);
            var alertRoles = cx.RoleMask(YamlSource.Get(entries, "alert_roles"), "alert_roles");
            var index = cx.Categories.Count;
            cx.Categories[name] = new CategoryDef(name, index, cx.Src.Scalar(YamlSource.Get(entries, "description"), "description"), statutory, alert, alertRoles);

            var listsNode = YamlSource.Get(entries, "lists");
            if (listsNode is not YamlSequenceNode lists || lists.Children.Count == 0)
            {
                cx.Src.Error(listsNode ?? value, Messages.CategoryNeedsLists, name);
                continue;
            }

            foreach (var item in lists.Children)
            {
                ReadList(cx, item, name, index, statutory, builder, pending);
            }
        }

        var matcher = builder.Build();
        var summaries = new List<ListSummary>();
        foreach (var p in pending)
        {
            var count = matcher.EntryCount(p.ListId);
            if (p.Statutory && count == 0)
            {
                cx.Src.Error(p.At, Messages.StatutoryListEmpty, p.Path);
            }

            summaries.Add(new ListSummary(p.Category, p.Path, p.Format.ToString().ToLowerInvariant(), count, p.Skipped, p.Modified));
        }

        return (matcher, summaries);
    }

    private static void ReadList(
        CompileContext cx,
        YamlNode item,
        string category,
        int categoryIndex,
        bool statutory,
        DomainMatcherBuilder builder,
        List<PendingList> pending)
    {
        string? path;
        var format = ListFormat.Auto;
        var exact = false;
        FeedSpec? feed = null;
        YamlNode pathNode = item;
        if (item is YamlMappingNode)
        {
            var e = cx.Src.Entries(item, "a list", ["path", "format", "exact", .. FeedCompiler.Keys]);
            pathNode = YamlSource.Get(e, "path") ?? item;
            path = cx.Src.Scalar(YamlSource.Get(e, "path"), "path");
            if (path is null)
            {
                cx.Src.Error(item, Messages.ListNeedsPath);
                return;
            }

            if (YamlSource.Get(e, "format") is { } formatNode && cx.Src.Scalar(formatNode, "format") is { } f)
            {
                if (!Enum.TryParse(f, ignoreCase: true, out format) || !Enum.IsDefined(format) || char.IsDigit(f[0]))
                {
                    var names = Enum.GetNames<ListFormat>().Select(n => n.ToLowerInvariant());
                    cx.Src.Error(formatNode, Messages.UnknownListFormat, f, Suggestions.DidYouMean(f, names));
                    return;
                }
            }

            exact = cx.Src.Bool(YamlSource.Get(e, "exact"), "exact") ?? false;
            feed = FeedCompiler.Read(cx.Src, cx.Files, e, item, category, path, statutory, format, exact);
            if (feed is not null)
            {
                cx.Feeds.Add(feed);
                format = feed.StoredFormat;
            }
            else if (YamlSource.Get(e, "source") is not null)
            {
                return; // the feed's own diagnostics say why
            }
        }
        else
        {
            path = cx.Src.Scalar(item, "a list path");
            if (path is null)
            {
                return;
            }
        }

        var full = Path.Combine(cx.Directory, path);
        var isDirectory = System.IO.Directory.Exists(full);
        if (!isDirectory && !File.Exists(full))
        {
            if (feed is null)
            {
                cx.Src.Error(pathNode, Messages.ListNotFound, path);
            }
            else
            {
                cx.Src.Error(pathNode, Messages.ListNotFoundHasFeed, path, cx.Directory);
            }

            return;
        }

        var files = isDirectory ? new[] { (Path.Combine(full, "domains"), path + "/domains"), (Path.Combine(full, "urls"), path + "/urls") } : [(full, path)];
        foreach (var (file, named) in files)
        {
            switch (PolicyFiles.Inspect(file, PolicyFiles.MaxListBytes))
            {
                case PolicyFiles.Check.NotRegular:
                    cx.Src.Error(pathNode, Messages.FileNotRegular, "list", named);
                    return;
                case PolicyFiles.Check.TooLarge:
                    cx.Src.Error(pathNode, Messages.FileTooLarge, "list", named, PolicyFiles.Size(PolicyFiles.MaxListBytes));
                    return;
            }
        }

        ParsedList parsed;
        try
        {
            // Through the loader's reader: the bytes parsed are the bytes in the policy's version.
            parsed = ListReader.Read(full, path, format, exact, PolicyFiles.MaxListBytes, f => cx.Files.Open(f, Path.GetRelativePath(cx.Directory, f)));
        }
        catch (ListTooLargeException)
        {
            cx.Src.Error(pathNode, Messages.FileTooLarge, "list", path, PolicyFiles.Size(PolicyFiles.MaxListBytes));
            return;
        }
        catch (IOException e)
        {
            cx.Src.Error(pathNode, Messages.ListUnreadable, path, e.Message);
            return;
        }
        catch (UnauthorizedAccessException e)
        {
            cx.Src.Error(pathNode, Messages.ListUnreadable, path, e.Message);
            return;
        }

        var listId = builder.AddList(path, categoryIndex);
        foreach (var entry in parsed.Entries)
        {
            builder.Add(listId, entry);
        }

        var shown = 0;
        foreach (var w in parsed.Warnings)
        {
            if (shown++ == MaxWarningsPerList)
            {
                break;
            }

            if (statutory)
            {
                // A statutory list must parse cleanly: a truncated or corrupted download must not silently shrink it.
                cx.Diagnostics.Error(new SourceLocation(w.File, w.Line, 1), Messages.StatutoryLineMalformed, w.Message);
            }
            else
            {
                cx.Diagnostics.Warning(new SourceLocation(w.File, w.Line, 1), Messages.ListLineSkipped, w.Message);
            }
        }

        if (parsed.SkippedLines > shown)
        {
            if (statutory)
            {
                cx.Diagnostics.Error(new SourceLocation(path, 0, 0), Messages.StatutoryLinesMalformed, parsed.SkippedLines, path, parsed.SkippedLines - shown);
            }
            else
            {
                cx.Diagnostics.Warning(new SourceLocation(path, 0, 0), Messages.ListLinesSkipped, parsed.SkippedLines, parsed.SkippedLines - shown);
            }
        }

        // For the list summaries (when a list last changed); the version is the hash of the bytes read above.
        // A symbolic link is dated by its target: the link's own time is when it was made, not when the list changed.
        var modified = PolicyFiles.LastWriteTimeUtc(full, isDirectory);
        pending.Add(new PendingList(listId, category, path, parsed.Format, parsed.SkippedLines, modified, statutory, pathNode));
    }
}
