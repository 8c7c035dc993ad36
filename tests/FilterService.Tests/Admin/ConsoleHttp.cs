using System.Net;
using System.Text.RegularExpressions;

namespace FilterService.Tests.Admin;

/// <summary>
/// A raw HTTP client of the console (no browser): its own cookie jar, no redirects followed, no proxy; reads the
/// antiforgery token from a page's form so a test can post with it, or deliberately without it.
/// </summary>
internal sealed partial class ConsoleHttp : IDisposable
{
    private readonly HttpClient _client;

    public ConsoleHttp(string baseUrl, Func<HttpRequestMessage, System.Security.Cryptography.X509Certificates.X509Certificate2?, System.Security.Cryptography.X509Certificates.X509Chain?, System.Net.Security.SslPolicyErrors, bool>? validate = null)
    {
        var handler = new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false, UseProxy = false };
        if (validate is not null)
        {
            handler.ServerCertificateCustomValidationCallback = validate;
        }
        _client = new HttpClient(handler) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(60) };
    }

    public CookieContainer Cookies { get; } = new();

    public HttpClient Client => _client;

    /// <summary>The antiforgery token of the first form on <paramref name="path"/> (also sets the antiforgery cookie).</summary>
    public async Task<string> TokenAsync(string path)
    {
        var html = await _client.GetStringAsync(path);
        var m = TokenField().Match(html);
        Assert.True(m.Success, $"no antiforgery token on {path}:\n{html}");
        return WebUtility.HtmlDecode(m.Groups[1].Value);
    }

    /// <summary>Posts the sign-in form (with its token); 302 to / on success, 401 on any failure.</summary>
    public async Task<HttpResponseMessage> SignInAsync(string user, string password)
    {
        var token = await TokenAsync("/signin");
        return await PostAsync("/signin", new() { ["user"] = user, ["password"] = password }, token);
    }

    /// <summary>Posts a form to <paramref name="path"/>, with <paramref name="token"/> as <c>__RequestVerificationToken</c> when given.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, Dictionary<string, string> fields, string? token)
    {
        if (token is not null)
        {
            fields["__RequestVerificationToken"] = token;
        }
        return _client.PostAsync(path, new FormUrlEncodedContent(fields));
    }

    public void Dispose() => _client.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
