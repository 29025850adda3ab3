using k8s.Models;
using KubeConsistency.Samples.Models;

namespace KubeConsistency.Samples.Controllers;

/// <summary>What one Job sync decided (see <see cref="JobLogic.Plan"/>).</summary>
/// <param name="Active">Owned pods that are neither finished nor being deleted.</param>
/// <param name="Uncounted">Finished pods not yet counted into the Job's status (no <see cref="JobLogic.CountedLabel"/>).</param>
/// <param name="Succeeded">The Job's succeeded count read from its status <em>in the cache</em>, plus the newly succeeded pods.</param>
/// <param name="Failed">The same for failed pods.</param>
/// <param name="FinishedCondition"><c>Complete</c>, <c>Failed</c>, or <see langword="null"/> while the Job runs.</param>
/// <param name="FinishedReason">Why the Job finished (e.g. <c>BackoffLimitExceeded</c>).</param>
/// <param name="ToCreate">Pods to create.</param>
/// <param name="ToDelete">Active pods to delete (surplus, or every active pod once the Job finished).</param>
public sealed record JobSyncPlan(
    IReadOnlyList<V1Pod> Active,
    IReadOnlyList<V1Pod> Uncounted,
    int Succeeded,
    int Failed,
    string? FinishedCondition,
    string? FinishedReason,
    int ToCreate,
    IReadOnlyList<V1Pod> ToDelete);

/// <summary>
/// The Job controller's decisions as pure functions, modelled on <c>pkg/controller/job/job_controller.go</c> (NonIndexed
/// completion mode): count finished pods into the Job's status, run up to <c>parallelism</c> pods until
/// <c>completions</c> succeeded, fail after more than <c>backoffLimit</c> failures.
/// </summary>
/// <remarks>
/// Counting mirrors upstream's finalizer-based tracking in a simpler form: a finished pod is counted once — the sync adds
/// it to <c>status.succeeded</c>/<c>status.failed</c> (written first, with the Job's resource version as a precondition)
/// and then labels it <see cref="CountedLabel"/> (a tracked pod write), after which it no longer contributes. The
/// previous counts are read from the Job <em>in the cache</em>. So a stale Job read (one that misses this controller's
/// last status write while the pods are already labelled) undercounts, and the sync then over-creates pods — what
/// upstream feared; a stale pod read (labels not yet seen) counts a pod twice. The consistency gate over <c>jobs</c> and
/// <c>pods</c> defers both syncs until the caches caught up.
/// </remarks>
public static class JobLogic
{
    /// <summary>The label a counted finished pod carries (the stand-in for removing upstream's tracking finalizer).</summary>
    public const string CountedLabel = "samples.kubeconsistency.io/counted";

    /// <summary>Go: <c>MaxPodCreateDeletePerSync</c>.</summary>
    public const int MaxPodCreateDeletePerSync = 500;

    /// <summary>Whether the Job has a <c>Complete</c> or <c>Failed</c> condition that is <c>True</c>.</summary>
    public static bool IsFinished(V1Job job) => FinishedCondition(job) is not null;

    /// <summary>The Job's true <c>Complete</c>/<c>Failed</c> condition type, or <see langword="null"/>.</summary>
    public static string? FinishedCondition(V1Job job) =>
        job?.Status?.Conditions?.FirstOrDefault(static c => c is { Type: "Complete" or "Failed", Status: "True" })?.Type;

    /// <summary>Whether a finished pod still has to be counted.</summary>
    public static bool IsUncounted(V1Pod pod) => pod.IsFinished() && pod.GetLabel(CountedLabel) != "true";

    /// <summary>
    /// Plans one sync of <paramref name="job"/> over its owned pods. With <paramref name="manage"/> false (expectations not
    /// yet met) nothing is created or deleted.
    /// </summary>
    public static JobSyncPlan Plan(V1Job job, IEnumerable<V1Pod> ownedPods, bool manage = true)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(ownedPods);
        var pods = ownedPods as IReadOnlyCollection<V1Pod> ?? [.. ownedPods];
        var active = pods.Where(PodLogic.IsActive).ToList();
        var uncounted = pods.Where(IsUncounted).ToList();
        var succeeded = (job.Status?.Succeeded ?? 0) + uncounted.Count(static p => p.Status?.Phase == "Succeeded");
        var failed = (job.Status?.Failed ?? 0) + uncounted.Count(static p => p.Status?.Phase == "Failed");
        var parallelism = Math.Max(0, job.Spec?.Parallelism ?? 1);
        var completions = job.Spec?.Completions;
        var backoffLimit = job.Spec?.BackoffLimit ?? 6;

        string? condition = null, reason = null;
        if (failed > backoffLimit)
        {
            (condition, reason) = ("Failed", "BackoffLimitExceeded");
        }
        else if (completions is { } c ? succeeded >= c : succeeded > 0 && active.Count == 0)
        {
            (condition, reason) = ("Complete", "CompletionsReached");
        }

        if (condition is not null)
        {
            // A finished Job keeps no pods running.
            return new(active, uncounted, succeeded, failed, condition, reason, 0, active);
        }

        if (!manage)
        {
            return new(active, uncounted, succeeded, failed, null, null, 0, []);
        }

        // Go (NonIndexed): wantActive = min(parallelism, completions - succeeded); a work-queue Job (no completions)
        // keeps parallelism pods until the first success.
        var wantActive = completions is { } total ? Math.Min(parallelism, total - succeeded) : succeeded > 0 ? 0 : parallelism;
        wantActive = Math.Max(0, wantActive);
        var diff = active.Count - wantActive;
        return diff < 0
            ? new(active, uncounted, succeeded, failed, null, null, Math.Min(-diff, MaxPodCreateDeletePerSync), [])
            : new(active, uncounted, succeeded, failed, null, null, 0, PodLogic.PodsToDelete(active, Math.Min(diff, MaxPodCreateDeletePerSync)));
    }

    /// <summary>
    /// The status the sync writes: counts, active (after this sync's creates and deletes), start and finish. Like Go, it
    /// starts from the current status, so fields this controller does not compute are kept.
    /// </summary>
    public static V1JobStatus NewStatus(V1Job job, JobSyncPlan plan, int created, int deleted, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(plan);
        var utcNow = now.UtcDateTime;
        var conditions = job.Status?.Conditions is { } existing ? new List<V1JobCondition>(existing) : null;
        var completionTime = job.Status?.CompletionTime;
        if (plan.FinishedCondition is { } type)
        {
            conditions ??= [];
            conditions.Add(new V1JobCondition
            {
                Type = type,
                Status = "True",
                Reason = plan.FinishedReason,
                Message = type == "Failed" ? "Job has reached the specified backoff limit" : "Reached expected number of succeeded pods",
                LastTransitionTime = utcNow,
            });
            if (type == "Complete")
            {
                completionTime = utcNow;
            }
        }

        return (job.Status ?? new V1JobStatus()) with
        {
            Active = Math.Max(0, plan.Active.Count + created - deleted),
            Succeeded = plan.Succeeded,
            Failed = plan.Failed,
            Ready = plan.Active.Count(static p => p.IsReady()),
            StartTime = job.Status?.StartTime ?? utcNow,
            CompletionTime = completionTime,
            Conditions = conditions,
        };
    }

    /// <summary>Whether two statuses differ in what this controller writes (so an unchanged status is not written).</summary>
    public static bool StatusChanged(V1JobStatus? old, V1JobStatus updated)
    {
        ArgumentNullException.ThrowIfNull(updated);
        return old is null
            || (old.Active ?? 0) != updated.Active
            || (old.Succeeded ?? 0) != updated.Succeeded
            || (old.Failed ?? 0) != updated.Failed
            || (old.Ready ?? 0) != updated.Ready
            || old.StartTime != updated.StartTime
            || old.CompletionTime != updated.CompletionTime
            || (old.Conditions?.Count ?? 0) != (updated.Conditions?.Count ?? 0);
    }
}
