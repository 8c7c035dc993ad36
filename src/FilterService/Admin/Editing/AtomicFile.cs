using System.Text;

namespace FilterService.Admin.Editing;

/// <summary>Writes one file of the policy directory so that a reader sees the old bytes or the new, never half.</summary>
internal static class AtomicFile
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>
    /// A temporary file in the same directory (so the rename cannot cross file systems), written, fsync'd, then renamed
    /// over <paramref name="path"/>. The temporary name starts with a dot: the loader never names such a file.
    /// </summary>
    public static void Write(string path, string text)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(Utf8.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/>, or deletes the file when it is null.</summary>
    public static void Put(string path, string? text)
    {
        if (text is null)
        {
            TryDelete(path);
        }
        else
        {
            Write(path, text);
        }
    }

    /// <summary>The file's text (UTF-8, a BOM dropped), or null when it does not exist.</summary>
    public static string? Read(string path) => File.Exists(path) ? File.ReadAllText(path, Encoding.UTF8) : null;

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A temporary file left behind is harmless: the loader never names it.
        }
    }
}
