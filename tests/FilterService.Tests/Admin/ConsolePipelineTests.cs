using System.Net;
using System.Security.Claims;
using FilterService.Tests.TestSupport;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace FilterService.Tests.Admin;

/// <summary>The console's middleware runs for admin listeners only: a proxy request never meets it.</summary>
public sealed class ConsolePipelineTests
{
    [Fact]
    public async Task Proxy_requests_never_reach_the_console_s_authentication_admin_requests_do()
    {
        var counting = new Counter();
        await using var service = await RunningService.StartWithServicesAsync(RepoPaths.Sample("default"), null, services =>
            services.AddSingleton<IAuthenticationService>(sp => new CountingAuthentication(ActivatorUtilities.CreateInstance<AuthenticationService>(sp), counting)),
            "--Proxy:LeanHttp=false"); // plain HTTP through Kestrel's whole pipeline, as tunnels' inner requests go

        using (var proxied = service.CreateClient())
        {
            for (int i = 0; i < 5; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1:1/console");
                request.Headers.Add("Cookie", "filter-console=CfDJ8-anything");
                using var response = await proxied.SendAsync(request); // whatever the proxy answers, it answered it itself
                Assert.NotEqual(HttpStatusCode.Redirect, response.StatusCode);
            }
        }
        Assert.Equal(0, counting.Calls);

        using var admin = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false });
        var console = await admin.GetAsync($"http://127.0.0.1:{service.AdminPort}/");
        Assert.Equal(HttpStatusCode.Redirect, console.StatusCode);
        Assert.StartsWith("/signin", console.Headers.Location!.PathAndQuery);
        Assert.True(counting.Calls > 0);
        int before = counting.Calls;
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"http://127.0.0.1:{service.AdminPort}/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"http://127.0.0.1:{service.AdminPort}/metrics")).StatusCode);
        Assert.Equal(before, counting.Calls); // /health and /metrics come before sign-in, as they always did
    }

    private sealed class Counter
    {
        private int _calls;
        public int Calls => Volatile.Read(ref _calls);
        public void Add() => Interlocked.Increment(ref _calls);
    }

    private sealed class CountingAuthentication(IAuthenticationService inner, Counter counter) : IAuthenticationService
    {
        public Task<AuthenticateResult> AuthenticateAsync(HttpContext context, string? scheme)
        {
            counter.Add();
            return inner.AuthenticateAsync(context, scheme);
        }

        public Task ChallengeAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => inner.ChallengeAsync(context, scheme, properties);
        public Task ForbidAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => inner.ForbidAsync(context, scheme, properties);
        public Task SignInAsync(HttpContext context, string? scheme, ClaimsPrincipal principal, AuthenticationProperties? properties) => inner.SignInAsync(context, scheme, principal, properties);
        public Task SignOutAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => inner.SignOutAsync(context, scheme, properties);
    }
}
