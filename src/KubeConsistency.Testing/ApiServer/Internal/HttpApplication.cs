using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>Bare Kestrel application (no hosting, no DI, no middleware): every request goes to <see cref="RequestHandler"/>.</summary>
internal sealed class HttpApplication : IHttpApplication<HttpContext>
{
    private readonly RequestHandler _handler;

    public HttpApplication(RequestHandler handler) => _handler = handler;

    public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

    public Task ProcessRequestAsync(HttpContext context) => _handler.HandleAsync(context);

    public void DisposeContext(HttpContext context, Exception? exception)
    {
    }
}
