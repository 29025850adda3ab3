using k8s;
using k8s.Models;

namespace KubeConsistency.Samples.Models;

/// <summary>
/// What the sample controllers read from KubernetesClient's <c>k8s.Models</c> beyond its own
/// <see cref="k8s.Models.ModelExtensions"/> (<c>GetController()</c>, <c>GetLabel()</c>, …). KubernetesClient's models are
/// nullable-oblivious, so every hop is null-checked.
/// </summary>
public static class SampleModelExtensions
{
    /// <summary>The <c>namespace/name</c> key.</summary>
    public static string Key(this IKubernetesObject<V1ObjectMeta> obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return ObjectKeys.MetaNamespaceKey(obj.Metadata?.NamespaceProperty, obj.Metadata?.Name);
    }

    /// <summary>
    /// The labels as the read-only view <see cref="LabelSelector"/> and <c>PodControl</c> take (KubernetesClient's models
    /// hold an <see cref="IDictionary{TKey, TValue}"/>; the <see cref="Dictionary{TKey, TValue}"/> it deserializes is
    /// passed through as is).
    /// </summary>
    public static IReadOnlyDictionary<string, string>? ReadOnlyLabels(this V1ObjectMeta? metadata) => metadata?.Labels switch
    {
        null => null,
        IReadOnlyDictionary<string, string> readOnly => readOnly,
        var labels => new Dictionary<string, string>(labels, StringComparer.Ordinal),
    };

    /// <summary>Whether the object is being deleted (<c>metadata.deletionTimestamp</c> is set).</summary>
    public static bool IsDeleting(this IKubernetesObject<V1ObjectMeta> obj) => obj?.Metadata?.DeletionTimestamp is not null;

    /// <summary>Whether the pod reached <c>Succeeded</c> or <c>Failed</c>.</summary>
    public static bool IsFinished(this V1Pod pod) => pod?.Status?.Phase is "Succeeded" or "Failed";

    /// <summary>Go: <c>podutil.IsPodReady</c>: the <c>Ready</c> condition is <c>True</c>.</summary>
    public static bool IsReady(this V1Pod pod) => ReadyCondition(pod) is not null;

    /// <summary>When the pod last became ready, or <see langword="null"/>.</summary>
    public static DateTimeOffset? ReadySince(this V1Pod pod) =>
        ReadyCondition(pod)?.LastTransitionTime is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : null;

    /// <summary>The selector as the library's <see cref="LabelSelector"/>; a missing selector selects nothing (upstream).</summary>
    /// <exception cref="LabelSelectorException">The selector is invalid.</exception>
    public static LabelSelector ToSelector(this V1LabelSelector? selector) => selector is null
        ? LabelSelector.Nothing
        : LabelSelector.FromLabelSelector(
            selector.MatchLabels,
            selector.MatchExpressions?.Select(static e => new LabelSelectorRequirement(e.Key ?? string.Empty, e.OperatorProperty ?? string.Empty, e.Values?.ToList())));

    /// <summary>The library's owner reference (e.g. from <see cref="OwnerReference.NewControllerRef"/>) as a <see cref="V1OwnerReference"/>.</summary>
    public static V1OwnerReference ToV1OwnerReference(this OwnerReference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return new V1OwnerReference
        {
            ApiVersion = reference.ApiVersion,
            Kind = reference.Kind,
            Name = reference.Name,
            Uid = reference.Uid,
            Controller = reference.Controller,
            BlockOwnerDeletion = reference.BlockOwnerDeletion,
        };
    }

    private static V1PodCondition? ReadyCondition(V1Pod pod)
    {
        if (pod?.Status?.Conditions is not { } conditions)
        {
            return null;
        }

        foreach (var c in conditions)
        {
            if (c is { Type: "Ready", Status: "True" })
            {
                return c;
            }
        }

        return null;
    }
}
