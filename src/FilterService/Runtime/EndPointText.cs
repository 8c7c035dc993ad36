using System.Globalization;
using System.Net;

namespace FilterService.Runtime;

/// <summary>Endpoints as configuration writes them; a leaf, so the settings and the proxy's upstream connector share it.</summary>
internal static class EndPointText
{
    /// <summary>Parses <c>address:port</c>, <c>[v6]:port</c>; the address must be a literal.</summary>
    public static bool TryParse(string text, out IPEndPoint endPoint)
    {
        endPoint = null!;
        text = text.Trim();
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || (text.Contains(':') && text.IndexOf(':') != colon && text[0] != '['))
        {
            return false;
        }
        var host = text.AsSpan(0, colon);
        if (host.Length >= 2 && host[0] == '[' && host[^1] == ']')
        {
            host = host[1..^1];
        }
        else if (host.Contains(':'))
        {
            return false;
        }
        if (!IPAddress.TryParse(host, out var address) ||
            !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return false;
        }
        // IPAddress.TryParse accepts "127.1" and "2130706433"; an endpoint in configuration must be written in full.
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && host.Count('.') != 3)
        {
            return false;
        }
        endPoint = new IPEndPoint(address, port);
        return true;
    }
}
