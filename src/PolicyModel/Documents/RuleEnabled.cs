using PolicyModel.Diagnostics;
using PolicyModel.Files;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>
/// A rule's <c>enabled:</c> key (issue 18): <c>false</c> keeps the rule in the file, where the console's switch and a
/// hand edit both leave it, while the engine skips it and <c>explain</c> shows it as disabled. Default <c>true</c>.
/// </summary>
internal static class RuleEnabled
{
    public static bool Read(YamlSource src, YamlNode node)
    {
        switch (src.Scalar(node, "enabled")?.ToLowerInvariant())
        {
            case "true":
                return true;
            case "false":
                return false;
            case var other:
                src.Error(node, Messages.BadBool, "enabled", other);
                return true;
        }
    }
}
