using k8s.Models;
using KubeConsistency.Samples.Controllers;

namespace KubeConsistency.Tests.Samples;

/// <summary>The DaemonSet and StatefulSet sample controllers' decisions (upstream-semantics.md §8.2, §8.5) without a server.</summary>
public sealed class DaemonSetStatefulSetLogicTests
{
    private static readonly V1OwnerReference Ref = new() { ApiVersion = "apps/v1", Kind = "DaemonSet", Name = "agent", Uid = "ds-uid", Controller = true, BlockOwnerDeletion = true };

    [Fact]
    public void A_daemon_pod_is_pinned_to_its_node_by_affinity_and_found_again_from_it()
    {
        var pod = DaemonSetLogic.NewPod(DaemonSet(), "node-b", Ref);

        Assert.Equal("agent-", pod.Metadata.GenerateName);
        Assert.Equal("node-b", DaemonSetLogic.TargetNode(pod));
        Assert.Null(pod.Spec.NodeName);
        Assert.Equal("x", pod.Metadata.Labels["app"]);
        Assert.Equal("ds-uid", Assert.Single(pod.Metadata.OwnerReferences).Uid);
        Assert.Equal("node-c", DaemonSetLogic.TargetNode(new V1Pod { Spec = new V1PodSpec { NodeName = "node-c" } }));
    }

    [Fact]
    public void The_plan_creates_on_nodes_without_a_pod_keeps_the_oldest_of_several_and_deletes_pods_of_gone_nodes()
    {
        var old = DaemonPod("old", "node-a", 1);
        var young = DaemonPod("young", "node-a", 2);
        var orphaned = DaemonPod("orphaned", "node-gone", 1);

        var plan = DaemonSetLogic.Plan(["node-a", "node-b", "node-c"], [young, old, orphaned]);

        Assert.Equal(["node-b", "node-c"], plan.NodesNeedingPods);
        Assert.Equal(["young", "orphaned"], plan.PodsToDelete.Select(p => p.Metadata.Name).Order(StringComparer.Ordinal).Reverse());
    }

    [Fact]
    public void Node_selector_and_deleting_nodes_decide_eligibility()
    {
        var ds = DaemonSet();
        ds.Spec.Template.Spec.NodeSelector = new Dictionary<string, string> { ["role"] = "edge" };

        Assert.True(DaemonSetLogic.ShouldRun(ds, Node("a", new() { ["role"] = "edge" })));
        Assert.False(DaemonSetLogic.ShouldRun(ds, Node("b", new() { ["role"] = "core" })));
        Assert.False(DaemonSetLogic.ShouldRun(ds, Node("c", null)));
        var deleting = Node("d", new() { ["role"] = "edge" });
        deleting.Metadata.DeletionTimestamp = DateTime.UtcNow;
        Assert.False(DaemonSetLogic.ShouldRun(ds, deleting));
    }

    [Fact]
    public void The_status_counts_desired_current_misscheduled_and_ready_nodes()
    {
        var ready = DaemonPod("p1", "node-a", 1, ready: true);
        var pending = DaemonPod("p2", "node-b", 1);
        var misscheduled = DaemonPod("p3", "node-x", 1, ready: true);
        var ds = DaemonSet();
        ds.Metadata.Generation = 4;

        var status = DaemonSetLogic.CalculateStatus(ds, ["node-a", "node-b", "node-c"], [ready, pending, misscheduled]);

        Assert.Equal((3, 2, 1, 1, 4L), (status.DesiredNumberScheduled, status.CurrentNumberScheduled, status.NumberMisscheduled, status.NumberReady, status.ObservedGeneration!.Value));
        Assert.False(DaemonSetLogic.StatusUnchanged(ds.Status, status));
        Assert.True(DaemonSetLogic.StatusUnchanged(status, status with { }));
    }

    [Theory]
    [InlineData("db-0", 0)]
    [InlineData("db-12", 12)]
    [InlineData("db-", -1)]
    [InlineData("db-x", -1)]
    [InlineData("dbx-1", -1)]
    [InlineData("other-1", -1)]
    [InlineData("db--1", -1)]
    public void Ordinals_are_read_from_the_pod_name(string name, int ordinal) => Assert.Equal(ordinal, StatefulSetLogic.Ordinal("db", name));

    [Fact]
    public void Ordered_ready_creates_in_order_waits_for_readiness_and_scales_down_from_the_top()
    {
        var set = StatefulSet(replicas: 3);

        Assert.Equal(new StatefulSetStep(StatefulSetAction.Create, 0), StatefulSetLogic.NextStep(set, []));
        var p0 = OrdinalPod("db-0", ready: false);
        Assert.Equal((StatefulSetAction.Wait, 0), Step(set, [p0]));
        p0 = OrdinalPod("db-0", ready: true);
        Assert.Equal((StatefulSetAction.Create, 1), Step(set, [p0]));
        var p1 = OrdinalPod("db-1", ready: true);
        var p2 = OrdinalPod("db-2", ready: true);
        Assert.Equal((StatefulSetAction.None, -1), Step(set, [p0, p1, p2]));

        // Scale down to 1: the highest ordinal goes first, and only one at a time.
        set.Spec.Replicas = 1;
        Assert.Equal((StatefulSetAction.Delete, 2), Step(set, [p0, p1, p2]));
        var terminating = OrdinalPod("db-2", ready: true);
        terminating.Metadata.DeletionTimestamp = DateTime.UtcNow;
        Assert.Equal((StatefulSetAction.Wait, 2), Step(set, [p0, p1, terminating]));
        Assert.Equal((StatefulSetAction.Delete, 1), Step(set, [p0, p1]));

        // A missing lower ordinal comes back before anything else happens.
        set.Spec.Replicas = 3;
        Assert.Equal((StatefulSetAction.Create, 1), Step(set, [p0, p2]));
    }

    [Fact]
    public void An_ordinal_pod_has_its_identity()
    {
        var pod = StatefulSetLogic.NewPod(StatefulSet(3), 2, Ref with { Kind = "StatefulSet", Name = "db" });

        Assert.Equal("db-2", pod.Metadata.Name);
        Assert.Null(pod.Metadata.GenerateName);
        Assert.Equal(("db-2", "2", "x"), (pod.Metadata.Labels[StatefulSetLogic.PodNameLabel], pod.Metadata.Labels[StatefulSetLogic.PodIndexLabel], pod.Metadata.Labels["app"]));
        Assert.Equal(("db-2", "db"), (pod.Spec.Hostname, pod.Spec.Subdomain));
    }

    private static (StatefulSetAction, int) Step(V1StatefulSet set, IReadOnlyList<V1Pod> pods)
    {
        var step = StatefulSetLogic.NextStep(set, pods);
        return (step.Action, step.Ordinal);
    }

    private static V1PodTemplateSpec Template() => new()
    {
        Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "x" } },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "i" }] },
    };

    private static V1DaemonSet DaemonSet() => new()
    {
        Metadata = new V1ObjectMeta { Name = "agent", NamespaceProperty = "ns", Uid = "ds-uid" },
        Spec = new V1DaemonSetSpec { Template = Template(), Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "x" } } },
    };

    private static V1StatefulSet StatefulSet(int replicas) => new()
    {
        Metadata = new V1ObjectMeta { Name = "db", NamespaceProperty = "ns", Uid = "sts-uid" },
        Spec = new V1StatefulSetSpec { Replicas = replicas, ServiceName = "db", Template = Template(), Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "x" } } },
    };

    private static V1Node Node(string name, Dictionary<string, string>? labels) => new() { Metadata = new V1ObjectMeta { Name = name, Labels = labels } };

    private static V1Pod DaemonPod(string name, string node, int created, bool ready = false)
    {
        var pod = DaemonSetLogic.NewPod(DaemonSet(), node, Ref);
        pod.Metadata.Name = name;
        pod.Metadata.CreationTimestamp = new DateTime(2026, 12, 4, 0, 0, created, DateTimeKind.Utc);
        pod.Status = ready ? ReadyStatus() : new V1PodStatus { Phase = "Pending" };
        return pod;
    }

    private static V1Pod OrdinalPod(string name, bool ready) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "ns" },
        Status = ready ? ReadyStatus() : new V1PodStatus { Phase = "Pending" },
    };

    private static V1PodStatus ReadyStatus() => new()
    {
        Phase = "Running",
        Conditions = [new V1PodCondition { Type = "Ready", Status = "True", LastTransitionTime = new DateTime(2026, 12, 4, 0, 0, 0, DateTimeKind.Utc) }],
    };
}
