using k8s;
using k8s.Models;
using KubeConsistency.Hosting;
using KubeConsistency.Informers;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Samples.Controllers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Tests.Readme;

/// <summary>The README's generic-host registration, compiled and run against the embedded server.</summary>
public static class ReadmeHostingExample
{
    public static IHost Build(string kubeconfigPath)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging();

        // README-BEGIN hosting
        builder.Services.AddKubeConsistency(o => o.Kubeconfig = kubeconfigPath) // or the "KubeConsistency" config section
            .AddInformer<V1Pod>(new KubernetesResourceOptions { Namespace = "default" })
            .AddInformer<V1ReplicaSet>(new KubernetesResourceOptions { Namespace = "default" })
            .AddController("replicaset", sp => new ReplicaSetController(new SampleControllerOptions<V1ReplicaSet>
            {
                Kubernetes = sp.GetRequiredService<IKubernetes>(), // has the ConsistencyRecordingHandler
                Pods = sp.GetRequiredService<IKubernetes>().Resource<V1Pod>(new KubernetesResourceOptions { Namespace = "default" }),
                PodInformer = sp.GetRequiredService<ISharedIndexInformer<V1Pod>>(),
                OwnerInformer = sp.GetRequiredService<ISharedIndexInformer<V1ReplicaSet>>(),
                TimeProvider = sp.GetRequiredService<TimeProvider>(),
                LoggerFactory = sp.GetService<ILoggerFactory>(),
            }), (controller, stoppingToken) => controller.RunAsync(stoppingToken));
        // Health: MapHealthChecks("/readyz", tag "ready") and ("/livez", tag "live") in an ASP.NET Core host.
        // README-END hosting
        return builder.Build();
    }
}
