using System.Diagnostics;
namespace FilterService.Tests.TestSupport;

/// <summary>
/// A real full disk: a small tmpfs mounted on a temporary directory (needs root, as the CI container runs), filled
/// with a file until the kernel answers ENOSPC, and emptied again by deleting that file. Unmounted on dispose.
/// </summary>
internal sealed class FullDisk : IDisposable
{
    private FullDisk(string path) => Path = path;

    public string Path { get; }

    private string Filler => System.IO.Path.Combine(Path, "filler");

    public static FullDisk Mount(int kilobytes = 256)
    {
        var dir = TempDir.Create("tmpfs");
        var (code, output) = Run("/bin/mount", "-t", "tmpfs", "-o", $"size={kilobytes}k,mode=0755", "tmpfs", dir);
        if (code != 0)
        {
            throw new Xunit.Sdk.XunitException($"cannot mount a tmpfs to simulate a full disk (these tests need root): {output}");
        }
        return new FullDisk(dir);
    }

    /// <summary>Writes the filler until the file system is full (bounded by its size).</summary>
    public void Fill()
    {
        using var f = new FileStream(Filler, FileMode.Append, FileAccess.Write, FileShare.None, 0);
        var chunk = new byte[4096];
        for (int i = 0; i < 1 << 20; i++)
        {
            try
            {
                f.Write(chunk);
            }
            catch (IOException)
            {
                return;
            }
        }
        throw new Xunit.Sdk.XunitException("the tmpfs never filled up");
    }

    public void Free() => File.Delete(Filler);

    public void Dispose() => Run("/bin/umount", "-l", Path);

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        try
        {
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            if (!p.WaitForExit(10_000))
            {
                p.Kill();
                return (-1, file + " did not finish in 10 s");
            }
            return (p.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
