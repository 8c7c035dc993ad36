namespace FilterService.Feeds;

/// <summary>
/// Puts a staged download in place of the live list and back again. Every file is replaced by a rename over it
/// (atomic on one file system: a reader sees the old bytes or the new, never half); the live file is first copied to
/// <c>PATH.previous</c>. A UT1 folder is replaced file by file (<c>domains</c>, <c>urls</c>). A refused download
/// is kept as <c>PATH.refused</c> for inspection (a confidential list only ever in its hashed form).
/// </summary>
internal static class FeedInstaller
{
    public const string PreviousSuffix = ".previous";
    public const string RefusedSuffix = ".refused";

    /// <summary>Staged → live, keeping the live one as <c>.previous</c>.</summary>
    public static void Install(string live, string staged)
    {
        if (Directory.Exists(staged))
        {
            Directory.CreateDirectory(live);
            Directory.CreateDirectory(live + PreviousSuffix);
            foreach (var name in Members(live, staged))
            {
                var (from, to, keep) = (Path.Combine(staged, name), Path.Combine(live, name), Path.Combine(live + PreviousSuffix, name));
                Keep(to, keep);
                if (File.Exists(from))
                {
                    File.Move(from, to, overwrite: true);
                }
                else
                {
                    File.Delete(to); // the new archive no longer has it
                }
            }
            Directory.Delete(staged, recursive: true);
            return;
        }
        Keep(live, live + PreviousSuffix);
        File.Move(staged, live, overwrite: true);
    }

    /// <summary>After a rejected reload: live → <c>.refused</c>, <c>.previous</c> → live.</summary>
    public static void RollBack(string live)
    {
        var previous = live + PreviousSuffix;
        if (Directory.Exists(live))
        {
            Delete(live + RefusedSuffix);
            Directory.CreateDirectory(live + RefusedSuffix);
            foreach (var name in Members(live, previous))
            {
                Keep(Path.Combine(live, name), Path.Combine(live + RefusedSuffix, name));
                Restore(Path.Combine(previous, name), Path.Combine(live, name));
            }
            return;
        }
        Keep(live, live + RefusedSuffix);
        Restore(previous, live);
    }

    /// <summary>A download refused before install: kept as <c>.refused</c>.</summary>
    public static void Refuse(string live, string staged)
    {
        Delete(live + RefusedSuffix);
        if (Directory.Exists(staged))
        {
            Directory.Move(staged, live + RefusedSuffix);
        }
        else if (File.Exists(staged))
        {
            File.Move(staged, live + RefusedSuffix, overwrite: true);
        }
    }

    public static void Delete(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
        else if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    private static IEnumerable<string> Members(string a, string b) =>
        new[] { "domains", "urls" }.Where(n => File.Exists(Path.Combine(a, n)) || File.Exists(Path.Combine(b, n)));

    /// <summary>A copy of <paramref name="from"/> at <paramref name="to"/> (through a rename), or none if there is no source.</summary>
    private static void Keep(string from, string to)
    {
        if (File.Exists(from))
        {
            File.Copy(from, to + ".tmp", overwrite: true);
            File.Move(to + ".tmp", to, overwrite: true);
        }
        else
        {
            Delete(to);
        }
    }

    private static void Restore(string from, string to)
    {
        if (File.Exists(from))
        {
            File.Copy(from, to + ".tmp", overwrite: true);
            File.Move(to + ".tmp", to, overwrite: true);
        }
    }
}
