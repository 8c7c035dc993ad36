using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
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
        void Fail(YamlNode at, DiagnosticMessage message, params object?[] args)
        {
            src.Error(at, message, args);
            ok = false;
        }

        string? Required(string key, string what)
        {
            if (YamlSource.Get(e, key) is not { } n)
            {
                Fail(node, Messages.DirectoryMissingKey, key, what);
                return null;
            }

            return src.Scalar(n, $"identity.directory {key}");
        }

        if (YamlSource.Get(e, "bind_password") is { } password)
        {
            Fail(password, Messages.DirectoryPasswordInPolicy);
        }

        var startTls = src.Bool(YamlSource.Get(e, "starttls"), "identity.directory starttls") ?? false;
        Uri? url = null;
        if (Required("url", "the directory's address, ldaps://dc1.school.internal or ldap://... with starttls: true") is { } urlText)
        {
            var urlNode = YamlSource.Get(e, "url")!;
            if (!Uri.TryCreate(urlText, UriKind.Absolute, out url) || url.Scheme is not ("ldap" or "ldaps") || url.Host.Length == 0
                || url.AbsolutePath is not ("" or "/") || url.Query.Length > 0 || url.UserInfo.Length > 0)
            {
                Fail(urlNode, Messages.DirectoryBadUrl, urlText);
                url = null;
            }
            else if (url.Scheme == "ldap" && !startTls)
            {
                Fail(urlNode, Messages.DirectoryPlainLdap, urlText);
            }
            else if (url.Scheme == "ldaps" && startTls)
            {
                Fail(YamlSource.Get(e, "starttls")!, Messages.DirectoryStartTlsWithLdaps);
            }
        }

        string? Dn(string key, string what)
        {
            var text = Required(key, what);
            if (text is not null && !LooksLikeDn(text))
            {
                Fail(YamlSource.Get(e, key)!, Messages.DirectoryBadDn, key, text);
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
            Fail(YamlSource.Get(e, "user_filter")!, Messages.DirectoryFilterWithoutUser, filter);
        }
        else if (!Balanced(filter))
        {
            Fail(YamlSource.Get(e, "user_filter")!, Messages.DirectoryFilterNotLdap, filter);
        }

        var member = src.Scalar(YamlSource.Get(e, "member_attribute"), "identity.directory member_attribute") ?? "member";
        if (member.Length == 0 || !member.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            Fail(YamlSource.Get(e, "member_attribute")!, Messages.DirectoryBadMemberAttribute, member);
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
                    Fail(nestNode, Messages.DirectoryBadNestedGroups, nest, Suggestions.DidYouMean(nest, ["walk", "in_chain", "off"]));
                    break;
            }
        }

        var maxDepth = 8;
        if (YamlSource.Get(e, "max_depth") is { } depthNode && src.Scalar(depthNode, "identity.directory max_depth") is { } depthText)
        {
            if (!int.TryParse(depthText, NumberStyles.None, CultureInfo.InvariantCulture, out maxDepth) || maxDepth is < 1 or > 32)
            {
                Fail(depthNode, Messages.DirectoryBadMaxDepth, depthText);
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
                    Fail(downNode, Messages.DirectoryBadOnDown, downText, Suggestions.DidYouMean(downText, ["cached_then_default", "refuse"]));
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

            Fail(n, Messages.DirectoryBadDuration, key, text, Show(min), Show(max));
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
                        Fail(at, Messages.UnknownRole, role, Suggestions.DidYouMean(role, declaredRoles));
                    }
                }

                var isDn = group.Contains('=');
                if (isDn && !LooksLikeDn(group))
                {
                    Fail(key, Messages.DirectoryGroupNotNameOrDn, group);
                }
                else if (!(isDn ? byDn.TryAdd(DirectoryPolicy.NormalizeDn(group), roles.ToImmutable()) : byName.TryAdd(group, roles.ToImmutable())))
                {
                    Fail(key, Messages.DirectoryGroupMappedTwice, group);
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
