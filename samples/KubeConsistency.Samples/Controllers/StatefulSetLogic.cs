using System.Globalization;
using k8s.Models;
using KubeConsistency.Samples.Models;

namespace KubeConsistency.Samples.Controllers;

/// <summary>What one StatefulSet sync does next.</summary>
public enum StatefulSetAction
{
    /// <summary>Every ordinal is there and ready, and nothing is condemned.</summary>
    None,

    /// <summary>Create the pod of <see cref="StatefulSetStep.Ordinal"/>.</summary>
    Create,

    /// <summary>Delete <see cref="StatefulSetStep.Pod"/> (the highest condemned ordinal).</summary>
    Delete,

    /// <summary>Wait for a pod to become ready (or to go away) before touching the next ordinal.</summary>
    Wait,
}

/// <summary>One step of the OrderedReady policy.</summary>
/// <param name="Action">What to do.</param>
/// <param name="Ordinal">The ordinal acted on or waited for; -1 for <see cref="StatefulSetAction.None"/>.</param>
/// <param name="Pod">The pod to delete or waited for, if any.</param>
public sealed record StatefulSetStep(StatefulSetAction Action, int Ordinal, V1Pod? Pod = null);

/// <summary>The StatefulSet controller's decisions as pure functions (Go: <c>pkg/controller/statefulset</c>, v1.36).</summary>
public static class StatefulSetLogic
{
    /// <summary>The label with the pod's name (Go: <c>StatefulSetPodNameLabel</c>).</summary>
    public const string PodNameLabel = "statefulset.kubernetes.io/pod-name";

    /// <summary>The label with the pod's ordinal (Go: <c>PodIndexLabel</c>, v1.28+).</summary>
    public const string PodIndexLabel = "apps.kubernetes.io/pod-index";

    /// <summary>Go: <c>getPodName</c>: <c>&lt;set&gt;-&lt;ordinal&gt;</c>.</summary>
    public static string PodName(string setName, int ordinal) => string.Create(CultureInfo.InvariantCulture, $"{setName}-{ordinal}");

    /// <summary>Go: <c>getOrdinal</c>: the ordinal of a pod named <c>&lt;set&gt;-&lt;n&gt;</c>, or -1.</summary>
    public static int Ordinal(string setName, string? podName) =>
        podName is not null && podName.Length > setName.Length + 1 && podName.StartsWith(setName + "-", StringComparison.Ordinal)
        && int.TryParse(podName.AsSpan(setName.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1;

    /// <summary>
    /// Go: <c>updateStatefulSet</c> with <c>OrderedReady</c>, one step at a time: ordinals 0 … replicas-1 in order — a missing
    /// one is created, one not Running and Ready is waited for; then, once all of them are ready, the highest ordinal at or
    /// above <c>spec.replicas</c> is deleted (scale-down in reverse order).
    /// </summary>
    public static StatefulSetStep NextStep(V1StatefulSet set, IReadOnlyList<V1Pod> pods)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(pods);
        var name = set.Metadata.Name;
        var replicas = set.Spec?.Replicas ?? 1;
        var byOrdinal = new Dictionary<int, V1Pod>();
        foreach (var pod in pods)
        {
            var ordinal = Ordinal(name, pod.Metadata?.Name);
            if (ordinal >= 0)
            {
                byOrdinal[ordinal] = pod;
            }
        }

        for (var i = 0; i < replicas; i++)
        {
            if (!byOrdinal.TryGetValue(i, out var pod))
            {
                return new StatefulSetStep(StatefulSetAction.Create, i);
            }

            if (pod.IsDeleting() || pod.IsFinished() || !pod.IsReady())
            {
                return new StatefulSetStep(StatefulSetAction.Wait, i, pod);
            }
        }

        if (byOrdinal.Keys.Where(o => o >= replicas).DefaultIfEmpty(-1).Max() is var highest and >= 0)
        {
            var condemned = byOrdinal[highest];
            return condemned.IsDeleting() ? new StatefulSetStep(StatefulSetAction.Wait, highest, condemned) : new StatefulSetStep(StatefulSetAction.Delete, highest, condemned);
        }

        return new StatefulSetStep(StatefulSetAction.None, -1);
    }

    /// <summary>Go: <c>computeReplicaStatus</c>, from the current status (fields not computed here are kept).</summary>
    public static V1StatefulSetStatus CalculateStatus(V1StatefulSet set, IReadOnlyList<V1Pod> pods)
    {
        ArgumentNullException.ThrowIfNull(set);
        var mine = pods.Where(p => Ordinal(set.Metadata.Name, p.Metadata?.Name) >= 0 && !p.IsDeleting()).ToList();
        var status = set.Status is null ? new V1StatefulSetStatus() : set.Status with { };
        status.Replicas = mine.Count;
        status.ReadyReplicas = mine.Count(p => p.IsReady());
        status.AvailableReplicas = status.ReadyReplicas;
        status.CurrentReplicas = mine.Count;
        status.UpdatedReplicas = mine.Count;
        status.ObservedGeneration = set.Metadata?.Generation;
        return status;
    }

    /// <summary>Whether a write would change nothing.</summary>
    public static bool StatusUnchanged(V1StatefulSetStatus? current, V1StatefulSetStatus next) =>
        current is not null
        && current.Replicas == next.Replicas
        && current.ReadyReplicas == next.ReadyReplicas
        && current.AvailableReplicas == next.AvailableReplicas
        && current.CurrentReplicas == next.CurrentReplicas
        && current.UpdatedReplicas == next.UpdatedReplicas
        && current.ObservedGeneration == next.ObservedGeneration;

    /// <summary>Go: <c>newVersionedStatefulSetPod</c>: the ordinal's pod from the template, with its identity labels and hostname.</summary>
    public static V1Pod NewPod(V1StatefulSet set, int ordinal, V1OwnerReference controllerRef)
    {
        ArgumentNullException.ThrowIfNull(set);
        var name = PodName(set.Metadata.Name, ordinal);
        var template = set.Spec?.Template;
        var labels = template?.Metadata?.Labels is { } l ? new Dictionary<string, string>(l, StringComparer.Ordinal) : new Dictionary<string, string>(StringComparer.Ordinal);
        labels[PodNameLabel] = name;
        labels[PodIndexLabel] = ordinal.ToString(CultureInfo.InvariantCulture);
        var spec = template?.Spec is { } s ? s with { } : new V1PodSpec();
        spec.Hostname = name;
        spec.Subdomain = string.IsNullOrEmpty(set.Spec?.ServiceName) ? spec.Subdomain : set.Spec.ServiceName;
        return new V1Pod
        {
            ApiVersion = V1Pod.KubeApiVersion,
            Kind = V1Pod.KubeKind,
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = set.Metadata.NamespaceProperty,
                Labels = labels,
                Annotations = template?.Metadata?.Annotations is { } annotations ? new Dictionary<string, string>(annotations, StringComparer.Ordinal) : null,
                OwnerReferences = [controllerRef],
            },
            Spec = spec,
        };
    }
}
