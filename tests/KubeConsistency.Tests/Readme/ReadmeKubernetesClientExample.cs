using k8s;
using k8s.Models;
using KubeConsistency.Cache;
using KubeConsistency.Consistency;
using KubeConsistency.KubernetesClient;

namespace KubeConsistency.Tests.Readme;

/// <summary>The README's first example (KubernetesClient), compiled and run against the embedded API server.</summary>
public static class ReadmeKubernetesClientExample
{
    public static async Task RunAsync(string kubeconfigPath, CancellationToken stoppingToken)
    {
        // README-BEGIN kubernetesclient
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfigPath); // or BuildDefaultConfig()
        using var kubernetes = new Kubernetes(config, new ConsistencyRecordingHandler()); // records writes made in a WriteScope
        var pods = kubernetes.CreateInformer<V1Pod>(new KubernetesResourceOptions { Namespace = "default" });
        _ = pods.RunAsync(stoppingToken);                     // watch-list (or list), then watch with bookmarks; 410 → relist
        await pods.WaitForSyncAsync(stoppingToken);
        var consistency = ConsistencyStore.Create([new(GroupResource.Pods, pods.Indexer)]);

        // One reconcile of an owner: make sure it has a worker pod. Runs on every event, never on a cache older than its writes.
        async Task<bool> ReconcileAsync(NamespacedName owner, string ownerUid, CancellationToken ct)
        {
            if (consistency.EnsureReady(owner) is not null)
            {
                return false; // the pod cache has not yet seen this owner's last write: requeue, read and write nothing
            }

            using var writes = WriteScope.Begin(consistency, owner, ownerUid); // every write below records WroteAt(owner, …)
            if (!pods.Indexer.ByIndex(Indexes.Namespace, owner.Namespace).Any(p => p.Metadata.Labels?.TryGetValue("owner", out var o) == true && o == owner.Name))
            {
                await kubernetes.CoreV1.CreateNamespacedPodAsync(new V1Pod
                {
                    Metadata = new V1ObjectMeta { GenerateName = owner.Name + "-", Labels = new Dictionary<string, string> { ["owner"] = owner.Name } },
                    Spec = new V1PodSpec { Containers = [new V1Container { Name = "app", Image = "nginx:1.27" }] },
                }, owner.Namespace, cancellationToken: ct);
            }

            return true;
        }

        // Reconcile only while this replica holds the Lease (KubernetesClient's LeaderElector); losing it cancels `leading`.
        await LeaderElection.RunAsync(kubernetes, new LeaderElectionOptions { LeaseNamespace = "default", LeaseName = "my-operator" }, async leading =>
        {
            for (var i = 0; i < 10 && !leading.IsCancellationRequested; i++)
            {
                await ReconcileAsync(new NamespacedName("default", "web"), "uid-of-web", leading); // one pod, however stale the cache
            }
        }, stoppingToken);
        // README-END kubernetesclient
    }
}
