using System.Collections.Frozen;
using System.Net;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>The compiled <c>identity</c> section.</summary>
internal sealed record IdentitySection(ProxyAuthMode ProxyAuth, FrozenDictionary<IPAddress, string> Bindings, ulong SignInNetworkMask, DirectoryPolicy? Ldap)
{
    public static IdentitySection None { get; } = new(ProxyAuthMode.Off, FrozenDictionary<IPAddress, string>.Empty, 0, null);
}

/// <summary>
/// The <c>identity</c> section: the users file, <c>proxy_auth</c>, <c>required_on</c>, address <c>bindings</c> and the
/// LDAP <c>directory</c>. Fills the context's users (and whether a directory is there) for the sections after it.
/// </summary>
internal static class IdentityCompiler
{
    private static readonly string[] Keys = ["users", "proxy_auth", "required_on", "bindings", "directory"];

    public static IdentitySection Compile(CompileContext cx, YamlNode? node)
    {
        if (node is null)
        {
            return IdentitySection.None;
        }

        var src = cx.Src;
        var entries = src.Entries(node, "identity", Keys);
        DirectoryPolicy? ldap = null;
        if (YamlSource.Get(entries, "directory") is { } directoryNode)
        {
            ldap = DirectoryCompiler.Compile(src, directoryNode, cx.Roles);
            cx.HasDirectory = true;
        }

        var usersLoaded = YamlSource.Get(entries, "users") is { } usersNode && ReadUsers(cx, usersNode);
        var mode = ProxyAuthMode.Off;
        if (YamlSource.Get(entries, "proxy_auth") is { } authNode && src.Scalar(authNode, "proxy_auth") is { } auth)
        {
            switch (auth)
            {
                case "off": mode = ProxyAuthMode.Off; break;
                case "optional": mode = ProxyAuthMode.Optional; break;
                case "required": mode = ProxyAuthMode.Required; break;
                default:
                    src.Error(authNode, Messages.BadProxyAuth, auth);
                    break;
            }

            if (mode != ProxyAuthMode.Off && !usersLoaded && YamlSource.Get(entries, "directory") is null)
            {
                src.Error(authNode, Messages.ProxyAuthWithoutPasswords);
            }
        }

        // Issue 15 item 5: networks where a device must sign in although proxy_auth is optional elsewhere, so a
        // person's rules (denied_users, staff rules) cannot be escaped by sending no credentials.
        var signInNetworks = 0UL;
        if (YamlSource.Get(entries, "required_on") is { } requiredNode)
        {
            signInNetworks = cx.NetworkMask(requiredNode, "required_on");
            if (mode == ProxyAuthMode.Off)
            {
                src.Error(requiredNode, Messages.RequiredOnNeedsOptionalSignIn);
            }
        }

        return new IdentitySection(mode, Bindings(cx, YamlSource.Get(entries, "bindings")), signInNetworks, ldap);
    }

    /// <summary>Reads the users file into the context; false when it could not be read (reported).</summary>
    private static bool ReadUsers(CompileContext cx, YamlNode usersNode)
    {
        if (cx.Src.Scalar(usersNode, "users") is not { } usersFile)
        {
            return false;
        }

        if (PolicyFiles.Inspect(Path.Combine(cx.Directory, usersFile), PolicyFiles.MaxTableBytes) == PolicyFiles.Check.NotFound)
        {
            cx.Src.Error(usersNode, Messages.UsersFileNotFound, usersFile);
            return false;
        }

        if (cx.Files.ReadText(usersFile, cx.Src.At(usersNode), Messages.UsersFileUnreadable, "users file", cx.Diagnostics) is not { } usersText)
        {
            return false;
        }

        cx.Users = UserDirectory.Load(usersText, usersFile, cx.Roles.ToHashSet(), cx.Diagnostics);
        return true;
    }

    private static FrozenDictionary<IPAddress, string> Bindings(CompileContext cx, YamlNode? node)
    {
        var bindings = new Dictionary<IPAddress, string>();
        if (node is YamlSequenceNode seq)
        {
            foreach (var item in seq.Children)
            {
                var b = cx.Src.Entries(item, "a binding", ["address", "user"]);
                var addressNode = YamlSource.Get(b, "address");
                var userNode = YamlSource.Get(b, "user");
                var addressText = cx.Src.Scalar(addressNode, "address");
                var user = cx.Src.Scalar(userNode, "user");
                if (addressText is null || user is null)
                {
                    cx.Src.Error(item, Messages.BindingNeedsAddressAndUser);
                    continue;
                }

                if (!IPAddress.TryParse(addressText, out var address))
                {
                    cx.Src.Error(addressNode!, Messages.BadAddress, addressText);
                    continue;
                }

                if (cx.CheckUser(user, userNode!) && !bindings.TryAdd(PolicySnapshot.Canonical(address), user))
                {
                    cx.Src.Error(addressNode!, Messages.AddressBoundTwice, addressText);
                }
            }
        }
        else if (node is not null)
        {
            cx.Src.Error(node, Messages.BindingsNotAList);
        }

        return bindings.ToFrozenDictionary();
    }
}
