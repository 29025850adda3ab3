using KubeConsistency.Cache;
using KubeConsistency.Consistency;
using Microsoft.Extensions.Logging;
using V1Pod = KubeConsistency.Tests.TestPod;

namespace KubeConsistency.Tests.Readme;

/// <summary>The README's usage example, compiled and run; <see cref="ReadmeTests"/> keeps the two identical.</summary>
public static class ReadmeExample
{
    public static async Task<ConsistencyError?> RunAsync(IReadOnlyList<V1Pod> listedPods, string listResourceVersion, V1Pod created, ILogger logger)
    {
        var owner = new NamespacedName("default", "web");
        var ownerUid = "uid-of-web";
        // README-BEGIN cache
        // An indexed pod cache that knows the resource version (RV) it has applied.
        var pods = Store.Create(new StoreOptions<V1Pod>
        {
            Indexers = new Dictionary<string, IndexFunc<V1Pod>> { [Indexes.Namespace] = Indexes.ByNamespace<V1Pod>() },
        });

        // The informer queue: a relist enters as ONE atomic ReplacedAll delta; bookmarks flow through it.
        var fifo = RealFifo.Create(new RealFifoOptions<V1Pod> { EmitDeltaTypeBookmark = true });
        fifo.Replace(listedPods, listResourceVersion);
        fifo.Bookmark("1200");
        var handler = new ResourceEventHandler<V1Pod> { OnAdd = (pod, initial) => logger.LogInformation("add {Pod}", pod) };
        while (fifo.Count > 0)
        {
            await fifo.PopAsync((delta, initial) => DeltaProcessor.Process(pods, handler, delta, initial));
        }

        // The controller's guard: never act on a cache older than your own writes.
        var consistency = ConsistencyStore.Create([new(GroupResource.Pods, pods)]);
        consistency.WroteAt(owner, ownerUid, GroupResource.Pods, created.Metadata!.ResourceVersion!);
        if (consistency.EnsureReady(owner) is { } stale)
        {
            logger.LogInformation("skip sync: {Reason}", stale.Message); // requeue rate-limited; do no reads or writes
        }

        // README-END cache
        return consistency.EnsureReady(owner);
    }
}
