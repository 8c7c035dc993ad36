namespace FilterService.Identity;

/// <summary>
/// The directory's secrets and trust, from the service's settings (section <c>Identity:Ldap</c>), never from
/// policy.yaml: the policy says where the directory is and what groups mean (<c>identity.directory</c>).
/// </summary>
internal sealed class LdapSettings
{
    /// <summary>The service account's password (<c>Identity:Ldap:BindPassword</c>, e.g. from an environment variable).</summary>
    public string? BindPassword { get; set; }

    /// <summary>A file holding the password (<c>Identity:Ldap:BindPasswordFile</c>; a systemd credential), read at start; trailing newlines dropped.</summary>
    public string? BindPasswordFile { get; set; }

    /// <summary>
    /// A directory of PEM CA certificates the directory's TLS certificate must chain to
    /// (<c>Identity:Ldap:TrustedCertificatesDirectory</c>); default: the system's trust store.
    /// </summary>
    public string? TrustedCertificatesDirectory { get; set; }

    /// <summary>The <c>Identity:Ldap</c> section, checked; problems are added to <paramref name="errors"/>.</summary>
    public static LdapSettings Bind(IConfiguration configuration, List<string> errors)
    {
        var section = configuration.GetSection("Identity:Ldap");
        var settings = new LdapSettings
        {
            BindPassword = section["BindPassword"],
            BindPasswordFile = section["BindPasswordFile"],
            TrustedCertificatesDirectory = section["TrustedCertificatesDirectory"],
        };
        if (settings.BindPasswordFile is { } file)
        {
            try
            {
                settings.BindPassword = File.ReadAllText(file).TrimEnd('\r', '\n');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                errors.Add($"Identity:Ldap:BindPasswordFile: cannot read '{file}': {ex.Message}");
            }
        }
        if (settings.TrustedCertificatesDirectory is { } dir && !Directory.Exists(dir))
        {
            errors.Add($"Identity:Ldap:TrustedCertificatesDirectory: directory '{dir}' does not exist");
        }
        return settings;
    }
}
