using PolicyModel.Files;

namespace PolicyModel.Tests.Files;

/// <summary>
/// A list file may be a symbolic link (a deployment that keeps its lists elsewhere, a feed's staged download): it is
/// measured, and dated, by the file it points to, never by the link itself.
/// </summary>
public sealed class PolicyFilesTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "policy-files-" + Guid.NewGuid().ToString("N")[..8]);

    public PolicyFilesTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public void Inspect_SymlinkToAListOverTheLimit_IsTooLarge()
    {
        var target = Write("big.txt", new string('a', 5000));
        var link = Link("list.txt", "big.txt");
        Assert.Equal(PolicyFiles.Check.TooLarge, PolicyFiles.Inspect(target, 1000));
        Assert.Equal(PolicyFiles.Check.TooLarge, PolicyFiles.Inspect(link, 1000));
    }

    [Fact]
    public void Inspect_SymlinkWithALongTargetNameToASmallList_IsOk()
    {
        // The link's own size is the length of the name it holds: here longer than the limit, the file it names is not.
        var deep = Path.Combine(_dir, new string('d', 120));
        Directory.CreateDirectory(deep);
        File.WriteAllText(Path.Combine(deep, "small.txt"), "example.com\n");
        var link = Link("list.txt", Path.Combine(deep, "small.txt"));
        Assert.Equal(PolicyFiles.Check.Ok, PolicyFiles.Inspect(link, 64));
    }

    [Fact]
    public void Inspect_DanglingSymlink_IsNotFound()
    {
        var link = Link("list.txt", "missing.txt");
        Assert.Equal(PolicyFiles.Check.NotFound, PolicyFiles.Inspect(link, 1000));
    }

    [Fact]
    public void Load_SymlinkedListFile_IsDatedByItsTarget()
    {
        using var p = new TestPolicy(TestPolicy.Head + "default: allow\n");
        var social = Path.Combine(p.Directory, "lists", "social.txt");
        var kept = Path.Combine(p.Directory, "lists", "kept-social.txt");
        File.Move(social, kept);
        var changed = new DateTime(2020, 3, 4, 5, 6, 7, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(kept, changed);
        File.CreateSymbolicLink(social, "kept-social.txt");

        var list = p.Snapshot().Lists.Single(l => l.Path == "lists/social.txt");

        Assert.Equal(new DateTimeOffset(changed), list.LastModified);
        Assert.Equal(3, list.Entries);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string Link(string name, string target)
    {
        var path = Path.Combine(_dir, name);
        File.CreateSymbolicLink(path, target);
        return path;
    }
}
