using System.Collections.Immutable;
using System.Net;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>The <c>clients</c> and <c>networks</c> sections: who may use the proxy, and the named zones of addresses.</summary>
internal static class NetworkCompiler
{
    /// <summary><c>clients</c>: required, so the proxy is never open to everyone.</summary>
    public static ImmutableArray<IPNetwork> Clients(CompileContext cx, YamlNode? node, YamlNode root)
    {
        if (node is null)
        {
            cx.Src.Error(root, Messages.MissingClients);
        }

        return Cidrs(cx, node, "clients");
    }

    /// <summary><c>networks</c>: each a list of CIDRs, or <c>{ cidrs, default_role, description }</c>; at most 64.</summary>
    public static void Networks(CompileContext cx, YamlNode? node)
    {
        if (node is null)
        {
            return;
        }

        var src = cx.Src;
        foreach (var (key, value) in src.Entries(node, "networks"))
        {
            var name = key.Value!;
            if (cx.Networks.ContainsKey(name))
            {
                src.Error(key, Messages.DuplicateNetwork, name);
                continue;
            }

            YamlNode? cidrs = value;
            int? defaultRole = null;
            if (value is YamlMappingNode)
            {
                var entries = src.Entries(value, $"network '{name}'", ["cidrs", "default_role", "description"]);
                cidrs = YamlSource.Get(entries, "cidrs");
                if (cidrs is null)
                {
                    src.Error(value, Messages.NetworkNeedsCidrs, name);
                }

                if (YamlSource.Get(entries, "default_role") is { } roleNode && src.Scalar(roleNode, "default_role") is { } role)
                {
                    defaultRole = cx.RoleIndex(role, roleNode);
                }
            }

            if (cx.Networks.Count == 64)
            {
                src.Error(key, Messages.TooManyNetworks);
                continue;
            }

            cx.Networks[name] = new NetworkDef(name, cx.Networks.Count, Cidrs(cx, cidrs, $"network '{name}'"), defaultRole);
        }
    }

    private static ImmutableArray<IPNetwork> Cidrs(CompileContext cx, YamlNode? node, string what)
    {
        var result = ImmutableArray.CreateBuilder<IPNetwork>();
        foreach (var (text, at) in cx.Src.ScalarList(node, what))
        {
            if (TryParseCidr(text, out var network, out var problem))
            {
                result.Add(network);
            }
            else
            {
                cx.Src.Error(at, Messages.BadCidr, text, problem);
            }
        }

        return result.ToImmutable();
    }

    internal static bool TryParseCidr(string text, out IPNetwork network, out string? problem)
    {
        network = default;
        problem = null;
        var slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out var address) || addressText.Count(c => c == '.') is not (0 or 3))
        {
            problem = "not an IPv4 or IPv6 address";
            return false;
        }

        var max = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        var prefix = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), out prefix) || prefix < 0 || prefix > max))
        {
            problem = $"the prefix length must be 0-{max}";
            return false;
        }

        var masked = MaskAddress(address, prefix);
        if (masked != address.ToString())
        {
            problem = $"host bits are set; write the network address {masked}/{prefix}";
            return false;
        }

        network = new IPNetwork(address, prefix);
        return true;
    }

    private static string MaskAddress(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new IPAddress(bytes).ToString();
    }
}
