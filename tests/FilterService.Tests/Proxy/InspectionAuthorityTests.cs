using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>The leaf certificates the inspection CA mints: their validity window, and what the cache keeps.</summary>
public sealed class InspectionAuthorityTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);

    private static X509Certificate2 Ca(DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Test School Inspection CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    [Fact]
    public void Mint_CaMadeMinutesAgo_LeafStartsWithTheCaNotADayBefore()
    {
        // openssl req -x509 (and many a school's tooling) makes a CA valid from the moment it is made: a leaf backdated a
        // day would start before its issuer, which the certificate API refuses, so every inspected tunnel failed for a day.
        using var ca = Ca(Now.AddMinutes(-5), Now.AddYears(1));
        var authority = new InspectionAuthority(ca, new FakeTime(Now));

        var leaf = authority.ContextFor("www.example.org").TargetCertificate;

        Assert.Equal(ca.NotBefore, leaf.NotBefore);
        Assert.Equal(Now.AddDays(30).UtcDateTime, leaf.NotAfter.ToUniversalTime(), TimeSpan.FromSeconds(1));
        Assert.True(leaf.HasPrivateKey);
    }

    [Fact]
    public void Mint_OldCa_LeafBackdatedOneDayAndEndsWithTheCa()
    {
        using var ca = Ca(Now.AddYears(-1), Now.AddDays(10));
        var authority = new InspectionAuthority(ca, new FakeTime(Now));

        var leaf = authority.ContextFor("www.example.org").TargetCertificate;

        Assert.Equal(Now.AddDays(-1).UtcDateTime, leaf.NotBefore.ToUniversalTime(), TimeSpan.FromSeconds(1));
        Assert.Equal(ca.NotAfter, leaf.NotAfter);
    }

    [Fact]
    public void ContextFor_SecondLookup_IsTheCachedLeafAndCountedAsAHit()
    {
        using var ca = Ca(Now.AddDays(-2), Now.AddYears(1));
        var authority = new InspectionAuthority(ca, new FakeTime(Now));
        var lookups = new List<bool>();
        var mints = 0;
        authority.LeafLookup += lookups.Add;
        authority.LeafMinted += _ => mints++;

        var first = authority.ContextFor("a.example.org");
        var again = authority.ContextFor("a.example.org");
        authority.ContextFor("b.example.org");

        Assert.Same(first, again);
        Assert.Equal([false, true, false], lookups);
        Assert.Equal(2, mints);
    }
}
