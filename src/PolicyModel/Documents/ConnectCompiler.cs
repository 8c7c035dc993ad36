using PolicyModel.Diagnostics;
using PolicyModel.Files;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>The <c>connect</c> section.</summary>
internal static class ConnectCompiler
{
    /// <summary><c>connect: { bare_ip: allow | block }</c>: whether a CONNECT to an IP address (no name to judge) is refused.</summary>
    public static bool Compile(CompileContext cx, YamlNode? node)
    {
        if (node is null)
        {
            return false;
        }

        var entries = cx.Src.Entries(node, "connect", ["bare_ip"]);
        if (YamlSource.Get(entries, "bare_ip") is not { } bareIp)
        {
            return false;
        }

        switch (cx.Src.Scalar(bareIp, "connect.bare_ip"))
        {
            case null:
                return false;
            case "allow":
                return false;
            case "block":
                return true;
            case var other:
                cx.Src.Error(bareIp, Messages.BadConnectBareIp, other, Suggestions.DidYouMean(other, ["allow", "block"]));
                return false;
        }
    }
}
