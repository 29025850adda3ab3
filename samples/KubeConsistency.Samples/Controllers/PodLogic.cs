using System.Text;
using System.Text.Json;
using k8s.Models;
using KubeConsistency.Controllers;
using KubeConsistency.Samples.Models;

namespace KubeConsistency.Samples.Controllers;

/// <summary>
/// The pod decisions shared by the sample controllers, as pure functions (kube-controller-manager's
/// <c>controller_utils.go</c>): which pods are active, which to delete first, slow-start batches, pod templates and the
/// JSON merge patches of adoption and release.
/// </summary>
public static class PodLogic
{
    /// <summary>Go: <c>SlowStartInitialBatchSize</c>.</summary>
    public const int SlowStartInitialBatchSize = 1;

    /// <summary>Go: <c>IsPodActive</c>: not <c>Succeeded</c>/<c>Failed</c> and not being deleted.</summary>
    public static bool IsActive(V1Pod pod) => !pod.IsFinished() && !pod.IsDeleting();

    /// <summary>Go: <c>FilterActivePods</c>.</summary>
    public static List<V1Pod> FilterActive(IEnumerable<V1Pod> pods) => [.. pods.Where(IsActive)];

    /// <summary>
    /// The <paramref name="count"/> pods to delete first (Go: <c>getPodsToDelete</c> with <c>ActivePodsWithRanks</c>):
    /// unscheduled before scheduled, <c>Pending</c> before <c>Unknown</c> before <c>Running</c>, not ready before ready,
    /// ready for less time before longer, created more recently before older; then by name, so the choice is deterministic.
    /// </summary>
    public static List<V1Pod> PodsToDelete(IReadOnlyList<V1Pod> pods, int count)
    {
        ArgumentNullException.ThrowIfNull(pods);
        if (count <= 0)
        {
            return [];
        }

        var ranked = pods.ToList();
        ranked.Sort(DeletionOrder.Instance);
        return ranked.GetRange(0, Math.Min(count, ranked.Count));
    }

    /// <summary>
    /// Go: <c>slowStartBatch</c>: calls <paramref name="create"/> <paramref name="count"/> times in batches of 1, 2, 4, …
    /// (each batch concurrently), stopping after the first batch with a failure. Returns how many succeeded, how many failed
    /// (the rest were never attempted) and the first error.
    /// </summary>
    public static async Task<(int Successes, int Failures, Exception? Error)> SlowStartBatchAsync(int count, int initialBatchSize, Func<Task> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        var remaining = count;
        var successes = 0;
        for (var batch = Math.Min(remaining, initialBatchSize); batch > 0; batch = Math.Min(2 * batch, remaining))
        {
            var tasks = new Task[batch];
            for (var i = 0; i < batch; i++)
            {
                tasks[i] = create();
            }

            try
            {
                await Task.WhenAll(tasks).ConfigureAwait(false);
            }
            catch (Exception) when (tasks.Any(t => t.IsFaulted || t.IsCanceled))
            {
                // Counted below: Task.WhenAll only surfaces the first error.
            }

            var failed = tasks.Where(t => !t.IsCompletedSuccessfully).ToList();
            successes += batch - failed.Count;
            if (failed.Count > 0)
            {
                var first = failed[0];
                return (successes, failed.Count, first.Exception?.InnerException ?? new OperationCanceledException("A pod create was cancelled."));
            }

            remaining -= batch;
        }

        return (successes, 0, null);
    }

    /// <summary>
    /// Builds a pod from a pod-control request and the owner's template (Go: <c>GetPodFromTemplate</c>): the request's
    /// namespace, generateName, labels and controller reference; the template's annotations and spec.
    /// </summary>
    public static V1Pod FromTemplate(PodCreateRequest request, V1PodTemplateSpec? template)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new V1Pod
        {
            ApiVersion = V1Pod.KubeApiVersion,
            Kind = V1Pod.KubeKind,
            Metadata = new V1ObjectMeta
            {
                NamespaceProperty = request.Namespace,
                GenerateName = request.GenerateName,
                Labels = new Dictionary<string, string>(request.Labels, StringComparer.Ordinal),
                Annotations = template?.Metadata?.Annotations is { } annotations ? new Dictionary<string, string>(annotations, StringComparer.Ordinal) : null,
                Finalizers = template?.Metadata?.Finalizers is { } finalizers ? [.. finalizers] : null,
                OwnerReferences = [request.ControllerRef.ToV1OwnerReference()],
            },
            Spec = template?.Spec,
        };
    }

    /// <summary>
    /// The JSON merge patch that sets a pod's owner references to <paramref name="ownerReferences"/> (a merge patch replaces
    /// the whole list; <see langword="null"/> or empty removes it), with the pod's UID and resource version as preconditions
    /// so a patch computed from a stale cache fails with 409 instead of clobbering someone else's change.
    /// </summary>
    public static byte[] OwnerReferencesPatch(V1Pod pod, IReadOnlyList<V1OwnerReference>? ownerReferences)
    {
        ArgumentNullException.ThrowIfNull(pod);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteString("uid", pod.Metadata?.Uid);
            json.WriteString("resourceVersion", pod.Metadata?.ResourceVersion);
            if (ownerReferences is not { Count: > 0 })
            {
                json.WriteNull("ownerReferences");
            }
            else
            {
                json.WriteStartArray("ownerReferences");
                foreach (var r in ownerReferences)
                {
                    json.WriteStartObject();
                    json.WriteString("apiVersion", r.ApiVersion);
                    json.WriteString("kind", r.Kind);
                    json.WriteString("name", r.Name);
                    json.WriteString("uid", r.Uid);
                    if (r.Controller is { } controller)
                    {
                        json.WriteBoolean("controller", controller);
                    }

                    if (r.BlockOwnerDeletion is { } block)
                    {
                        json.WriteBoolean("blockOwnerDeletion", block);
                    }

                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>A merge patch that sets one label (with the pod's UID as a precondition).</summary>
    public static byte[] LabelPatch(V1Pod pod, string key, string value)
    {
        ArgumentNullException.ThrowIfNull(pod);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteString("uid", pod.Metadata?.Uid);
            json.WriteStartObject("labels");
            json.WriteString(key, value);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Renders a patch for logs.</summary>
    public static string Describe(ReadOnlySpan<byte> patch) => Encoding.UTF8.GetString(patch);

    private sealed class DeletionOrder : IComparer<V1Pod>
    {
        public static readonly DeletionOrder Instance = new();

        public int Compare(V1Pod? x, V1Pod? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null || y is null)
            {
                return x is null ? -1 : 1;
            }

            // 1. Unassigned < assigned.
            var c = string.IsNullOrEmpty(y.Spec?.NodeName).CompareTo(string.IsNullOrEmpty(x.Spec?.NodeName));
            if (c != 0)
            {
                return c;
            }

            // 2. Pending < Unknown < Running.
            c = PhaseRank(x).CompareTo(PhaseRank(y));
            if (c != 0)
            {
                return c;
            }

            // 3. Not ready < ready.
            c = x.IsReady().CompareTo(y.IsReady());
            if (c != 0)
            {
                return c;
            }

            // 4. Ready for less time < ready for longer (a later transition first).
            if (x.IsReady() && y.IsReady())
            {
                c = Nullable.Compare(y.ReadySince(), x.ReadySince());
                if (c != 0)
                {
                    return c;
                }
            }

            // 5. Newer < older.
            c = Nullable.Compare(y.Metadata?.CreationTimestamp, x.Metadata?.CreationTimestamp);
            if (c != 0)
            {
                return c;
            }

            return string.CompareOrdinal(x.Metadata?.Name, y.Metadata?.Name);
        }

        private static int PhaseRank(V1Pod pod) => pod.Status?.Phase switch
        {
            "Pending" or null or "" => 0,
            "Unknown" => 1,
            "Running" => 2,
            _ => 3,
        };
    }
}
