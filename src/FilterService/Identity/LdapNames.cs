using System.Text;

namespace FilterService.Identity;

/// <summary>
/// What may be put into an LDAP search filter. Two defences, both always applied: a user name must have the shape
/// of a sign-in name (<see cref="IsUserName"/>), so <c>*)(uid=*</c> is refused before any search; and every value is
/// escaped per RFC 4515 section 3 (<see cref="EscapeFilterValue"/>), so nothing a client sends is ever filter syntax.
/// </summary>
internal static class LdapNames
{
    /// <summary>The longest user name accepted (Active Directory's userPrincipalName limit is far above real names).</summary>
    public const int MaxUserNameLength = 128;

    /// <summary>
    /// Whether <paramref name="name"/> looks like a sign-in name: <c>jsmith</c>, <c>j.smith</c>, <c>22smithj</c>,
    /// <c>j_smith-2</c>, <c>jsmith@school.org.uk</c>. ASCII letters and digits and <c>. _ - @</c> only, starting with a
    /// letter or digit, at most <see cref="MaxUserNameLength"/> characters. No filter syntax (<c>( ) * \ NUL</c>), no
    /// spaces, no commas or equals signs (DN syntax).
    /// </summary>
    public static bool IsUserName(string name)
    {
        if (name.Length is 0 or > MaxUserNameLength || !char.IsAsciiLetterOrDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-' or '@'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// RFC 4515 section 3: the value's UTF-8 bytes, with <c>*</c>, <c>(</c>, <c>)</c>, <c>\</c> and NUL as <c>\2a</c>,
    /// <c>\28</c>, <c>\29</c>, <c>\5c</c>, <c>\00</c>, and every byte outside printable ASCII as <c>\XX</c> too.
    /// A lone surrogate becomes U+FFFD's bytes, escaped.
    /// </summary>
    public static string EscapeFilterValue(string value)
    {
        var sb = new StringBuilder(value.Length + 8);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is (byte)'*' or (byte)'(' or (byte)')' or (byte)'\\' or < 0x20 or >= 0x7f)
            {
                sb.Append('\\').Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append((char)b);
            }
        }

        return sb.ToString();
    }
}
