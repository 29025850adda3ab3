using System.Diagnostics.Metrics;
using k8s;
using KubeConsistency.Informers;
using KubeConsistency.KubernetesClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KubeConsistency.Hosting;

/// <summary>Registers a KubeConsistency operator in a service collection.</summary>
public static class KubeConsistencyServiceCollectionExtensions
{
    /// <summary>The health-check tag of the readiness check (caches synced, leader state reported).</summary>
    public const string ReadyTag = "ready";

    /// <summary>The health-check tag of the liveness check (every watch made progress within the bound).</summary>
    public const string LiveTag = "live";

    /// <summary>
    /// Registers the operator: <see cref="KubeConsistencyOptions"/> (bound from the <c>KubeConsistency</c> section, validated
    /// at start), an <see cref="IKubernetes"/> with the <see cref="ConsistencyRecordingHandler"/> unless one is registered
    /// already, the <see cref="SharedInformerFactory"/> (clock, loggers and meters from the container), the hosted services that
    /// run informers and then controllers, <see cref="ILeadership"/>, and the readiness and liveness health checks.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Adjusts the options after binding.</param>
    /// <returns>A builder to add informers and controllers.</returns>
    public static IKubeConsistencyBuilder AddKubeConsistency(this IServiceCollection services, Action<KubeConsistencyOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<KubeConsistencyOptions>().BindConfiguration(KubeConsistencyOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubeConsistencyOptions>, KubeConsistencyOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IKubernetes>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<KubeConsistencyOptions>>().Value;
            var configuration = o.Kubeconfig is { Length: > 0 } path
                ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path, o.Context)
                : KubernetesClientConfiguration.BuildDefaultConfig();
            return new k8s.Kubernetes(configuration, new ConsistencyRecordingHandler(sp.GetService<ILoggerFactory>()));
        });
        services.TryAddSingleton(sp => new SharedInformerFactory(new SharedInformerFactoryOptions
        {
            TimeProvider = sp.GetRequiredService<TimeProvider>(),
            LoggerFactory = sp.GetService<ILoggerFactory>(),
            MeterFactory = sp.GetService<IMeterFactory>(),
        }));
        services.TryAddSingleton(sp =>
        {
            var identity = sp.GetRequiredService<IOptions<KubeConsistencyOptions>>().Value.LeaderElection?.Identity;
            return new Leadership(string.IsNullOrWhiteSpace(identity) ? Environment.MachineName + "_" + Guid.NewGuid().ToString("N")[..8] : identity);
        });
        services.TryAddSingleton<ILeadership>(sp => sp.GetRequiredService<Leadership>());
        services.TryAddSingleton<InformerHandles>();

        // Informers first, controllers second: the host starts them in this order and stops them in reverse.
        services.AddHostedService<InformersHostedService>();
        services.AddHostedService<ControllersHostedService>();
        // The liveness check remembers when each watch last progressed: one instance for the process (AddCheck<T> would
        // otherwise create a fresh one per probe).
        services.TryAddSingleton<WatchProgressHealthCheck>();
        services.TryAddSingleton<CachesSyncedHealthCheck>();
        services.AddHealthChecks()
            .AddCheck<CachesSyncedHealthCheck>("kubeconsistency-caches", HealthStatus.Unhealthy, [ReadyTag])
            .AddCheck<WatchProgressHealthCheck>("kubeconsistency-watches", HealthStatus.Unhealthy, [LiveTag]);
        return new KubeConsistencyBuilder(services);
    }
}
