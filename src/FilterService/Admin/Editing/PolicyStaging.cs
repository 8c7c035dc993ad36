namespace FilterService.Admin.Editing;

/// <summary>
/// A private copy of the policy directory with a set of changes applied, for the loader to judge before anything is
/// written. Nothing is copied: every file and folder the changes do not touch is a symbolic link to the live one (a
/// 1.4M-entry list costs one link), folders on the way to a changed file are real folders of links, and only the
/// changed files are written. Made under the temporary directory (mode 0700: it may hold users.csv), deleted on dispose.
/// </summary>
internal sealed class PolicyStaging : IDisposable
{
    private PolicyStaging(string directory) => Directory = directory;

    /// <summary>The staged policy directory.</summary>
    public string Directory { get; }

    /// <param name="policyDirectory">The live policy directory.</param>
    /// <param name="files">Relative paths (checked by <see cref="EditPaths.Check"/>) and their new text, null to delete.</param>
    public static PolicyStaging Create(string policyDirectory, IReadOnlyDictionary<string, string?> files)
    {
        var stage = new PolicyStaging(System.IO.Directory.CreateTempSubdirectory("filterservice-edit-").FullName);
        try
        {
            LinkTree(Path.GetFullPath(policyDirectory), stage.Directory, "", files);
            foreach (var (path, text) in files)
            {
                if (text is not null)
                {
                    var full = Path.Combine(stage.Directory, path);
                    System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                    File.WriteAllText(full, text);
                }
            }
            return stage;
        }
        catch
        {
            stage.Dispose();
            throw;
        }
    }

    private static void LinkTree(string source, string target, string prefix, IReadOnlyDictionary<string, string?> files)
    {
        foreach (var entry in new DirectoryInfo(source).EnumerateFileSystemInfos())
        {
            var relative = prefix + entry.Name;
            var destination = Path.Combine(target, entry.Name);
            if (entry is DirectoryInfo { LinkTarget: null } && files.Keys.Any(f => f.StartsWith(relative + "/", StringComparison.Ordinal)))
            {
                System.IO.Directory.CreateDirectory(destination);
                LinkTree(entry.FullName, destination, relative + "/", files);
            }
            else if (!files.ContainsKey(relative))
            {
                File.CreateSymbolicLink(destination, entry.FullName);
            }
        }
    }

    public void Dispose() => DeleteWithoutFollowing(Directory);

    /// <summary>Deletes a tree, unlinking symbolic links rather than following them: the live files must never be touched.</summary>
    private static void DeleteWithoutFollowing(string directory)
    {
        try
        {
            foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
            {
                if (entry.LinkTarget is not null || entry is FileInfo)
                {
                    File.Delete(entry.FullName);
                }
                else
                {
                    DeleteWithoutFollowing(entry.FullName);
                }
            }
            System.IO.Directory.Delete(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left in the temporary directory; it holds only links and the edit's own text.
        }
    }
}

/// <summary>Which paths a console edit may write: relative, inside the policy directory, never through a link.</summary>
internal static class EditPaths
{
    /// <summary>Null when <paramref name="path"/> may be written in <paramref name="policyDirectory"/>; otherwise why not.</summary>
    public static string? Check(string policyDirectory, string path)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Contains('\\') || path.Contains('\0') || Path.IsPathRooted(path))
        {
            return $"'{path}' is not a relative path in the policy directory";
        }
        var parts = path.Split('/');
        if (parts.Any(p => p.Length == 0 || p.StartsWith('.')))
        {
            return $"'{path}' has an empty, hidden or '..' part";
        }
        // Never write through a link: a linked folder or file belongs to something else (a feed tool, another school).
        var at = Path.GetFullPath(policyDirectory);
        foreach (var part in parts)
        {
            at = Path.Combine(at, part);
            FileSystemInfo info = System.IO.Directory.Exists(at) ? new DirectoryInfo(at) : new FileInfo(at);
            if (info.Exists && info.LinkTarget is not null)
            {
                return $"'{path}' goes through the symbolic link '{Path.GetRelativePath(policyDirectory, at)}'; edit it by hand";
            }
        }
        return null;
    }
}
