using System.Net;
using KubeConsistency.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace KubeConsistency.Samples.Demo;

/// <summary>
/// Serves <c>GET /metrics</c> on 127.0.0.1 with OpenTelemetry's Prometheus exporter, configured so that the series are
/// exactly kube-controller-manager's: no <c>otel_scope_*</c> labels, no <c>target_info</c>, and the classic text format
/// 0.0.4 that Kubernetes components serve.
/// </summary>
public sealed class MetricsEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MetricsEndpoint(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The root URL, e.g. <c>http://127.0.0.1:9090/</c>.</summary>
    public Uri Address { get; }

    /// <summary>The metrics URL.</summary>
    public Uri MetricsUri => new(Address, "metrics");

    /// <summary>Starts serving every instrument of the <see cref="KubeConsistencyMeter.Name"/> meter; port 0 picks a free port.</summary>
    /// <param name="port">The port on 127.0.0.1.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<MetricsEndpoint> StartAsync(int port, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, port));
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddKubeConsistencyPrometheus());
        var app = builder.Build();
        app.MapKubeConsistencyMetrics();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel reported no address.");
        return new MetricsEndpoint(app, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The one registration that exports KubeConsistency's instruments as Kubernetes does.</summary>
public static class PrometheusMetricsRegistration
{
    /// <summary>
    /// Listens to the <see cref="KubeConsistencyMeter.Name"/> meter and adds the Prometheus exporter without the
    /// OpenTelemetry-only scope labels and <c>target_info</c> family (so each series carries upstream's labels only).
    /// </summary>
    /// <param name="metrics">The OpenTelemetry metrics builder.</param>
    public static MeterProviderBuilder AddKubeConsistencyPrometheus(this MeterProviderBuilder metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return metrics.AddMeter(KubeConsistencyMeter.Name).AddPrometheusExporter(o =>
        {
            o.ScopeInfoEnabled = false;
            o.TargetInfoEnabled = false;

            // Every scrape reads the instruments afresh (the default caches the body for 300 ms).
            o.ScrapeResponseCacheDurationMilliseconds = 0;
        });
    }

    /// <summary>
    /// Maps <c>GET /metrics</c>. The response is always text format 0.0.4, what component-base serves: a Prometheus
    /// server that asks for OpenMetrics would otherwise get <c>_created</c> series and family names without <c>_total</c>.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <param name="path">The path (default <c>/metrics</c>).</param>
    public static WebApplication MapKubeConsistencyMetrics(this WebApplication app, string path = "/metrics")
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPrometheusScrapingEndpoint(path, meterProvider: null, optionsName: null, configureBranchedPipeline: pipeline =>
            pipeline.Use((context, next) =>
            {
                context.Request.Headers.Accept = "text/plain; version=0.0.4";
                return next(context);
            }));
        return app;
    }
}
