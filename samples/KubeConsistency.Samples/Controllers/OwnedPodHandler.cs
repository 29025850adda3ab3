using k8s;
using k8s.Models;
using KubeConsistency.Cache;
using KubeConsistency.Controllers;
using KubeConsistency.Samples.Models;

namespace KubeConsistency.Samples.Controllers;

/// <summary>
/// Pod events of the DaemonSet- and StatefulSet-style controllers (Go: their <c>addPod</c>/<c>updatePod</c>/<c>deletePod</c>
/// without adoption): a pod's controller owner of the given kind — resolved by name <em>and</em> UID in the owner cache
/// (Go: <c>resolveControllerRef</c>) — is enqueued on every change of the pod, old and new owner alike.
/// </summary>
internal static class OwnedPodHandler
{
    public static ResourceEventHandler<V1Pod> Create<TOwner>(string kind, IIndexer<TOwner> owners, IWorkQueue<string> queue)
        where TOwner : class, IKubernetesObject<V1ObjectMeta>
    {
        void Enqueue(V1Pod? pod)
        {
            if (pod?.GetController() is not { } controllerRef || controllerRef.Kind != kind || controllerRef.Name is null)
            {
                return;
            }

            var key = ObjectKeys.MetaNamespaceKey(pod.Metadata?.NamespaceProperty, controllerRef.Name);
            if (owners.TryGetByKey(key, out var owner) && owner.Metadata?.Uid == controllerRef.Uid)
            {
                queue.Add(key);
            }
        }

        return new ResourceEventHandler<V1Pod>
        {
            OnAdd = (pod, _) => Enqueue(pod),
            OnUpdate = (oldPod, pod) =>
            {
                if (oldPod.Metadata?.ResourceVersion == pod.Metadata?.ResourceVersion)
                {
                    return; // A resync: nothing changed.
                }

                Enqueue(pod);
                if (oldPod.GetController()?.Uid != pod.GetController()?.Uid)
                {
                    Enqueue(oldPod);
                }
            },
            OnDelete = deleted => Enqueue(DeletedFinalStateUnknown.Unwrap<V1Pod>(deleted)),
        };
    }
}
