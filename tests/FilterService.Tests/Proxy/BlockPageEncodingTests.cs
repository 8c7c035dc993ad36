using System.Net;
using System.Text;
using FilterService.Proxy;

namespace FilterService.Tests.Proxy;

/// <summary>
/// The block page encodes ASCII values (a rule's name in its reason, a host, a path) itself, without a string per page;
/// it must agree with <see cref="WebUtility.HtmlEncode(string)"/>, which still encodes everything else, byte for byte.
/// </summary>
public sealed class BlockPageEncodingTests
{
    [Fact]
    public void EveryAsciiCharacter_IsEncodedAsHtmlEncodeEncodesIt()
    {
        for (int c = 0; c < 128; c++)
        {
            var value = ((char)c).ToString();
            Assert.True(Encode(value) == WebUtility.HtmlEncode(value), $"U+{c:X4}: {Encode(value)} against {WebUtility.HtmlEncode(value)}");
        }
    }

    [Fact]
    public void SeededAsciiStrings_WithMarkupAndQuotes_AgreeWithHtmlEncode()
    {
        var random = new Random(20261206);
        const string Hostile = "<>&\"'";
        for (int i = 0; i < 5_000; i++)
        {
            var chars = new char[random.Next(0, 80)];
            for (int j = 0; j < chars.Length; j++)
            {
                chars[j] = random.Next(3) == 0 ? Hostile[random.Next(Hostile.Length)] : (char)random.Next(0, 128);
            }
            var value = new string(chars);
            Assert.Equal(WebUtility.HtmlEncode(value), Encode(value));
        }
    }

    private static string Encode(string value)
    {
        var into = new byte[value.Length * BlockPage.MaxEntityLength];
        return Encoding.ASCII.GetString(into, 0, BlockPage.HtmlEncodeAscii(value, into));
    }
}
