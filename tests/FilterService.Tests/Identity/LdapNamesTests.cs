using System.Text;
using FilterService.Identity;

namespace FilterService.Tests.Identity;

/// <summary>Issue 22: what may reach an LDAP filter. RFC 4515's own examples, a reference decoder, and a seeded, bounded fuzz.</summary>
public sealed class LdapNamesTests
{
    [Theory]
    [InlineData("Parens R Us (for all your parenthetical needs)", @"Parens R Us \28for all your parenthetical needs\29")]
    [InlineData("*", @"\2a")]
    [InlineData(@"C:\MyFile", @"C:\5cMyFile")]
    [InlineData("Lu\u010di\u0107", @"Lu\c4\8di\c4\87")]
    [InlineData("*)(uid=*", @"\2a\29\28uid=\2a")]
    [InlineData("a\0b", @"a\00b")]
    public void Issue22_Ldap_Escape_Rfc4515Examples(string value, string escaped) =>
        Assert.Equal(escaped, LdapNames.EscapeFilterValue(value));

    [Theory]
    [InlineData("alice", true)]
    [InlineData("j.smith", true)]
    [InlineData("22smithj", true)]
    [InlineData("j_smith-2", true)]
    [InlineData("jsmith@school.org.uk", true)]
    [InlineData("*)(uid=*", false)]
    [InlineData("*", false)]
    [InlineData("alice)(|(uid=*", false)]
    [InlineData("alice\\2a", false)]
    [InlineData("cn=admin,dc=school", false)]
    [InlineData("alice smith", false)]
    [InlineData(".alice", false)]
    [InlineData("", false)]
    [InlineData("al\u0131ce", false)]
    public void Issue22_Ldap_UserName_OnlySignInShapes(string name, bool accepted) =>
        Assert.Equal(accepted, LdapNames.IsUserName(name));

    [Fact]
    public void Issue22_Ldap_UserName_LongestAccepted() =>
        Assert.Equal((true, false), (LdapNames.IsUserName(new string('a', LdapNames.MaxUserNameLength)), LdapNames.IsUserName(new string('a', LdapNames.MaxUserNameLength + 1))));

    /// <summary>
    /// Any string: the escaped form has no filter syntax, only printable ASCII, and decodes (the reference: \XX to a byte,
    /// anything else as itself) to exactly the value's UTF-8 bytes. Seeded; at most 5 s.
    /// </summary>
    [Fact]
    public void Issue22_Ldap_Escape_Fuzz_DecodesToTheValueAndHasNoSyntax()
    {
        var random = new Random(22);
        var alphabet = "*()\\\0 =,&|!~<>abcXYZ019\u00e9\u010d\u4e2d\ud83d\ude00\ud800";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        for (var n = 0; n < 20_000 && DateTime.UtcNow < deadline; n++)
        {
            var value = new string(Enumerable.Range(0, random.Next(0, 24)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            var escaped = LdapNames.EscapeFilterValue(value);
            Assert.DoesNotContain(escaped, c => c is '*' or '(' or ')' or '\0' || c < 0x20 || c >= 0x7f);
            Assert.Equal(Encoding.UTF8.GetBytes(value), Decode(escaped));
        }
    }

    private static byte[] Decode(string escaped)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < escaped.Length; i++)
        {
            if (escaped[i] == '\\')
            {
                bytes.Add(Convert.ToByte(escaped.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                bytes.Add((byte)escaped[i]);
            }
        }
        return bytes.ToArray();
    }
}
