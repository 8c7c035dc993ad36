using NodaTime;
using PolicyModel.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>The <c>timezone</c> and <c>roles</c> sections, which every later section refers to.</summary>
internal static class RoleCompiler
{
    /// <summary><c>timezone</c>: required, an IANA name; school local time for schedules and dates.</summary>
    public static void TimeZone(CompileContext cx, YamlNode? node, YamlNode root)
    {
        if (node is null)
        {
            cx.Src.Error(root, Messages.MissingTimeZone);
            return;
        }

        var id = cx.Src.Scalar(node, "timezone");
        if (id is null)
        {
            return;
        }

        var zone = DateTimeZoneProviders.Tzdb.GetZoneOrNull(id);
        if (zone is null)
        {
            cx.Src.Error(node, Messages.UnknownTimeZone, id, Suggestions.DidYouMean(id, DateTimeZoneProviders.Tzdb.Ids));
            return;
        }

        cx.Zone = zone;
    }

    /// <summary><c>roles</c>: required, every role the policy uses, at most 64 (a bit each).</summary>
    public static void Roles(CompileContext cx, YamlNode? node, YamlNode root)
    {
        if (node is null)
        {
            cx.Src.Error(root, Messages.MissingRoles);
            return;
        }

        foreach (var (role, at) in cx.Src.ScalarList(node, "roles"))
        {
            if (cx.Roles.Contains(role))
            {
                cx.Src.Error(at, Messages.DuplicateRole, role);
            }
            else if (cx.Roles.Count == 64)
            {
                cx.Src.Error(at, Messages.TooManyRoles);
            }
            else
            {
                cx.Roles.Add(role);
            }
        }
    }
}
