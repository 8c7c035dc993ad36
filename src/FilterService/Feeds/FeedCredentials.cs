using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace FilterService.Feeds;

/// <summary>
/// Resolves a list's <c>credentials:</c> name to an Authorization header: from <c>Feeds:CredentialsFile</c> (read at
/// each fetch, so a rotated secret needs no restart), else <c>Feeds:Credentials:NAME</c>. Secrets never reach
/// policy.yaml, the logs or /health.
/// </summary>
internal static class FeedCredentials
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    public static AuthenticationHeaderValue? Resolve(FeedOptions options, string name)
    {
        FeedCredential? credential = null;
        if (options.CredentialsFile is { } file && File.Exists(file))
        {
            try
            {
                var all = JsonSerializer.Deserialize<Dictionary<string, FeedCredential>>(File.ReadAllBytes(file), Json);
                all?.TryGetValue(name, out credential);
            }
            catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
            {
                credential = null; // reported as "not configured"; the file's own problem is not a secret but may quote one
            }
        }
        if (credential is null)
        {
            options.Credentials.TryGetValue(name, out credential);
        }
        return credential switch
        {
            { Token: { Length: > 0 } token } => new AuthenticationHeaderValue("Bearer", token),
            { Username: { } user } => new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{credential.Password}"))),
            _ => null,
        };
    }
}
