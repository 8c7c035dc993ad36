using System.Collections.Frozen;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>
/// Compiles <c>safe_search: { roles: [pupil, guest], youtube: strict }</c> (docs/policy.md): the roles must be
/// declared (PM0103), <c>youtube</c> is <c>strict</c> (the default) or <c>moderate</c> (PM0602).
/// </summary>
internal static class SafeSearchCompiler
{
    private static readonly string[] Keys = ["roles", "youtube"];

    public static SafeSearchPolicy Compile(YamlSource src, YamlNode? node, IReadOnlyList<string> declaredRoles)
    {
        if (node is null)
        {
            return SafeSearchPolicy.None;
        }
        var entries = src.Entries(node, "safe_search", Keys);
        var roles = new HashSet<string>(StringComparer.Ordinal);
        var rolesNode = YamlSource.Get(entries, "roles");
        if (rolesNode is null)
        {
            src.Error(node, Messages.SafeSearchNeedsRoles);
        }
        foreach (var (role, at) in src.ScalarList(rolesNode, "safe_search roles"))
        {
            if (!declaredRoles.Contains(role))
            {
                src.Error(at, Messages.UnknownRole, role, Suggestions.DidYouMean(role, declaredRoles));
            }
            else
            {
                roles.Add(role);
            }
        }
        var youtube = YouTubeMode.Strict;
        if (YamlSource.Get(entries, "youtube") is { } ytNode && src.Scalar(ytNode, "safe_search youtube") is { } yt)
        {
            switch (yt)
            {
                case "strict":
                    break;
                case "moderate":
                    youtube = YouTubeMode.Moderate;
                    break;
                default:
                    src.Error(ytNode, Messages.BadSafeSearchMode, yt);
                    break;
            }
        }
        return new SafeSearchPolicy(roles.ToFrozenSet(StringComparer.Ordinal), youtube);
    }
}
