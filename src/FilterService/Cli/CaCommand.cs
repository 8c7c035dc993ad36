using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FilterService.Cli;

/// <summary>
/// The school's inspection CA (issue 17): <c>ca init</c> makes it (<c>ca.crt</c>, <c>ca.key</c>, usable as
/// <c>Proxy:InspectionCaCertificate</c> and <c>Proxy:InspectionCaKey</c>), <c>ca export</c> writes the certificate
/// for deployment (PEM, or DER <c>.cer</c> for group policy and Intune). The key never leaves <c>ca.key</c>.
/// </summary>
internal static class CaCommand
{
    public const string CertificateFile = "ca.crt";
    public const string KeyFile = "ca.key";

    /// <summary>Ten years: a school deploys the certificate once, by group policy; the leaves it signs live 30 days.</summary>
    public const int DefaultYears = 10;

    public static Command Create(TextWriter stdout, TextWriter stderr, TimeProvider time)
    {
        var command = new Command("ca", "The school's inspection CA: create it, export its certificate for deployment");
        command.Subcommands.Add(CreateInit(stdout, stderr, time));
        command.Subcommands.Add(CreateExport(stdout, stderr));
        return command;
    }

    private static Command CreateInit(TextWriter stdout, TextWriter stderr, TimeProvider time)
    {
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Directory for ca.crt and ca.key (created if missing)", Required = true };
        var name = new Option<string>("--name") { Description = "The school's name, shown in the certificate", DefaultValueFactory = _ => "School" };
        var years = new Option<int>("--years") { Description = "Validity in years", DefaultValueFactory = _ => DefaultYears };
        var command = new Command("init", "Create the inspection CA as DIR/ca.crt and DIR/ca.key (ECDSA P-256, key mode 0600)") { outDir, name, years };
        command.SetAction(parse =>
        {
            var dir = parse.GetValue(outDir)!.FullName;
            int validity = parse.GetValue(years);
            if (validity is < 1 or > 30)
            {
                stderr.WriteLine($"error FS0006: --years must be between 1 and 30, not {validity}");
                return 2;
            }
            var keyPath = Path.Combine(dir, KeyFile);
            var certPath = Path.Combine(dir, CertificateFile);
            if (File.Exists(keyPath) || File.Exists(certPath))
            {
                // A second init would silently replace the CA every device trusts: nothing inspected would verify any more.
                stderr.WriteLine($"{(File.Exists(keyPath) ? keyPath : certPath)}: error FS0007: the CA already exists; it is not overwritten (move it away first to make a new one)");
                return 1;
            }
            if (Write(dir, parse.GetValue(name)!, validity, time.GetUtcNow()) is { } problem)
            {
                stderr.WriteLine(problem);
                return 1;
            }
            stdout.WriteLine($"Created {certPath} and {keyPath} (key readable by its owner only).");
            stdout.WriteLine($"Configure: --Proxy:InspectionCaCertificate={certPath} --Proxy:InspectionCaKey={keyPath}");
            stdout.WriteLine($"Deploy the certificate (never the key) to the school's devices: see docs/service.md, 'The inspection CA'.");
            return 0;
        });
        return command;
    }

    private static Command CreateExport(TextWriter stdout, TextWriter stderr)
    {
        var cert = new Option<FileInfo>("--cert") { Description = "The CA certificate (ca.crt)", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "The file to write", Required = true };
        var der = new Option<bool>("--der") { Description = "DER (.cer, for Windows group policy and Intune) instead of PEM" };
        var command = new Command("export", "Write the CA certificate for deployment (PEM, or DER with --der)") { cert, output, der };
        command.SetAction(parse =>
        {
            var from = parse.GetValue(cert)!;
            var to = parse.GetValue(output)!;
            X509Certificate2 certificate;
            try
            {
                certificate = X509CertificateLoader.LoadCertificateFromFile(from.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                stderr.WriteLine($"{from}: error FS0009: not a readable certificate: {e.Message}");
                return 1;
            }
            using (certificate)
            {
                try
                {
                    if (parse.GetValue(der))
                    {
                        File.WriteAllBytes(to.FullName, certificate.RawData);
                    }
                    else
                    {
                        File.WriteAllText(to.FullName, certificate.ExportCertificatePem() + "\n");
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    stderr.WriteLine($"{to}: error FS0008: cannot write: {e.Message}");
                    return 1;
                }
                stdout.WriteLine($"Wrote {to} ({(parse.GetValue(der) ? "DER" : "PEM")}), SHA-256 fingerprint {certificate.GetCertHashString(HashAlgorithmName.SHA256)}.");
            }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Makes a new CA and writes it as <paramref name="dir"/>/ca.crt and ca.key (the key 0600 from its first byte);
    /// null, or the located error (FS0008). Never overwrites: a key that exists already is an error.
    /// </summary>
    internal static string? Write(string dir, string school, int years, DateTimeOffset now)
    {
        var (certPem, keyPem) = Make(school, years, now);
        try
        {
            Directory.CreateDirectory(dir);
            // The key is created 0600 from its first byte (never written wider and then narrowed), and CreateNew
            // refuses a key that appeared meanwhile.
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            using (var key = new StreamWriter(Path.Combine(dir, KeyFile), System.Text.Encoding.ASCII, options))
            {
                key.Write(keyPem);
            }
            File.WriteAllText(Path.Combine(dir, CertificateFile), certPem);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{dir}: error FS0008: cannot write the CA: {e.Message}";
        }
    }

    /// <summary>
    /// A CA that may sign leaves only (path length 0), for certificate and CRL signing only (RFC 5280 4.2.1.9, 4.2.1.3),
    /// valid from a day before <paramref name="now"/> (clocks on school devices drift) for <paramref name="years"/>.
    /// </summary>
    internal static (string CertificatePem, string KeyPem) Make(string school, int years, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(school);
        subject.AddCommonName($"{school} web filter inspection CA");
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var ca = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(years));
        return (ca.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }
}
