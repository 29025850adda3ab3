using System.Text.Json;
using k8s.Models;
using KubeConsistency.Samples.Controllers;
using KubeConsistency.Samples.Scenario;

namespace KubeConsistency.Tests.Samples;

/// <summary>The sample controllers' decisions on KubernetesClient's models, without a server.</summary>
public sealed class SampleControllerLogicTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // KubernetesClient's models hold times as UTC DateTimes.
    private static readonly DateTime T0Utc = T0.UtcDateTime;

    private static V1Pod NewPod(string name, string phase = "Running", bool ready = true, int createdSec = 0, int? readySec = null, string? ownerUid = "rs-uid", Dictionary<string, string>? labels = null, bool deleting = false, string? node = "node-1") => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = "default",
            Uid = "uid-" + name,
            ResourceVersion = "7",
            CreationTimestamp = T0Utc.AddSeconds(createdSec),
            DeletionTimestamp = deleting ? T0Utc : null,
            Labels = labels ?? new() { ["app"] = "web" },
            OwnerReferences = ownerUid is null ? null : [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = "web", Uid = ownerUid, Controller = true, BlockOwnerDeletion = true }],
        },
        Spec = new V1PodSpec { NodeName = node },
        Status = new V1PodStatus
        {
            Phase = phase,
            Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False", LastTransitionTime = T0Utc.AddSeconds(readySec ?? createdSec) }],
        },
    };

    [Fact]
    public void PodsToDelete_prefers_pending_then_not_ready_then_recently_ready_then_newer_pods()
    {
        var pods = new[]
        {
            NewPod("old-ready", readySec: 1, createdSec: 1),
            NewPod("new-ready", readySec: 50, createdSec: 2),
            NewPod("not-ready", ready: false, createdSec: 3),
            NewPod("pending", phase: "Pending", ready: false, createdSec: 0, node: null),
            NewPod("scheduled-pending", phase: "Pending", ready: false, createdSec: 9, node: "node-1"),
        };

        var order = PodLogic.PodsToDelete(pods, pods.Length).Select(p => p.Metadata!.Name!).ToArray();

        Assert.Equal(["pending", "scheduled-pending", "not-ready", "new-ready", "old-ready"], order);
        Assert.Equal(["pending", "scheduled-pending"], PodLogic.PodsToDelete(pods, 2).Select(p => p.Metadata!.Name!));
        Assert.Empty(PodLogic.PodsToDelete(pods, 0));
    }

    [Fact]
    public void PodsToDelete_breaks_ties_by_creation_time_newest_first_then_name()
    {
        var pods = new[] { NewPod("b", ready: false, createdSec: 5), NewPod("a", ready: false, createdSec: 5), NewPod("c", ready: false, createdSec: 9) };

        Assert.Equal(["c", "a", "b"], PodLogic.PodsToDelete(pods, 3).Select(p => p.Metadata!.Name!));
    }

    [Fact]
    public void Active_pods_exclude_finished_and_deleting_ones()
    {
        var pods = new[] { NewPod("run"), NewPod("done", phase: "Succeeded"), NewPod("failed", phase: "Failed"), NewPod("gone", deleting: true) };

        Assert.Equal(["run"], PodLogic.FilterActive(pods).Select(p => p.Metadata!.Name!));
    }

    [Fact]
    public void Claim_keeps_owned_matching_pods_releases_non_matching_adopts_matching_orphans_and_ignores_others()
    {
        var selector = LabelSelector.FromSet(new Dictionary<string, string> { ["app"] = "web" });

        Assert.Equal(ClaimDecision.Owned, ReplicaSetLogic.Classify(NewPod("a"), "rs-uid", selector, ownerDeleting: false));
        Assert.Equal(ClaimDecision.Release, ReplicaSetLogic.Classify(NewPod("b", labels: new() { ["app"] = "db" }), "rs-uid", selector, ownerDeleting: false));
        Assert.Equal(ClaimDecision.Ignore, ReplicaSetLogic.Classify(NewPod("b", labels: new() { ["app"] = "db" }), "rs-uid", selector, ownerDeleting: true));
        Assert.Equal(ClaimDecision.Adopt, ReplicaSetLogic.Classify(NewPod("c", ownerUid: null), "rs-uid", selector, ownerDeleting: false));
        Assert.Equal(ClaimDecision.Ignore, ReplicaSetLogic.Classify(NewPod("c", ownerUid: null), "rs-uid", selector, ownerDeleting: true));
        Assert.Equal(ClaimDecision.Ignore, ReplicaSetLogic.Classify(NewPod("d", ownerUid: null, deleting: true), "rs-uid", selector, ownerDeleting: false));
        Assert.Equal(ClaimDecision.Ignore, ReplicaSetLogic.Classify(NewPod("e", ownerUid: "other"), "rs-uid", selector, ownerDeleting: false));
        Assert.Equal(ClaimDecision.Ignore, ReplicaSetLogic.Classify(NewPod("f", ownerUid: null, labels: new() { ["app"] = "db" }), "rs-uid", selector, ownerDeleting: false));
    }

    [Fact]
    public void CalculateStatus_counts_replicas_ready_available_and_fully_labeled_and_copies_the_generation()
    {
        var rs = new V1ReplicaSet
        {
            Metadata = new V1ObjectMeta { Name = "web", Generation = 4 },
            Spec = new V1ReplicaSetSpec { Replicas = 3, MinReadySeconds = 10, Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "web", ["tier"] = "front" } } } },
        };
        var pods = new[]
        {
            NewPod("ready-long", readySec: 0, labels: new() { ["app"] = "web", ["tier"] = "front" }),
            NewPod("ready-short", readySec: 55, labels: new() { ["app"] = "web" }),
            NewPod("not-ready", ready: false),
        };

        var status = ReplicaSetLogic.CalculateStatus(rs, pods, T0.AddSeconds(60));

        Assert.Equal(new V1ReplicaSetStatus { Replicas = 3, FullyLabeledReplicas = 1, ReadyReplicas = 2, AvailableReplicas = 1, ObservedGeneration = 4 }, status);
    }

    [Fact]
    public void The_status_is_rewritten_only_when_a_field_the_controller_owns_changed()
    {
        var written = new V1ReplicaSetStatus { Replicas = 3, FullyLabeledReplicas = 3, ReadyReplicas = 3, AvailableReplicas = 3, ObservedGeneration = 2 };

        // Go compares plain ints: a number the server left out equals 0.
        Assert.True(ReplicaSetLogic.StatusUnchanged(written with { }, written));
        Assert.True(ReplicaSetLogic.StatusUnchanged(new V1ReplicaSetStatus { Replicas = 0 }, new V1ReplicaSetStatus { Replicas = 0, ReadyReplicas = 0, AvailableReplicas = 0, FullyLabeledReplicas = 0 }));
        Assert.False(ReplicaSetLogic.StatusUnchanged(null, written));
        Assert.False(ReplicaSetLogic.StatusUnchanged(written with { ReadyReplicas = 2 }, written));
        Assert.False(ReplicaSetLogic.StatusUnchanged(written with { ObservedGeneration = 1 }, written));
        Assert.False(ReplicaSetLogic.StatusUnchanged(written, written with { Conditions = [new V1ReplicaSetCondition { Type = "ReplicaFailure", Status = "True" }] }));

        // The next sync computes it from the same pods and keeps the conditions: nothing to write.
        var rs = new V1ReplicaSet { Metadata = new V1ObjectMeta { Generation = 2 }, Spec = new V1ReplicaSetSpec { Replicas = 3 }, Status = written };
        var pods = new[] { NewPod("a"), NewPod("b"), NewPod("c") };
        Assert.True(ReplicaSetLogic.StatusUnchanged(rs.Status, ReplicaSetLogic.CalculateStatus(rs, pods, T0)));
    }

    [Fact]
    public async Task SlowStartBatch_creates_in_batches_of_1_2_4_and_stops_after_a_failing_batch()
    {
        var calls = 0;
        var (ok, failures, error) = await PodLogic.SlowStartBatchAsync(10, 1, () =>
        {
            Interlocked.Increment(ref calls);
            return Task.CompletedTask;
        });
        Assert.Equal(10, ok);
        Assert.Equal(0, failures);
        Assert.Null(error);
        Assert.Equal(10, calls);

        // Batches 1, 2, 4: the 4th call fails, so the batch of 4 ends the run; 3 more were never attempted.
        calls = 0;
        (ok, failures, error) = await PodLogic.SlowStartBatchAsync(10, 1, () =>
            Interlocked.Increment(ref calls) == 4 ? Task.FromException(new InvalidOperationException("quota")) : Task.CompletedTask);
        Assert.Equal(7, calls);
        Assert.Equal(6, ok);
        Assert.Equal(1, failures);
        Assert.Equal("quota", error?.Message);
    }

    [Fact]
    public void The_adoption_patch_is_a_merge_patch_of_the_whole_owner_list_with_uid_and_resource_version_preconditions()
    {
        var pod = NewPod("p", ownerUid: null);
        var patch = JsonDocument.Parse(PodLogic.OwnerReferencesPatch(pod, [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = "web", Uid = "u1", Controller = true, BlockOwnerDeletion = true }])).RootElement;

        var meta = patch.GetProperty("metadata");
        Assert.Equal("uid-p", meta.GetProperty("uid").GetString());
        Assert.Equal("7", meta.GetProperty("resourceVersion").GetString());
        var reference = Assert.Single(meta.GetProperty("ownerReferences").EnumerateArray());
        Assert.Equal("u1", reference.GetProperty("uid").GetString());
        Assert.True(reference.GetProperty("controller").GetBoolean());

        // Releasing the last reference removes the field.
        var release = JsonDocument.Parse(PodLogic.OwnerReferencesPatch(pod, [])).RootElement;
        Assert.Equal(JsonValueKind.Null, release.GetProperty("metadata").GetProperty("ownerReferences").ValueKind);
    }

    private static V1Job NewJob(int completions = 5, int parallelism = 2, int succeeded = 0, int failed = 0, int backoffLimit = 6) => new()
    {
        Metadata = new V1ObjectMeta { Name = "j", NamespaceProperty = "default", Uid = "job-uid" },
        Spec = new V1JobSpec { Completions = completions, Parallelism = parallelism, BackoffLimit = backoffLimit },
        Status = new V1JobStatus { Succeeded = succeeded, Failed = failed },
    };

    private static V1Pod JobPod(string name, string phase, bool counted = false)
    {
        var pod = NewPod(name, phase: phase, ownerUid: "job-uid");
        if (counted)
        {
            pod.Metadata.Labels[JobLogic.CountedLabel] = "true";
        }

        return pod;
    }

    [Fact]
    public void Job_plan_adds_newly_finished_pods_to_the_cached_counts_and_runs_up_to_parallelism()
    {
        var plan = JobLogic.Plan(NewJob(succeeded: 1), [JobPod("a", "Succeeded"), JobPod("b", "Succeeded", counted: true), JobPod("c", "Running")]);

        Assert.Equal(2, plan.Succeeded); // 1 from the status + "a"; "b" was counted before.
        Assert.Equal(["a"], plan.Uncounted.Select(p => p.Metadata!.Name!));
        Assert.Equal(1, plan.ToCreate); // min(parallelism 2, 5 - 2) = 2 wanted, 1 active.
        Assert.Null(plan.FinishedCondition);
    }

    [Fact]
    public void A_stale_Job_read_undercounts_and_over_creates()
    {
        // The truth: 4 of 5 done (status says 4, the pods are counted), 1 running: nothing to create.
        var pods = new[] { JobPod("a", "Succeeded", true), JobPod("b", "Succeeded", true), JobPod("c", "Succeeded", true), JobPod("d", "Succeeded", true), JobPod("e", "Running") };
        Assert.Equal(0, JobLogic.Plan(NewJob(succeeded: 4), pods).ToCreate);

        // The same pods with a Job read from before the last status write (succeeded 2): one pod too many.
        var stale = JobLogic.Plan(NewJob(succeeded: 2), pods);
        Assert.Equal(2, stale.Succeeded);
        Assert.Equal(1, stale.ToCreate);
    }

    [Fact]
    public void A_stale_pod_read_counts_a_pod_twice()
    {
        // The status already includes "a", but the cache has not seen the counted label yet.
        var plan = JobLogic.Plan(NewJob(completions: 3, succeeded: 1), [JobPod("a", "Succeeded")]);

        Assert.Equal(2, plan.Succeeded);
    }

    [Fact]
    public void Job_plan_completes_when_completions_succeeded_and_deletes_leftover_pods()
    {
        var plan = JobLogic.Plan(NewJob(completions: 2, succeeded: 1), [JobPod("a", "Succeeded"), JobPod("b", "Running")]);

        Assert.Equal("Complete", plan.FinishedCondition);
        Assert.Equal(["b"], plan.ToDelete.Select(p => p.Metadata!.Name!));
        var status = JobLogic.NewStatus(NewJob(completions: 2, succeeded: 1), plan, created: 0, deleted: 1, T0);
        Assert.Equal(2, status.Succeeded);
        Assert.Equal(0, status.Active);
        Assert.Equal(T0Utc, status.CompletionTime);
        Assert.Equal(T0Utc, status.StartTime);
        var condition = Assert.Single(status.Conditions!);
        Assert.Equal(("Complete", "True"), (condition.Type, condition.Status));
    }

    [Fact]
    public void Job_plan_fails_the_job_after_more_than_backoffLimit_failures()
    {
        var plan = JobLogic.Plan(NewJob(failed: 1, backoffLimit: 1), [JobPod("a", "Failed"), JobPod("b", "Running")]);

        Assert.Equal(("Failed", "BackoffLimitExceeded"), (plan.FinishedCondition, plan.FinishedReason));
        Assert.Equal(2, plan.Failed);
        Assert.Single(plan.ToDelete);

        // At the limit it keeps going, and replaces the failed pod.
        var atLimit = JobLogic.Plan(NewJob(backoffLimit: 1), [JobPod("a", "Failed"), JobPod("b", "Running")]);
        Assert.Null(atLimit.FinishedCondition);
        Assert.Equal(1, atLimit.ToCreate);
    }

    [Fact]
    public void Job_plan_deletes_surplus_active_pods_and_manages_nothing_when_told_not_to()
    {
        var pods = new[] { JobPod("a", "Running"), JobPod("b", "Running"), JobPod("c", "Pending") };

        Assert.Equal(["c"], JobLogic.Plan(NewJob(parallelism: 2), pods).ToDelete.Select(p => p.Metadata!.Name!));
        var frozen = JobLogic.Plan(NewJob(parallelism: 5), pods, manage: false);
        Assert.Equal(0, frozen.ToCreate);
        Assert.Empty(frozen.ToDelete);
    }

    [Fact]
    public void Summary_json_has_exactly_the_documented_shape()
    {
        var summary = new ScenarioSummary
        {
            Consistency = false,
            Expectations = false,
            Embedded = true,
            PodWatchLag = TimeSpan.FromMilliseconds(300),
            OwnerWatchLag = TimeSpan.Zero,
            ReplicaSets = 2,
            Replicas = 3,
            Jobs = 1,
            Completions = 2,
            Parallelism = 2,
            PodsAtEnd = 8,
            ReplicaSetPodsCreated = 9,
            JobPodsCreated = 2,
            ReplicaSetExcessPods = 3,
            JobExcessPods = 0,
            JobsMiscounted = 0,
            StaleSyncSkips = new Dictionary<string, long> { ["/pods"] = 4, ["apps/replicasets"] = 1 },
            StaleSyncSkipsByController = [],
            ResourceVersions = [],
            Converged = true,
            Elapsed = TimeSpan.FromMilliseconds(1234.5678),
        };

        var json = JsonDocument.Parse(summary.ToJson()).RootElement;

        Assert.Equal("""{"consistency":false,"replicaSets":2,"jobs":1,"podsCreated":11,"excessPods":3,"staleSyncSkips":{"/pods":4,"apps/replicasets":1},"converged":true,"seconds":1.235}""", JsonSerializer.Serialize(json));
        Assert.Equal(8, summary.MinimumPods);
        Assert.Equal(11, summary.Objects);
    }

    [Fact]
    public void A_pod_from_the_template_carries_the_requests_metadata_and_the_templates_spec()
    {
        var template = new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "web" }, Annotations = new Dictionary<string, string> { ["a"] = "1" } },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "i" }] },
        };
        var request = new KubeConsistency.Controllers.PodCreateRequest("ns", "web-", new Dictionary<string, string> { ["app"] = "web" }, OwnerReference.NewControllerRef("apps/v1", "ReplicaSet", "web", "u1"));

        var pod = PodLogic.FromTemplate(request, template);

        Assert.Equal(("v1", "Pod"), (pod.ApiVersion, pod.Kind));
        Assert.Equal(("ns", "web-"), (pod.Metadata.NamespaceProperty, pod.Metadata.GenerateName));
        Assert.Equal("web", pod.Metadata.Labels["app"]);
        Assert.Equal("1", pod.Metadata.Annotations["a"]);
        var owner = Assert.Single(pod.Metadata.OwnerReferences);
        Assert.Equal(("ReplicaSet", "web", "u1", true, true), (owner.Kind, owner.Name, owner.Uid, owner.Controller, owner.BlockOwnerDeletion));
        Assert.Same(template.Spec, pod.Spec);
    }
}
