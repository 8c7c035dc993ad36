using System.Collections.Frozen;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>The <c>denied_users</c> section: people denied all access, each with a reason (and who decided).</summary>
internal static class DeniedUsersCompiler
{
    public static FrozenDictionary<string, DeniedUser> Compile(CompileContext cx, YamlNode? node)
    {
        var result = new Dictionary<string, DeniedUser>(StringComparer.OrdinalIgnoreCase);
        if (node is null)
        {
            return result.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        }

        if (node is not YamlSequenceNode seq)
        {
            cx.Src.Error(node, Messages.DeniedUsersNotAList);
            return result.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        }

        foreach (var item in seq.Children)
        {
            var e = cx.Src.Entries(item, "a denied user", ["user", "reason", "by"]);
            var userNode = YamlSource.Get(e, "user");
            var user = cx.Src.Scalar(userNode, "user");
            var reason = cx.Src.Scalar(YamlSource.Get(e, "reason"), "reason");
            if (user is null || reason is null)
            {
                cx.Src.Error(item, Messages.DeniedUserNeedsUserAndReason);
                continue;
            }

            if (cx.CheckUser(user, userNode!))
            {
                result[user] = new DeniedUser(user, reason.TrimEnd('.'), cx.Src.Scalar(YamlSource.Get(e, "by"), "by"));
            }
        }

        return result.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }
}
