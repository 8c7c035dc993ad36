using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using PolicyModel.Decisions;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>
/// Compiles <c>identity.directory</c> (docs/policy.md): the school's LDAP directory. Reports every problem at its
/// line: a bad url, DN or base, or plain <c>ldap://</c> without <c>starttls</c> (PM0701: passwords never cross the
/// network in clear); a user filter without <c>{user}</c> (PM0702); a group mapped twice (PM0703); a bad duration or
/// mode (PM0704); an undeclared role (PM0103). A password in the policy is refused: it is a setting.
/// </summary>
internal static class DirectoryCompiler
{
    private static readonly string[] Keys =
        ["url", "starttls", "bind_dn", "bind_password", "user_base", "user_filter", "group_base", "member_attribute", "nested_groups", "max_depth",
         "groups", "refresh", "cache_ttl", "cached_valid_for", "timeout", "on_directory_down"];

    public static DirectoryPolicy? Compile(YamlSource src, YamlNode node, IReadOnlyList<string> declaredRoles)
    {
        var e = src.Entries(node, "identity.directory", Keys);
        var ok = true;
        void Fail(YamlNode at, string code, string message)
        {
            src.Error(at, code, message);
            ok = false;
        }

        string? Required(string key, string what)
        {
            if (YamlSource.Get(e, key) is not { } n)
            {
                Fail(node, DocumentCodes.BadDirectory, $"identity.directory: missing '{key}': {what}");
                return null;
            }

            return src.Scalar(n, $"identity.directory {key}");
        }

        if (YamlSource.Get(e, "bind_password") is { } password)
        {
            Fail(password, DocumentCodes.BadDirectory,
                "identity.directory: the service account's password does not belong in the policy; set Identity:Ldap:BindPassword or Identity:Ldap:BindPasswordFile in the service's settings");
        }

        var startTls = src.Bool(YamlSource.Get(e, "starttls"), "identity.directory starttls") ?? false;
        Uri? url = null;
        if (Required("url", "the directory's address, ldaps://dc1.school.internal or ldap://... with starttls: true") is { } urlText)
        {
            var urlNode = YamlSource.Get(e, "url")!;
            if (!Uri.TryCreate(urlText, UriKind.Absolute, out url) || url.Scheme is not ("ldap" or "ldaps") || url.Host.Length == 0
                || url.AbsolutePath is not ("" or "/") || url.Query.Length > 0 || url.UserInfo.Length > 0)
            {
                Fail(urlNode, DocumentCodes.BadDirectory, $"identity.directory url '{urlText}' is not ldaps://HOST[:PORT] or ldap://HOST[:PORT]");
                url = null;
            }
            else if (url.Scheme == "ldap" && !startTls)
            {
                Fail(urlNode, DocumentCodes.BadDirectory,
                    $"identity.directory url '{urlText}' is plain LDAP: passwords would cross the network in clear; use ldaps:// or add 'starttls: true'");
            }
            else if (url.Scheme == "ldaps" && startTls)
            {
                Fail(YamlSource.Get(e, "starttls")!, DocumentCodes.BadDirectory, "identity.directory: starttls is for ldap:// urls; ldaps:// is TLS from the start");
            }
        }

        string? Dn(string key, string what)
        {
            var text = Required(key, what);
            if (text is not null && !LooksLikeDn(text))
            {
                Fail(YamlSource.Get(e, key)!, DocumentCodes.BadDirectory, $"identity.directory {key} '{text}' is not a distinguished name (cn=...,dc=...)");
                return null;
            }

            return text;
        }

        var bindDn = Dn("bind_dn", "the service account that looks users up (cn=filter,ou=Service,dc=school,dc=internal)");
        var userBase = Dn("user_base", "where users are searched (ou=People,dc=school,dc=internal)");
        var groupsNode = YamlSource.Get(e, "groups");
        var groupBase = YamlSource.Get(e, "group_base") is null && groupsNode is null ? userBase : Dn("group_base", "where groups are searched (ou=Groups,dc=school,dc=internal)");

        var filter = src.Scalar(YamlSource.Get(e, "user_filter"), "identity.directory user_filter") ?? "(uid={user})";
        if (!filter.Contains("{user}", StringComparison.Ordinal))
        {
            Fail(YamlSource.Get(e, "user_filter")!, DocumentCodes.BadDirectoryFilter,
                $"identity.directory user_filter '{filter}' has no '{{user}}': say where the signed-in name goes, e.g. (sAMAccountName={{user}})");
        }
        else if (!Balanced(filter))
        {
            Fail(YamlSource.Get(e, "user_filter")!, DocumentCodes.BadDirectoryFilter,
                $"identity.directory user_filter '{filter}' is not an LDAP filter: it must start with '(' and its parentheses must balance");
        }

        var member = src.Scalar(YamlSource.Get(e, "member_attribute"), "identity.directory member_attribute") ?? "member";
        if (member.Length == 0 || !member.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            Fail(YamlSource.Get(e, "member_attribute")!, DocumentCodes.BadDirectoryValue, $"identity.directory member_attribute '{member}' is not an attribute name");
        }

        var nesting = NestedGroups.Walk;
        if (YamlSource.Get(e, "nested_groups") is { } nestNode && src.Scalar(nestNode, "identity.directory nested_groups") is { } nest)
        {
            switch (nest)
            {
                case "walk": nesting = NestedGroups.Walk; break;
                case "in_chain": nesting = NestedGroups.InChain; break;
                case "off": nesting = NestedGroups.Off; break;
                default:
                    Fail(nestNode, DocumentCodes.BadDirectoryValue,
                        $"identity.directory nested_groups must be walk, in_chain (Active Directory) or off, not '{nest}'{Suggestions.DidYouMean(nest, ["walk", "in_chain", "off"])}");
                    break;
            }
        }

        var maxDepth = 8;
        if (YamlSource.Get(e, "max_depth") is { } depthNode && src.Scalar(depthNode, "identity.directory max_depth") is { } depthText)
        {
            if (!int.TryParse(depthText, NumberStyles.None, CultureInfo.InvariantCulture, out maxDepth) || maxDepth is < 1 or > 32)
            {
                Fail(depthNode, DocumentCodes.BadDirectoryValue, $"identity.directory max_depth '{depthText}' must be a whole number 1-32");
            }
        }

        var down = DirectoryDownMode.CachedThenDefault;
        if (YamlSource.Get(e, "on_directory_down") is { } downNode && src.Scalar(downNode, "identity.directory on_directory_down") is { } downText)
        {
            switch (downText)
            {
                case "cached_then_default": down = DirectoryDownMode.CachedThenDefault; break;
                case "refuse": down = DirectoryDownMode.Refuse; break;
                default:
                    Fail(downNode, DocumentCodes.BadDirectoryValue,
                        $"identity.directory on_directory_down must be cached_then_default or refuse, not '{downText}'{Suggestions.DidYouMean(downText, ["cached_then_default", "refuse"])}");
                    break;
            }
        }

        TimeSpan Duration(string key, TimeSpan fallback, TimeSpan min, TimeSpan max)
        {
            if (YamlSource.Get(e, key) is not { } n || src.Scalar(n, $"identity.directory {key}") is not { } text)
            {
                return fallback;
            }

            if (ParseDuration(text) is { } value && value >= min && value <= max)
            {
                return value;
            }

            Fail(n, DocumentCodes.BadDirectoryValue, $"identity.directory {key} '{text}' must be a duration from {Show(min)} to {Show(max)} (30s, 5m, 8h)");
            return fallback;
        }

        var refresh = Duration("refresh", TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        var cacheTtl = Duration("cache_ttl", TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(1), TimeSpan.FromHours(12));
        var validFor = Duration("cached_valid_for", TimeSpan.FromHours(8), TimeSpan.Zero, TimeSpan.FromDays(7));
        var timeout = Duration("timeout", TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(1));

        var byDn = new Dictionary<string, ImmutableArray<string>>(StringComparer.Ordinal);
        var byName = new Dictionary<string, ImmutableArray<string>>(StringComparer.OrdinalIgnoreCase);
        if (groupsNode is not null)
        {
            foreach (var (key, value) in src.Entries(groupsNode, "identity.directory groups"))
            {
                var group = key.Value!.Trim();
                var roles = ImmutableArray.CreateBuilder<string>();
                foreach (var (role, at) in src.ScalarList(value, $"the roles of group '{group}'"))
                {
                    if (declaredRoles.Contains(role))
                    {
                        roles.Add(role);
                    }
                    else
                    {
                        Fail(at, "PM0103", $"unknown role '{role}'{Suggestions.DidYouMean(role, declaredRoles)}");
                    }
                }

                var isDn = group.Contains('=');
                if (isDn && !LooksLikeDn(group))
                {
                    Fail(key, DocumentCodes.BadDirectoryGroup, $"identity.directory groups: '{group}' is neither a group's name nor a distinguished name");
                }
                else if (!(isDn ? byDn.TryAdd(DirectoryPolicy.NormalizeDn(group), roles.ToImmutable()) : byName.TryAdd(group, roles.ToImmutable())))
                {
                    Fail(key, DocumentCodes.BadDirectoryGroup, $"identity.directory groups: group '{group}' is mapped twice");
                }
            }
        }

        if (!ok || url is null || bindDn is null || userBase is null || groupBase is null)
        {
            return null;
        }

        return new DirectoryPolicy(url, startTls, bindDn, userBase, filter, groupBase, member, nesting, maxDepth, refresh, cacheTtl, validFor, timeout,
            down, (int)node.Start.Line)
        {
            RolesByDn = byDn.ToFrozenDictionary(StringComparer.Ordinal),
            RolesByName = byName.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
        };
    }

    /// <summary><c>attr=value</c> pairs separated by commas, each attribute a name or an OID.</summary>
    private static bool LooksLikeDn(string text) =>
        text.Split(',').All(rdn => rdn.IndexOf('=') is var eq and > 0 && eq < rdn.Length - 1
            && rdn[..eq].Trim() is { Length: > 0 } attr && attr.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.'));

    private static bool Balanced(string filter)
    {
        if (!filter.StartsWith('(') || !filter.EndsWith(')'))
        {
            return false;
        }

        var depth = 0;
        foreach (var c in filter)
        {
            depth += c == '(' ? 1 : c == ')' ? -1 : 0;
            if (depth < 0)
            {
                return false;
            }
        }

        return depth == 0;
    }

    /// <summary><c>90s</c>, <c>5m</c>, <c>8h</c>, <c>1d</c>, <c>500ms</c>; null when it is none of these.</summary>
    internal static TimeSpan? ParseDuration(string text)
    {
        text = text.Trim();
        var unitAt = 0;
        while (unitAt < text.Length && char.IsAsciiDigit(text[unitAt]))
        {
            unitAt++;
        }

        if (unitAt == 0 || unitAt > 9 || !long.TryParse(text.AsSpan(0, unitAt), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return null;
        }

        return text[unitAt..] switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            "d" => TimeSpan.FromDays(n),
            _ => null,
        };
    }

    private static string Show(TimeSpan t) =>
        t.TotalDays >= 1 && t.TotalDays % 1 == 0 ? $"{t.TotalDays}d" : t.TotalHours >= 1 && t.TotalHours % 1 == 0 ? $"{t.TotalHours}h"
        : t.TotalMinutes >= 1 && t.TotalMinutes % 1 == 0 ? $"{t.TotalMinutes}m" : t.TotalSeconds >= 1 && t.TotalSeconds % 1 == 0 ? $"{t.TotalSeconds}s" : $"{t.TotalMilliseconds}ms";
}
