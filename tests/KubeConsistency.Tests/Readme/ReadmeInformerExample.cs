using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Http;
using KubeConsistency.Informers;
using KubeConsistency.Tests.Client;
using Microsoft.Extensions.Logging;
using V1ObjectMeta = KubeConsistency.Tests.Client.TestObjectMeta;
using V1Pod = KubeConsistency.Tests.Client.TestPod;
using V1PodSpec = KubeConsistency.Tests.Client.TestPodSpec;

namespace KubeConsistency.Tests.Readme;

/// <summary>The README's informer quick start, compiled and run against the embedded API server.</summary>
public static class ReadmeInformerExample
{
    public static async Task<(ISharedIndexInformer<V1Pod> Informer, V1Pod Created)> RunAsync(string kubeconfigPath, ILogger logger, CancellationToken stoppingToken)
    {
        // README-BEGIN informer
        using var connection = KubernetesConnection.FromKubeconfig(kubeconfigPath); // or KubernetesConnection.InCluster()
        var pods = connection.Resource(new ResourceClientOptions<V1Pod> { Resource = GroupVersionResource.Pods, Kind = "Pod" });
        var informer = SharedIndexInformer.Create(pods, new SharedIndexInformerOptions<V1Pod> { Name = "my-operator" });
        informer.AddEventHandler(new ResourceEventHandler<V1Pod>
        {
            OnAdd = (pod, isInInitialList) => logger.LogInformation("added {Pod}", pod.Metadata?.Name),
            OnDelete = deleted => logger.LogInformation("deleted {Pod}", DeletedFinalStateUnknown.Unwrap<V1Pod>(deleted)?.Metadata?.Name),
        });
        _ = informer.RunAsync(stoppingToken);              // list (or watch-list), then watch with bookmarks; relists on 410
        await informer.WaitForSyncAsync(stoppingToken);

        var created = await pods.CreateAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { GenerateName = "web-", Namespace = "default" },
            Spec = new V1PodSpec { Containers = [new() { Name = "web", Image = "nginx:1.27" }] },
        }, stoppingToken);
        await informer.WaitForStoreResourceVersionAsync(created.Metadata!.ResourceVersion!, stoppingToken); // read your own write
        var cached = informer.Indexer.ByIndex(Indexes.Namespace, "default");
        // README-END informer
        _ = cached;
        return (informer, created);
    }
}
