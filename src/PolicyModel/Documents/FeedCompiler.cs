using System.Globalization;
using System.Security.Cryptography;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using PolicyModel.Matching;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>
/// Reads the feed keys of one list (<c>source</c>, <c>refresh</c>, <c>verify</c>, <c>key</c>, <c>credentials</c>,
/// <c>hash</c>) into a <see cref="FeedSpec"/>, reporting every problem: PM0206 a bad or inconsistent feed key (a secret
/// written into policy.yaml among them), PM0207 a verification key that cannot be used.
/// </summary>
internal static class FeedCompiler
{
    /// <summary>The keys a list may carry besides path, format and exact.</summary>
    public static readonly string[] Keys = ["source", "refresh", "verify", "key", "credentials", "hash"];

    public static FeedSpec? Read(
        YamlSource src,
        string directory,
        IReadOnlyList<(YamlScalarNode Key, YamlNode Value)> entries,
        YamlNode item,
        string category,
        string path,
        bool statutory,
        ListFormat format,
        bool exact)
    {
        var sourceNode = YamlSource.Get(entries, "source");
        if (sourceNode is null)
        {
            foreach (var key in Keys.Skip(1))
            {
                if (YamlSource.Get(entries, key) is { } orphan)
                {
                    src.Error(orphan, Messages.FeedKeyWithoutSource, key, path);
                }
            }
            return null;
        }

        int errors = src.Diagnostics.Items.Count(d => d.Severity == DiagnosticSeverity.Error);
        var source = src.Scalar(sourceNode, "source");
        if (source is null)
        {
            return null;
        }
        source = source.Trim();
        if (Uri.TryCreate(source, UriKind.Absolute, out var uri) && uri.Scheme != Uri.UriSchemeFile)
        {
            if (uri.Scheme != Uri.UriSchemeHttps)
            {
                src.Error(sourceNode, Messages.FeedSourceNotHttps, Shown(uri));
            }
            else if (uri.UserInfo.Length > 0)
            {
                src.Error(sourceNode, Messages.FeedSourceCarriesSecret);
            }
        }
        else if (uri is { Scheme: "file" })
        {
            source = uri.LocalPath;
        }
        else if (source.Length == 0 || source.Contains('\0'))
        {
            src.Error(sourceNode, Messages.FeedSourceNotUrlOrPath);
        }
        else
        {
            source = Path.GetFullPath(source, directory);
            if (!path.Contains('\0') && string.Equals(source, Path.GetFullPath(Path.Combine(directory, path)), StringComparison.Ordinal))
            {
                src.Error(sourceNode, Messages.FeedSourceIsTheList, path);
            }
        }

        var refresh = FeedSpec.DefaultRefresh;
        if (YamlSource.Get(entries, "refresh") is { } refreshNode && src.Scalar(refreshNode, "refresh") is { } refreshText)
        {
            if (ParseInterval(refreshText) is not { } parsed)
            {
                src.Error(refreshNode, Messages.FeedBadRefresh, refreshText);
            }
            else if (parsed < FeedSpec.MinRefresh || parsed > FeedSpec.MaxRefresh)
            {
                src.Error(refreshNode, Messages.FeedRefreshOutOfRange, refreshText);
            }
            else
            {
                refresh = parsed;
            }
        }

        var verify = FeedVerify.None;
        if (YamlSource.Get(entries, "verify") is { } verifyNode && src.Scalar(verifyNode, "verify") is { } verifyText)
        {
            switch (verifyText.ToLowerInvariant())
            {
                case "none": break;
                case "sha256": verify = FeedVerify.Sha256; break;
                case "signature": verify = FeedVerify.Signature; break;
                default:
                    src.Error(verifyNode, Messages.FeedBadVerify, verifyText, Suggestions.DidYouMean(verifyText, ["none", "sha256", "signature"]));
                    break;
            }
        }

        string? keyPath = null;
        string? keyPem = null;
        var keyNode = YamlSource.Get(entries, "key");
        if (keyNode is not null)
        {
            keyPath = src.Scalar(keyNode, "key");
            if (verify != FeedVerify.Signature)
            {
                src.Error(keyNode, Messages.FeedKeyWithoutSignature);
            }
            else if (keyPath is not null)
            {
                keyPem = ReadKey(src, keyNode, directory, keyPath);
            }
        }
        else if (verify == FeedVerify.Signature)
        {
            src.Error(YamlSource.Get(entries, "verify")!, Messages.FeedSignatureNeedsKey);
        }

        string? credentials = null;
        if (YamlSource.Get(entries, "credentials") is { } credentialsNode)
        {
            credentials = credentialsNode is YamlScalarNode ? src.Scalar(credentialsNode, "credentials") : null;
            if (credentials is null || credentials.Length is 0 or > 64 || !credentials.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                src.Error(credentialsNode, Messages.FeedCredentialsNotAName);
                credentials = null;
            }
            else if (uri?.Scheme != Uri.UriSchemeHttps)
            {
                src.Error(credentialsNode, Messages.FeedCredentialsNeedHttps);
            }
        }

        bool hash = src.Bool(YamlSource.Get(entries, "hash"), "hash") ?? false;
        if (hash && format is ListFormat.Hashed or ListFormat.Ut1)
        {
            src.Error(YamlSource.Get(entries, "hash")!, Messages.FeedHashWrongFormat, format.ToString().ToLowerInvariant());
        }
        if (hash && exact)
        {
            src.Error(YamlSource.Get(entries, "hash")!, Messages.FeedHashKeepsExact);
        }
        if (format == ListFormat.Auto && !hash)
        {
            // The download is written as it came: the loader sniffs it. A hashed feed must name what it parses.
        }
        else if (format == ListFormat.Auto)
        {
            src.Error(YamlSource.Get(entries, "hash")!, Messages.FeedHashNeedsFormat);
        }

        if (src.Diagnostics.Items.Count(d => d.Severity == DiagnosticSeverity.Error) > errors)
        {
            return null;
        }
        var at = src.At(item);
        return new FeedSpec(category, path, statutory, source, format, exact, refresh, verify, keyPath, keyPem, credentials, hash, at);
    }

    /// <summary><c>90s</c>, <c>30m</c>, <c>12h</c>, <c>1d</c>; null when it is none of these.</summary>
    internal static TimeSpan? ParseInterval(string text)
    {
        text = text.Trim();
        if (text.Length < 2 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 1_000_000)
        {
            return null;
        }
        return char.ToLowerInvariant(text[^1]) switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => null,
        };
    }

    private static string? ReadKey(YamlSource src, YamlNode node, string directory, string keyPath)
    {
        if (keyPath.Length == 0 || keyPath.Contains('\0') || PolicyFiles.Inspect(Path.GetFullPath(keyPath, directory), 64 * 1024) != PolicyFiles.Check.Ok)
        {
            src.Error(node, Messages.FeedKeyUnreadable, keyPath);
            return null;
        }
        try
        {
            var pem = File.ReadAllText(Path.GetFullPath(keyPath, directory));
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportFromPem(pem);
            if (ecdsa.KeySize != 256)
            {
                src.Error(node, Messages.FeedKeyNotP256, keyPath, ecdsa.KeySize);
                return null;
            }
            // Only the public half is kept: a private key in the policy directory would be a mistake worth saying.
            return ecdsa.ExportSubjectPublicKeyInfoPem();
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException or IOException or UnauthorizedAccessException)
        {
            src.Error(node, Messages.FeedKeyNotEcdsa, keyPath, e.Message);
            return null;
        }
    }

    private static string Shown(Uri uri) => uri.GetLeftPart(UriPartial.Path);
}
