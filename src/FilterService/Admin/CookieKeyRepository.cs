using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace FilterService.Admin;

/// <summary>
/// Where the sign-in cookie's data-protection keys live: <c>Console:DataPath/cookie-keys</c>, owner-only. Written in that
/// directory (a temporary file beside the key, then a rename), never through the system temporary directory as
/// ASP.NET Core's own file repository does: on a read-only root (the container, ReadOnlyRootTests) /tmp cannot be
/// written and the key ring would fail. A torn or unreadable key file is skipped (its cookies stop being accepted and
/// their holders sign in again), never a console that cannot start.
/// </summary>
internal sealed class CookieKeyRepository(string directory) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }
        var keys = new List<XElement>();
        foreach (var file in Directory.EnumerateFiles(directory, "*.xml"))
        {
            try
            {
                keys.Add(XElement.Load(file));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Xml.XmlException)
            {
            }
        }
        return keys;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        var name = string.Concat(friendlyName.Where(c => char.IsAsciiLetterOrDigit(c) || c == '-'));
        var path = Path.Combine(directory, (name.Length == 0 ? Guid.NewGuid().ToString() : name) + ".xml");
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            element.Save(stream);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
