using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;

namespace FilterService.Admin;

/// <summary>
/// Demands a <see cref="ConsolePolicies"/> policy for every request to the page that is not a GET or HEAD (every form
/// POST handler), on the server: a viewer without it gets 403 and the handler never runs, whatever the page showed.
/// Put it on the PageModel: <c>[PostRequires(ConsolePolicies.EditPolicy)]</c>. Reading the page needs only what its
/// folder needs (<see cref="ConsolePolicies.Read"/> everywhere).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = true)]
internal sealed class PostRequiresAttribute(string policy) : Attribute, IAsyncPageFilter
{
    public string Policy { get; } = policy;

    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var http = context.HttpContext;
        if (!HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method))
        {
            var authorization = http.RequestServices.GetRequiredService<IAuthorizationService>();
            if (!(await authorization.AuthorizeAsync(http.User, Policy)).Succeeded)
            {
                context.Result = new ForbidResult();
                return;
            }
        }
        await next();
    }
}
