using k8s.Models;
using KubeConsistency.Cache;
using KubeConsistency.Informers;
using KubeConsistency.Samples.Models;

namespace KubeConsistency.Samples.Controllers;

/// <summary>
/// The pod index kube-controller-manager's ReplicaSet and Job controllers look their pods up with (Go:
/// <c>controller.AddPodControllerUIDIndexer</c>, <c>FilterPodsByOwner</c>): pods by their controller's UID, orphans under
/// <see cref="OrphanKey"/>. A sync then reads its own pods instead of every pod in the namespace.
/// </summary>
public static class PodIndexes
{
    /// <summary>The index name (Go: <c>PodControllerUIDIndex</c>).</summary>
    public const string ControllerUid = "podControllerUID";

    /// <summary>The index value of pods without a controller (Go: <c>OrphanPodIndexKey</c>).</summary>
    public const string OrphanKey = "_ORPHAN_POD";

    /// <summary>The index function.</summary>
    public static IReadOnlyList<string> IndexByControllerUid(V1Pod pod) => [pod.GetController()?.Uid is { Length: > 0 } uid ? uid : OrphanKey];

    /// <summary>Adds the index to the informer's store unless it is there already (call before the informer starts).</summary>
    public static void EnsureControllerUidIndex(ISharedIndexInformer<V1Pod> informer)
    {
        ArgumentNullException.ThrowIfNull(informer);
        if (informer.Indexer.Indexers.ContainsKey(ControllerUid))
        {
            return;
        }

        try
        {
            informer.Indexer.AddIndexers(new Dictionary<string, IndexFunc<V1Pod>> { [ControllerUid] = IndexByControllerUid });
        }
        catch (ArgumentException) when (informer.Indexer.Indexers.ContainsKey(ControllerUid))
        {
            // Another controller added it meanwhile.
        }
    }

    /// <summary>Go: <c>FilterPodsByOwner</c>: the pods controlled by <paramref name="ownerUid"/>, plus the namespace's orphans when asked.</summary>
    public static List<V1Pod> PodsByOwner(IIndexer<V1Pod> pods, string @namespace, string ownerUid, bool includeOrphans)
    {
        ArgumentNullException.ThrowIfNull(pods);
        var result = new List<V1Pod>(pods.ByIndex(ControllerUid, ownerUid));
        if (includeOrphans)
        {
            result.AddRange(pods.ByIndex(ControllerUid, OrphanKey).Where(p => p.Metadata?.NamespaceProperty == @namespace));
        }

        return result;
    }
}
