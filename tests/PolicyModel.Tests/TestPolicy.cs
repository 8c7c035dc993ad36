using System.Security.Cryptography;
using System.Text;
using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace PolicyModel.Tests;

/// <summary>Writes a policy directory to a temporary folder for one test, with a small social list and a hashed statutory list.</summary>
internal sealed class TestPolicy : IDisposable
{
    public const string Users = """
        username,display_name,roles,password_hash
        staff1,Sam Staff,staff,
        pupil1,Pat Pupil,pupil,
        marketing1,Morgan Marketing,staff;marketing,
        risk1,Riley Risk,staff,
        """;

    public TestPolicy(string policyYaml)
    {
        Directory = Path.Combine(Path.GetTempPath(), "policy-test-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "lists"));
        Write("policy.yaml", policyYaml);
        Write("users.csv", Users);
        Write("lists/social.txt", "# test list\nfacebook.com\ninstagram.com\ntiktok.com\n");
        Write("lists/terror.sha256", "# format: sha256\n" + Sha("blocked-terror.test") + "\n");
    }

    public string Directory { get; }

    public static string Sha(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));

    public void Write(string relative, string text) => File.WriteAllText(Path.Combine(Directory, relative), text.Replace("\r\n", "\n"));

    public PolicyLoadResult Load() => PolicyLoader.Load(Directory);

    public PolicySnapshot Snapshot()
    {
        var result = Load();
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        return result.Snapshot!;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The common head of test policies: zone, clients, networks, identity, roles and categories.</summary>
    public const string Head = """
        timezone: Europe/London
        clients: [10.0.0.0/8, 127.0.0.0/8]
        networks:
          staffroom: { cidrs: [10.20.0.0/24] }
          school-wifi: { cidrs: [10.30.0.0/16] }
          pupil-lan: { cidrs: [10.40.0.0/16], default_role: pupil }
          staff-desk: { cidrs: [10.30.5.0/24] }
        identity:
          users: users.csv
          proxy_auth: optional
          bindings:
            - { address: 10.30.5.10, user: staff1 }
        roles: [pupil, staff, marketing, guest]
        categories:
          social:
            lists: [lists/social.txt]
          terrorism:
            statutory: true
            alert_roles: [pupil]
            lists: [ { path: lists/terror.sha256, format: hashed } ]

        """;
}
