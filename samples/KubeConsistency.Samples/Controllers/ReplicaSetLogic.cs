using k8s.Models;
using KubeConsistency.Samples.Models;

namespace KubeConsistency.Samples.Controllers;

/// <summary>What <c>ClaimPods</c> does with one pod.</summary>
public enum ClaimDecision
{
    /// <summary>Not ours and not adoptable: ignored.</summary>
    Ignore,

    /// <summary>Controlled by this owner and matching: kept.</summary>
    Owned,

    /// <summary>Controlled by this owner but no longer matching the selector: released (owner reference removed).</summary>
    Release,

    /// <summary>An orphan that matches: adopted (controller reference added).</summary>
    Adopt,
}

/// <summary>The ReplicaSet controller's decisions as pure functions (unit-tested without a server).</summary>
public static class ReplicaSetLogic
{
    /// <summary>
    /// Go: <c>BaseControllerRefManager.ClaimObject</c> for one pod of the owner with UID <paramref name="ownerUid"/>.
    /// </summary>
    public static ClaimDecision Classify(V1Pod pod, string ownerUid, LabelSelector selector, bool ownerDeleting)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(selector);
        var matches = selector.Matches(pod.Metadata.ReadOnlyLabels());
        if (pod.GetController() is { } controllerRef)
        {
            if (controllerRef.Uid != ownerUid)
            {
                return ClaimDecision.Ignore; // Someone else's.
            }

            if (matches)
            {
                return ClaimDecision.Owned;
            }

            // Go: a deleting owner does not release (it would only orphan pods the garbage collector is about to delete).
            return ownerDeleting ? ClaimDecision.Ignore : ClaimDecision.Release;
        }

        // An orphan: adopt only when the owner is alive, the pod is not being deleted, and the selector matches.
        return !ownerDeleting && !pod.IsDeleting() && matches ? ClaimDecision.Adopt : ClaimDecision.Ignore;
    }

    /// <summary>
    /// Go: <c>calculateStatus</c>: counts over the claimed active pods; available = ready for <c>minReadySeconds</c>
    /// (at <paramref name="now"/>; ready is enough when it is 0), fully labeled = carrying every template label. Like Go,
    /// it starts from the current status, so fields this controller does not compute (conditions) are kept.
    /// </summary>
    public static V1ReplicaSetStatus CalculateStatus(V1ReplicaSet rs, IReadOnlyList<V1Pod> filteredPods, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(rs);
        ArgumentNullException.ThrowIfNull(filteredPods);
        var templateLabels = rs.Spec?.Template?.Metadata?.Labels;
        var minReady = TimeSpan.FromSeconds(rs.Spec?.MinReadySeconds ?? 0);
        int fullyLabeled = 0, ready = 0, available = 0;
        foreach (var pod in filteredPods)
        {
            if (templateLabels is null || templateLabels.All(l => pod.Metadata?.Labels?.TryGetValue(l.Key, out var v) == true && v == l.Value))
            {
                fullyLabeled++;
            }

            if (pod.IsReady())
            {
                ready++;
                if (minReady == TimeSpan.Zero || (pod.ReadySince() is { } since && now is { } n && n - since >= minReady))
                {
                    available++;
                }
            }
        }

        return (rs.Status ?? new V1ReplicaSetStatus()) with
        {
            Replicas = filteredPods.Count,
            FullyLabeledReplicas = fullyLabeled,
            ReadyReplicas = ready,
            AvailableReplicas = available,
            ObservedGeneration = rs.Metadata?.Generation,
        };
    }

    /// <summary>
    /// Go: <c>updateReplicaSetStatus</c>'s "nothing to write" check: the counts, the observed generation and the conditions
    /// are unchanged. A missing number counts as 0, as in Go.
    /// </summary>
    public static bool StatusUnchanged(V1ReplicaSetStatus? current, V1ReplicaSetStatus updated)
    {
        ArgumentNullException.ThrowIfNull(updated);
        return current is not null
            && current.Replicas == updated.Replicas
            && (current.FullyLabeledReplicas ?? 0) == (updated.FullyLabeledReplicas ?? 0)
            && (current.ReadyReplicas ?? 0) == (updated.ReadyReplicas ?? 0)
            && (current.AvailableReplicas ?? 0) == (updated.AvailableReplicas ?? 0)
            && (current.ObservedGeneration ?? 0) == (updated.ObservedGeneration ?? 0)
            && (current.Conditions ?? []).SequenceEqual(updated.Conditions ?? []);
    }
}
