using System.Runtime.InteropServices;
using System.Text;
using PolicyModel.Diagnostics;

namespace PolicyModel.Files;

/// <summary>
/// Reading the files a policy names, with a located diagnostic instead of an exception when one cannot be read.
/// Every file is checked before it is opened (a regular file, or a symbolic link to one: never a device, FIFO or
/// socket, which could block or never end) and read through a bounded reader, so no input can make a load hang or
/// grow the process without limit.
/// </summary>
public static class PolicyFiles
{
    /// <summary>policy.yaml and term calendars. A large trust's policy is tens of kilobytes.</summary>
    public const long MaxYamlBytes = 1 << 20;

    /// <summary>users.csv and timetables: 16 MB is about 100,000 users or 300,000 timetable rows.</summary>
    public const long MaxTableBytes = 16L << 20;

    /// <summary>Each list file (and each file of a UT1 folder): the largest UT1 category is about 100 MB.</summary>
    public const long MaxListBytes = 512L << 20;

    /// <summary>How a file's size and type were judged.</summary>
    public enum Check
    {
        Ok,
        NotFound,
        NotRegular,
        TooLarge,
    }

    /// <summary>
    /// Whether <paramref name="fullPath"/> (following symbolic links) is a regular file of at most
    /// <paramref name="maxBytes"/> bytes, without opening it: opening a FIFO blocks until a writer appears.
    /// </summary>
    public static Check Inspect(string fullPath, long maxBytes)
    {
        switch (Stat(fullPath))
        {
            case Kind.Missing:
                return Check.NotFound;
            case Kind.Other:
                return Check.NotRegular;
        }

        // On Unix stat said a regular file; elsewhere (or without the runtime's native shim) this is all FileInfo can
        // tell, and the bounded reader still stops an endless file at the limit. Either way the size is the target's.
        return Followed(new FileInfo(fullPath)) is not { Exists: true } info ? Check.NotFound
            : info.Length > maxBytes ? Check.TooLarge : Check.Ok;
    }

    /// <summary>
    /// What a read of <paramref name="info"/> sees: the file or directory itself or, for a symbolic link, the one it finally
    /// points to; null when the link cannot be resolved (a loop). A <see cref="FileSystemInfo"/> of a link describes the
    /// link, on Unix and Windows alike: its length is that of the name it holds and its times are its own.
    /// </summary>
    internal static T? Followed<T>(T info) where T : FileSystemInfo
    {
        if (info.LinkTarget is null)
        {
            return info;
        }

        try
        {
            return (T?)info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>When the file or directory at <paramref name="fullPath"/> (its target, for a symbolic link) last changed.</summary>
    internal static DateTimeOffset LastWriteTimeUtc(string fullPath, bool directory)
    {
        FileSystemInfo info = directory ? new DirectoryInfo(fullPath) : new FileInfo(fullPath);
        return new DateTimeOffset((Followed(info) ?? info).LastWriteTimeUtc, TimeSpan.Zero);
    }

    /// <summary>The message for a failed <see cref="Inspect"/>, e.g. <c>'lists/x.txt' is not a regular file</c>.</summary>
    public static string Describe(Check check, string file, long maxBytes) => check switch
    {
        Check.NotFound => $"'{file}' not found",
        Check.NotRegular => $"'{file}' is not a regular file (a device, FIFO or socket); refusing to read it",
        Check.TooLarge => $"'{file}' is larger than the limit of {Size(maxBytes)}",
        _ => $"'{file}' is fine",
    };

    /// <summary>A limit as people write it: <c>1 MB</c>, <c>512 MB</c>.</summary>
    public static string Size(long bytes) => bytes % (1 << 20) == 0 ? $"{bytes >> 20} MB" : $"{bytes:N0} bytes";

    /// <summary>
    /// The text of <paramref name="file"/> (relative to <paramref name="policyDirectory"/>), or null after reporting
    /// <paramref name="cannotRead"/> (<c>cannot read WHAT '{0}': {1}</c>) at <paramref name="at"/>, where the policy names the file. A file that is
    /// not regular (PM0110) or larger than <paramref name="maxBytes"/> (PM0109) is reported with its own code.
    /// </summary>
    internal static string? ReadText(string policyDirectory, string file, SourceLocation at, DiagnosticMessage cannotRead, string what, DiagnosticBag diagnostics, long maxBytes = MaxTableBytes, BytesRead? observe = null)
    {
        var full = Path.Combine(policyDirectory, file);
        try
        {
            switch (Inspect(full, maxBytes))
            {
                case Check.NotFound:
                    diagnostics.Error(at, cannotRead, file, "file not found");
                    return null;
                case Check.NotRegular:
                    diagnostics.Error(at, Messages.FileNotRegular, what, file);
                    return null;
                case Check.TooLarge:
                    diagnostics.Error(at, Messages.FileTooLarge, what, file, Size(maxBytes));
                    return null;
            }

            if (ReadBounded(full, maxBytes, observe, file) is { } text)
            {
                return text;
            }

            diagnostics.Error(at, Messages.FileTooLarge, what, file, Size(maxBytes));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            diagnostics.Error(at, cannotRead, file, "file not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            diagnostics.Error(at, cannotRead, file, e.Message);
        }

        return null;
    }

    /// <summary>
    /// The text of a file already checked, or null when it is (or has grown) larger than <paramref name="maxBytes"/>.
    /// Reads at most one byte past the limit, whatever the file does meanwhile. UTF-8, with or without a BOM.
    /// <paramref name="observe"/>, if given, is told the bytes read (as <paramref name="name"/>) when the file is within the limit.
    /// </summary>
    public static string? ReadBounded(string fullPath, long maxBytes, BytesRead? observe = null, string? name = null)
    {
        using var stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan);
        var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        while (true)
        {
            var want = (int)Math.Min(chunk.Length, maxBytes + 1 - buffer.Length);
            var read = stream.Read(chunk, 0, want);
            if (read == 0)
            {
                break;
            }

            buffer.Write(chunk, 0, read);
            if (buffer.Length > maxBytes)
            {
                return null;
            }
        }

        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        observe?.Invoke(name ?? fullPath, bytes);
        if (bytes.StartsWith("\xEF\xBB\xBF"u8))
        {
            bytes = bytes[3..];
        }

        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>The text of a file for pointing at a token in it, or null if it cannot be read safely (reported elsewhere).</summary>
    internal static string? ReadQuietly(string fullPath, long maxBytes)
    {
        try
        {
            return Inspect(fullPath, maxBytes) == Check.Ok ? ReadBounded(fullPath, maxBytes) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    private enum Kind
    {
        Unknown,
        Missing,
        Regular,
        Other,
    }

    private const int TypeMask = 0xF000;
    private const int RegularType = 0x8000;
    private const int DirectoryType = 0x4000;
    private static volatile bool _noNative = !OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD();

    /// <summary>
    /// The type of <c>stat(path)</c> (following links). .NET has no public API for it: FileInfo calls a FIFO or a
    /// character device a normal file of length 0. This asks the runtime's own native shim, libSystem.Native, whose
    /// <c>SystemNative_Stat</c> fills a <c>FileStatus</c> that begins with two int32s, flags then mode.
    /// </summary>
    private static Kind Stat(string fullPath)
    {
        if (fullPath.Contains('\0'))
        {
            return Kind.Missing;
        }

        if (_noNative)
        {
            return Kind.Unknown;
        }

        var status = new byte[256];
        int rc;
        try
        {
            var path = Encoding.UTF8.GetBytes(Path.GetFullPath(fullPath) + "\0");
            rc = NativeStat(path, status);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _noNative = true;
            return Kind.Unknown;
        }

        if (rc != 0)
        {
            return Kind.Missing;
        }

        var type = BitConverter.ToInt32(status, 4) & TypeMask;
        return type == RegularType ? Kind.Regular : type == DirectoryType ? Kind.Missing : Kind.Other;
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat")]
    private static extern int NativeStat(byte[] path, byte[] status);
}
