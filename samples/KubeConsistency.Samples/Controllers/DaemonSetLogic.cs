using System.Globalization;
using k8s.Models;
using KubeConsistency.Samples.Models;

namespace KubeConsistency.Samples.Controllers;

/// <summary>What one DaemonSet sync does: the nodes that need a daemon pod and the pods to delete.</summary>
/// <param name="NodesNeedingPods">Eligible nodes without an active daemon pod, in name order.</param>
/// <param name="PodsToDelete">Surplus pods (every pod but the oldest on a node) and pods on nodes that are gone or no longer eligible.</param>
public sealed record DaemonSetPlan(IReadOnlyList<string> NodesNeedingPods, IReadOnlyList<V1Pod> PodsToDelete);

/// <summary>The DaemonSet controller's decisions as pure functions (Go: <c>pkg/controller/daemon</c>, v1.36).</summary>
public static class DaemonSetLogic
{
    /// <summary>The node-affinity field a daemon pod is pinned with (Go: <c>metav1.ObjectNameField</c>).</summary>
    public const string NodeNameField = "metadata.name";

    /// <summary>
    /// The node a daemon pod is for: its node affinity's <c>metadata.name In [node]</c> term (Go:
    /// <c>util.ReplaceDaemonSetPodNodeNameNodeAffinity</c>, the scheduler binds it), or its <c>spec.nodeName</c>.
    /// </summary>
    public static string? TargetNode(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var terms = pod.Spec?.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms;
        foreach (var term in terms ?? [])
        {
            foreach (var field in term.MatchFields ?? [])
            {
                if (field.Key == NodeNameField && field.OperatorProperty == "In" && field.Values is [var node])
                {
                    return node;
                }
            }
        }

        return string.IsNullOrEmpty(pod.Spec?.NodeName) ? null : pod.Spec.NodeName;
    }

    /// <summary>Go: <c>NodeShouldRunDaemonPod</c>, simplified to the template's <c>nodeSelector</c> (no taints, no affinity terms).</summary>
    public static bool ShouldRun(V1DaemonSet ds, V1Node node)
    {
        ArgumentNullException.ThrowIfNull(ds);
        ArgumentNullException.ThrowIfNull(node);
        if (node.Metadata?.DeletionTimestamp is not null)
        {
            return false;
        }

        var selector = ds.Spec?.Template?.Spec?.NodeSelector;
        var labels = node.Metadata?.Labels;
        return selector is null || selector.All(kv => labels is not null && labels.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }

    /// <summary>
    /// Go: <c>podsShouldBeOnNode</c> over every node: one daemon pod per eligible node. Of several active pods on one node the
    /// oldest stays (creation time, then name); pods for a node that is not eligible (or gone) are deleted.
    /// </summary>
    /// <param name="eligibleNodes">The names of the nodes the DaemonSet should run on.</param>
    /// <param name="activePods">The DaemonSet's active pods (not finished, not being deleted).</param>
    public static DaemonSetPlan Plan(IReadOnlyCollection<string> eligibleNodes, IReadOnlyList<V1Pod> activePods)
    {
        ArgumentNullException.ThrowIfNull(eligibleNodes);
        ArgumentNullException.ThrowIfNull(activePods);
        var byNode = activePods.GroupBy(p => TargetNode(p) ?? string.Empty, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var eligible = eligibleNodes.ToHashSet(StringComparer.Ordinal);
        var create = eligibleNodes.Where(n => !byNode.ContainsKey(n)).Order(StringComparer.Ordinal).ToList();
        var delete = new List<V1Pod>();
        foreach (var (node, pods) in byNode.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!eligible.Contains(node))
            {
                delete.AddRange(pods);
                continue;
            }

            delete.AddRange(pods.OrderBy(p => p.Metadata?.CreationTimestamp ?? DateTime.MaxValue).ThenBy(p => p.Metadata?.Name, StringComparer.Ordinal).Skip(1));
        }

        return new DaemonSetPlan(create, delete);
    }

    /// <summary>Go: <c>updateDaemonSetStatus</c>'s counts, from the current status (fields not computed here are kept).</summary>
    public static V1DaemonSetStatus CalculateStatus(V1DaemonSet ds, IReadOnlyCollection<string> eligibleNodes, IReadOnlyList<V1Pod> activePods)
    {
        ArgumentNullException.ThrowIfNull(ds);
        var eligible = eligibleNodes.ToHashSet(StringComparer.Ordinal);
        var scheduled = activePods.Select(TargetNode).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var ready = activePods.Where(p => TargetNode(p) is { } n && eligible.Contains(n) && p.IsReady()).Select(TargetNode).Distinct(StringComparer.Ordinal).Count();
        var status = ds.Status is null ? new V1DaemonSetStatus() : ds.Status with { };
        status.DesiredNumberScheduled = eligible.Count;
        status.CurrentNumberScheduled = scheduled.Count(eligible.Contains);
        status.NumberMisscheduled = scheduled.Count(n => !eligible.Contains(n));
        status.NumberReady = ready;
        status.NumberAvailable = ready;
        status.NumberUnavailable = eligible.Count - ready;
        status.UpdatedNumberScheduled = status.CurrentNumberScheduled;
        status.ObservedGeneration = ds.Metadata?.Generation;
        return status;
    }

    /// <summary>Whether a write would change nothing.</summary>
    public static bool StatusUnchanged(V1DaemonSetStatus? current, V1DaemonSetStatus next) =>
        current is not null
        && current.DesiredNumberScheduled == next.DesiredNumberScheduled
        && current.CurrentNumberScheduled == next.CurrentNumberScheduled
        && current.NumberMisscheduled == next.NumberMisscheduled
        && current.NumberReady == next.NumberReady
        && current.NumberAvailable == next.NumberAvailable
        && current.NumberUnavailable == next.NumberUnavailable
        && current.UpdatedNumberScheduled == next.UpdatedNumberScheduled
        && current.ObservedGeneration == next.ObservedGeneration;

    /// <summary>
    /// A daemon pod for <paramref name="node"/> from the template (Go: <c>CreatePodsWithGenerateName</c> with the node
    /// affinity that pins it, v1.12+): <c>generateName</c> = the DaemonSet's name + <c>-</c>.
    /// </summary>
    public static V1Pod NewPod(V1DaemonSet ds, string node, V1OwnerReference controllerRef)
    {
        ArgumentNullException.ThrowIfNull(ds);
        var template = ds.Spec?.Template;
        var spec = template?.Spec is { } s ? s with { } : new V1PodSpec();
        spec.Affinity = new V1Affinity
        {
            NodeAffinity = new V1NodeAffinity
            {
                RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector
                {
                    NodeSelectorTerms = [new V1NodeSelectorTerm { MatchFields = [new V1NodeSelectorRequirement { Key = NodeNameField, OperatorProperty = "In", Values = [node] }] }],
                },
            },
        };
        return new V1Pod
        {
            ApiVersion = V1Pod.KubeApiVersion,
            Kind = V1Pod.KubeKind,
            Metadata = new V1ObjectMeta
            {
                NamespaceProperty = ds.Metadata.NamespaceProperty,
                GenerateName = ds.Metadata.Name + "-",
                Labels = template?.Metadata?.Labels is { } labels ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : null,
                Annotations = template?.Metadata?.Annotations is { } annotations ? new Dictionary<string, string>(annotations, StringComparer.Ordinal) : null,
                OwnerReferences = [controllerRef],
            },
            Spec = spec,
        };
    }

    /// <summary>A node's display of its daemon pods, for logs.</summary>
    public static string Describe(DaemonSetPlan plan) => string.Create(CultureInfo.InvariantCulture, $"create on {plan.NodesNeedingPods.Count} nodes, delete {plan.PodsToDelete.Count}");
}
