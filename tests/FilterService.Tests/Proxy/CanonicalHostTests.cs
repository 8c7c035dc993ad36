using System.Globalization;
using System.Net;
using FilterService.Proxy;

namespace FilterService.Tests.Proxy;

/// <summary>
/// <see cref="Authority.CanonicalHost"/> (issue 15 item 3): every IPv4 literal form the connector would connect to is
/// decided as its dotted quad, checked against a naive reference (inet_aton's rules, written out) on seeded random
/// forms, and names stay names.
/// </summary>
public sealed class CanonicalHostTests
{
    [Theory]
    [InlineData("2130706437", "127.0.0.5")]
    [InlineData("127.5", "127.0.0.5")]
    [InlineData("127.0.5", "127.0.0.5")]
    [InlineData("0x7f.0.0.5", "127.0.0.5")]
    [InlineData("0X7F.0.0.5", "127.0.0.5")]
    [InlineData("0177.0.0.05", "127.0.0.5")]
    [InlineData("0x7f000005", "127.0.0.5")]
    [InlineData("127.0.0.5.", "127.0.0.5")]
    [InlineData("[::ffff:127.0.0.5]", "127.0.0.5")]
    [InlineData("::FFFF:7F00:5", "127.0.0.5")]
    [InlineData("[::1]", "::1")]
    [InlineData("[::127.0.0.1]", "::127.0.0.1")]            // IPv4-compatible: an IPv6 address (the address policy refuses it)
    [InlineData("Example.ORG.", "example.org")]
    [InlineData("cafe.be", "cafe.be")]
    [InlineData("0xcafe.example", "0xcafe.example")]
    [InlineData("1.2.3.4.5", "1.2.3.4.5")]                 // no IPv4: a name (that will not resolve)
    [InlineData("08.1", "08.1")]                           // not octal: a name
    [InlineData("4294967296", "4294967296")]               // over 32 bits: a name
    public void Item03_CanonicalHost(string host, string expected)
    {
        Assert.Equal(expected, Authority.CanonicalHost(host));
        Assert.Equal(expected, Authority.CanonicalHost(host.AsSpan())); // the CONNECT paths' overload, from a span
    }

    /// <summary>The string overload (plain HTTP, from <see cref="Uri.Host"/>) hands back a canonical name itself, and copies any other.</summary>
    [Theory]
    [InlineData("cafe.be", true)]
    [InlineData("www.blocked.example", true)]
    [InlineData("Example.org", false)]
    [InlineData("example.org.", false)]
    [InlineData("2130706437", false)]
    public void CanonicalHost_OfAString_IsThatStringWhenAlreadyCanonical(string host, bool same)
    {
        var canonical = Authority.CanonicalHost(host);
        Assert.Equal(same, ReferenceEquals(host, canonical));
        Assert.Equal(Authority.CanonicalHost(host.AsSpan()), canonical);
    }

    [Fact]
    public void Item03_CanonicalHost_AgreesWithANaiveReference_OnRandomIPv4Forms()
    {
        var random = new Random(20261204);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        int checkedForms = 0;
        while (checkedForms < 200_000 && DateTime.UtcNow < until)
        {
            uint address = (uint)random.NextInt64(0, 1L << 32);
            string form = RandomForm(random, address);
            var reference = NaiveInetAton(form);
            Assert.Equal(new IPAddress(BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(address))).ToString(), reference);
            Assert.Equal(reference, Authority.CanonicalHost(form));
            checkedForms++;
        }
        Assert.True(checkedForms > 1000, $"only {checkedForms} forms checked");
    }

    [Fact]
    public void Item03_CanonicalHost_AgreesWithANaiveReference_OnRandomNumericLookingHosts()
    {
        // Strings of the characters an IPv4 literal is made of: either the reference reads an address, and so must
        // CanonicalHost, or it does not, and the host stays what HostName.Normalize makes of it.
        const string Alphabet = "0123456789abcdefx.";
        var random = new Random(4291);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        int checkedHosts = 0;
        while (checkedHosts < 200_000 && DateTime.UtcNow < until)
        {
            var host = new string(Enumerable.Range(0, random.Next(1, 16)).Select(_ => Alphabet[random.Next(Alphabet.Length)]).ToArray());
            var trimmed = host.EndsWith('.') ? host[..^1] : host;
            var expected = NaiveInetAton(trimmed) ?? PolicyModel.Matching.HostName.Normalize(host);
            Assert.True(expected == Authority.CanonicalHost(host), $"{host}: expected {expected}, got {Authority.CanonicalHost(host)}");
            checkedHosts++;
        }
        Assert.True(checkedHosts > 1000, $"only {checkedHosts} hosts checked");
    }

    /// <summary>One of the 1 to 4 part forms of <paramref name="address"/>, each part in decimal, octal or hex.</summary>
    private static string RandomForm(Random random, uint address)
    {
        int parts = random.Next(1, 5);
        var values = new List<ulong>();
        for (int i = 0; i < parts - 1; i++)
        {
            values.Add((address >> (24 - 8 * i)) & 0xff);
        }
        int lastBits = 32 - 8 * (parts - 1);
        values.Add(address & (lastBits == 32 ? 0xffff_ffffu : (1u << lastBits) - 1));
        return string.Join('.', values.Select(v => random.Next(3) switch
        {
            0 => v.ToString(CultureInfo.InvariantCulture),
            1 => "0" + Convert.ToString((long)v, 8),
            _ => (random.Next(2) == 0 ? "0x" : "0X") + v.ToString(random.Next(2) == 0 ? "x" : "X", CultureInfo.InvariantCulture),
        }));
    }

    /// <summary>
    /// glibc's inet_aton (what getaddrinfo reads a numeric host as), written out plainly: 1-4 parts, each decimal,
    /// 0-octal or 0x-hex (an empty hex part is 0); the last fills the rest.
    /// </summary>
    private static string? NaiveInetAton(string text)
    {
        var parts = text.Split('.');
        if (parts.Length is < 1 or > 4)
        {
            return null;
        }
        var values = new ulong[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            string p = parts[i].ToLowerInvariant();
            if (p.Length == 0 || (p.StartsWith("0x") && !p[2..].All(char.IsAsciiHexDigit)))
            {
                return null;
            }
            try
            {
                values[i] = p.StartsWith("0x") ? Convert.ToUInt64(p.Length == 2 ? "0" : p[2..], 16)
                    : p.Length > 1 && p[0] == '0' ? Convert.ToUInt64(p[1..], 8)
                    : ulong.Parse(p, NumberStyles.None, CultureInfo.InvariantCulture);
            }
            catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
            {
                return null;
            }
        }
        ulong result = 0;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            if (values[i] > 255)
            {
                return null;
            }
            result |= values[i] << (24 - 8 * i);
        }
        int lastBits = 32 - 8 * (parts.Length - 1);
        if (values[^1] >= 1UL << lastBits)
        {
            return null;
        }
        result |= values[^1];
        return $"{result >> 24}.{(result >> 16) & 255}.{(result >> 8) & 255}.{result & 255}";
    }
}
