using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Cli;

/// <summary>Issue 17: <c>ca init</c> and <c>ca export</c>, run as the built binary, and the CA they make loaded by the service.</summary>
public sealed class CaCommandTests
{
    /// <summary>Runs the built binary with <paramref name="args"/> (30 s at most).</summary>
    internal static Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args) =>
        RunWithEnvironmentAsync(new Dictionary<string, string>(), args);

    /// <summary>As <see cref="RunAsync"/>, with <paramref name="environment"/> added to the child's environment.</summary>
    internal static async Task<(int Exit, string Stdout, string Stderr)> RunWithEnvironmentAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment)
        {
            psi.Environment[name] = value;
        }
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "FilterService.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            await process.StopAsync();
            throw new Xunit.Sdk.XunitException("still running after 30 s: " + string.Join(' ', args));
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A CA made by <c>ca init</c> in a new temporary directory: (directory, ca.crt, ca.key).</summary>
    internal static async Task<(string Dir, string Cert, string Key)> InitAsync(string school = "Cherry Oak Federation")
    {
        var dir = Path.Combine(TempDir.Create("ca"), "ca");
        var (exit, _, err) = await RunAsync("ca", "init", "--out", dir, "--name", school);
        Assert.True(exit == 0, err);
        return (dir, Path.Combine(dir, "ca.crt"), Path.Combine(dir, "ca.key"));
    }

    [Fact]
    public async Task CaInit_MakesAnEcdsaP256LeafOnlyCa_WithAnOwnerOnlyKey()
    {
        var (_, certPath, keyPath) = await InitAsync();

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        }

        using var ca = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        Assert.True(ca.HasPrivateKey);
        Assert.Equal("O=Cherry Oak Federation, CN=Cherry Oak Federation web filter inspection CA", ca.Subject);
        Assert.Equal(ca.Subject, ca.Issuer);
        using var key = ca.GetECDsaPublicKey()!;
        Assert.Equal(256, key.KeySize);
        Assert.Equal("1.2.840.10045.3.1.7", key.ExportParameters(false).Curve.Oid.Value); // nistP256
        var constraints = ca.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.Critical);
        Assert.True(constraints.CertificateAuthority);
        Assert.True(constraints.HasPathLengthConstraint);
        Assert.Equal(0, constraints.PathLengthConstraint);
        var usage = ca.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.True(usage.Critical);
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, usage.KeyUsages);
        Assert.InRange(ca.NotAfter.ToUniversalTime(), DateTime.UtcNow.AddYears(10).AddDays(-2), DateTime.UtcNow.AddYears(10).AddDays(1));
        Assert.True(ca.NotBefore.ToUniversalTime() < DateTime.UtcNow);
    }

    [Fact]
    public async Task CaInit_SecondTime_RefusesAndLeavesTheFirstCaAlone()
    {
        var (dir, certPath, keyPath) = await InitAsync();
        var key = await File.ReadAllTextAsync(keyPath);
        var cert = await File.ReadAllTextAsync(certPath);

        var (exit, _, err) = await RunAsync("ca", "init", "--out", dir);

        Assert.Equal(1, exit);
        Assert.Equal($"{keyPath}: error FS0007: the CA already exists; it is not overwritten (move it away first to make a new one)", err.Trim());
        Assert.Equal(key, await File.ReadAllTextAsync(keyPath));
        Assert.Equal(cert, await File.ReadAllTextAsync(certPath));
    }

    [Fact]
    public async Task CaExport_DerAndPem_AreTheSameCertificate()
    {
        var (dir, certPath, _) = await InitAsync();
        var der = Path.Combine(dir, "school-ca.cer");
        var pem = Path.Combine(dir, "school-ca.pem");

        var derRun = await RunAsync("ca", "export", "--cert", certPath, "--out", der, "--der");
        var pemRun = await RunAsync("ca", "export", "--cert", certPath, "--out", pem);

        Assert.True(derRun.Exit == 0, derRun.Stderr);
        Assert.True(pemRun.Exit == 0, pemRun.Stderr);
        using var original = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(certPath));
        Assert.Equal(original.RawData, await File.ReadAllBytesAsync(der));
        Assert.Equal(0x30, (await File.ReadAllBytesAsync(der))[0]); // DER: a SEQUENCE, not PEM text
        using var fromPem = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(pem));
        Assert.Equal(original.RawData, fromPem.RawData);
        Assert.Contains(original.GetCertHashString(HashAlgorithmName.SHA256), derRun.Stdout);
    }

    [Fact]
    public async Task CaInit_TheServiceStartsWithIt_AndInspectsWithLeavesItSigned()
    {
        var (_, certPath, keyPath) = await InitAsync();
        await using var origin = await TestOrigin.StartAsync();
        var originPem = Path.Combine(TempDir.Create("origin"), "origin.pem");
        await File.WriteAllTextAsync(originPem, origin.Certificate.ExportCertificatePem());
        await using var service = await ServiceProcess.StartAsync([
            $"--Policy:Path={Samples.CopyDefault()}", $"--Audit:Path={TempDir.Create("audit")}", "--Proxy:AllowLoopbackUpstream=true",
            $"--Proxy:InspectionCaCertificate={certPath}", $"--Proxy:InspectionCaKey={keyPath}", $"--Proxy:UpstreamTrustedCertificates={originPem}",
            $"--Proxy:HostOverrides:en.wikipedia.org=127.0.0.1:{origin.HttpsPort}"]);

        // en.wikipedia.org is inspected (the sample's no-wikipedia-edits rule): curl trusts only the new CA, and it verifies.
        var read = await Curl.RunAsync("--cacert", certPath, "--proxy", service.Proxy, "--proxy-user", "staff1:staff1-demo", "https://en.wikipedia.org/hello");

        Assert.True(read.ExitCode == 0, read.Stderr);
        Assert.Equal(200, read.HttpCode);
        Assert.Contains("Hello from the origin", read.Body);
    }

    [Fact]
    public async Task CaCommand_IsAKnownCommand_NotStartedAsTheService()
    {
        var (exit, stdout, _) = await RunAsync("ca", "--help");
        Assert.Equal(0, exit);
        Assert.Contains("init", stdout);
        Assert.Contains("export", stdout);
    }
}
