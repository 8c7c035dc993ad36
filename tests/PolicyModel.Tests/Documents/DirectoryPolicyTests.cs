using System.Collections.Immutable;
using System.Net;
using PolicyModel.Decisions;

namespace PolicyModel.Tests.Documents;

/// <summary>Issue 22: <c>identity.directory</c> compiles, maps groups (by DN or name) to roles, and reports bad values where they are.</summary>
public sealed class DirectoryPolicyTests
{
    private const string Tail = """
        rules:
          - name: staff-social
            roles: [staff]
            category: social
            action: allow
          - name: no-social
            category: social
            action: block
        default: allow

        """;

    private static string With(string directory) =>
        TestPolicy.Head.Replace("  proxy_auth: optional\n", "  proxy_auth: optional\n" + directory) + Tail;

    private const string Good = """
          directory:
            url: ldaps://dc1.school.test
            bind_dn: "cn=filter,ou=Service,dc=school,dc=test"
            user_base: "ou=People,dc=school,dc=test"
            user_filter: "(sAMAccountName={user})"
            group_base: "ou=Groups,dc=school,dc=test"
            nested_groups: in_chain
            groups:
              "CN=Teaching Staff, OU=Groups, DC=school, DC=test": staff
              Marketing: [marketing, staff]
            refresh: 10m
            cache_ttl: 2m
            cached_valid_for: 4h
            on_directory_down: refuse

        """;

    /// <summary>The service's table of signed-in members, as a dictionary.</summary>
    private sealed class Members(params DirectoryMember[] members) : IDirectoryMembers
    {
        public DirectoryMember? Find(string userName) => members.FirstOrDefault(m => string.Equals(m.UserName, userName, StringComparison.OrdinalIgnoreCase));
    }

    private static Decision Decide(PolicySnapshot snapshot, string user) =>
        snapshot.Decide(new FilterRequest(IPAddress.Parse("10.20.0.9"), user, "GET", "https", "facebook.com", 443, "/", DateTimeOffset.Parse("2026-11-23T10:00:00Z")));

    [Fact]
    public void Issue22_Ldap_DirectorySection_CompilesAndMapsNestedGroupsByDnOrName_CsvFirst()
    {
        using var p = new TestPolicy(With(Good));
        var loaded = p.Snapshot();
        var ldap = loaded.Ldap!;
        Assert.Equal(new Uri("ldaps://dc1.school.test"), ldap.Url);
        Assert.Equal(NestedGroups.InChain, ldap.Nesting);
        Assert.Equal(DirectoryDownMode.Refuse, ldap.OnDown);
        Assert.Equal((TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(2), TimeSpan.FromHours(4)), (ldap.Refresh, ldap.CacheTtl, ldap.CachedValidFor));

        // A DN matches whatever its case and spacing; a name matches a group's first RDN value.
        Assert.Equal(
            [("staff", "cn=teaching staff,ou=groups,dc=school,dc=test")],
            ldap.RolesFor(["cn=teaching staff,ou=groups,dc=school,dc=test", "cn=Year 7,ou=Groups,dc=school,dc=test"]));
        Assert.Equal([("marketing", "cn=marketing,ou=Groups,dc=school,dc=test"), ("staff", "cn=marketing,ou=Groups,dc=school,dc=test")],
            ldap.RolesFor(["cn=marketing,ou=Groups,dc=school,dc=test"]));

        var now = DateTimeOffset.UtcNow;
        var snapshot = loaded.WithDirectoryMembers(new Members(
            new DirectoryMember("tstaff", "Terry Staff", ["CN=Teaching Staff,OU=Groups,DC=school,DC=test"], now),
            new DirectoryMember("pupil9", null, ["cn=Year 7,ou=Groups,dc=school,dc=test"], now),
            new DirectoryMember("pupil1", null, ["CN=Teaching Staff,OU=Groups,DC=school,DC=test"], now)));

        // The directory's staff member gets the staff rule; a member in no mapped group has no role and is blocked.
        var staff = Decide(snapshot, "tstaff");
        Assert.Equal("staff-social", staff.Rule);
        Assert.Equal(["staff"], staff.Identity.Roles.ToArray());
        Assert.Equal("Terry Staff", staff.Identity.DisplayName);
        Assert.Equal("no-social", Decide(snapshot, "pupil9").Rule);
        // users.csv first: pupil1 is a pupil there, whatever the directory says.
        Assert.Equal("no-social", Decide(snapshot, "pupil1").Rule);
        Assert.Equal(["pupil"], Decide(snapshot, "pupil1").Identity.Roles.ToArray());
        // The policy as loaded, without the service's table, knows no directory roles.
        Assert.Equal("no-social", Decide(loaded, "tstaff").Rule);

        Assert.Equal([("staff", "directory group CN=Teaching Staff,OU=Groups,DC=school,DC=test")], snapshot.RoleSources("tstaff"));
        Assert.Equal([("pupil", "users.csv")], snapshot.RoleSources("pupil1"));
        Assert.Empty(snapshot.RoleSources("nobody"));
    }

    [Fact]
    public void Issue22_Ldap_DirectorySection_EveryBadValueLocated()
    {
        using var p = new TestPolicy(With("""
              directory:
                url: ldap://dc1.school.test
                bind_dn: filter-account
                bind_password: hunter2
                user_base: "ou=People,dc=school,dc=test"
                user_filter: "(sAMAccountName=jsmith)"
                nested_groups: inchain
                max_depth: 0
                groups:
                  "cn=Year 7,ou=Groups,dc=school,dc=test": year7
                  "CN=Year 7, OU=Groups, DC=school, DC=test": pupil
                refresh: soon
                on_directory_down: open

            """));
        var errors = p.Load().Errors.Select(d => d.ToString()).ToArray();
        Assert.Equal(
            [
                "policy.yaml:14:20: error PM0705: identity.directory: the service account's password does not belong in the policy; set Identity:Ldap:BindPassword or Identity:Ldap:BindPasswordFile in the service's settings",
                "policy.yaml:12:10: error PM0701: identity.directory url 'ldap://dc1.school.test' is plain LDAP: passwords would cross the network in clear; use ldaps:// or add 'starttls: true'",
                "policy.yaml:13:14: error PM0701: identity.directory bind_dn 'filter-account' is not a distinguished name (cn=...,dc=...)",
                "policy.yaml:12:5: error PM0701: identity.directory: missing 'group_base': where groups are searched (ou=Groups,dc=school,dc=internal)",
                "policy.yaml:16:18: error PM0702: identity.directory user_filter '(sAMAccountName=jsmith)' has no '{user}': say where the signed-in name goes, e.g. (sAMAccountName={user})",
                "policy.yaml:17:20: error PM0704: identity.directory nested_groups must be walk, in_chain (Active Directory) or off, not 'inchain'; did you mean 'in_chain'?",
                "policy.yaml:18:16: error PM0704: identity.directory max_depth '0' must be a whole number 1-32",
                "policy.yaml:23:24: error PM0704: identity.directory on_directory_down must be cached_then_default or refuse, not 'open'",
                "policy.yaml:22:14: error PM0704: identity.directory refresh 'soon' must be a duration from 1s to 1d (30s, 5m, 8h)",
                "policy.yaml:20:48: error PM0103: unknown role 'year7'",
                "policy.yaml:21:7: error PM0703: identity.directory groups: group 'CN=Year 7, OU=Groups, DC=school, DC=test' is mapped twice",
            ],
            errors);
    }
}
