using FsCheck;
using FsCheck.Fluent;
using k8s.Models;
using KubeConsistency.Samples.Controllers;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Testing;
using KubeConsistency.Testing.Scenarios;

namespace KubeConsistency.Tests.Scenarios;

/// <summary>The kit's own guarantees: generators, shrinking, printing, and built-in invariants that really fire.</summary>
public sealed class ScenarioKitTests
{
    [Fact]
    public void ResourceVersionSequencesAreWellFormedAndStrictlyIncreasing() =>
        Prop.ForAll(ScenarioGen.ResourceVersions().ToArbitrary(), rvs =>
            rvs.All(ResourceVersion.IsWellFormed) && rvs.Zip(rvs.Skip(1)).All(p => ResourceVersion.Compare(p.First, p.Second) < 0))
        .QuietCheckThrowOnFailure();

    [Fact]
    public void SchedulesKeepTheHistoryInOrderAndNameOnlyKnownInformers()
    {
        var history = new[] { SampleScenarioKit.CreateReplicaSet(2), SampleScenarioKit.ScaleReplicaSet(3), SampleScenarioKit.ScaleReplicaSet(4) };
        var gen = ScenarioGen.Schedules(new ScheduleOptions { Informers = ["replicasets", "pods"], History = history });
        Prop.ForAll(gen.ToArbitrary(), s =>
        {
            var applied = s.Steps.OfType<ApplyStep>().Select(a => a.Operation).ToList();
            var informers = s.Steps.Select(Informer).Where(n => n is not null);
            return applied.SequenceEqual(history) && informers.All(n => n is "replicasets" or "pods");
        }).QuietCheckThrowOnFailure();
    }

    [Fact]
    public void ShrinkingOnlyOffersShorterOrSimplerSchedules()
    {
        var schedule = new ScenarioSchedule(
            [new DeliverStep("pods", 2), new RelistStep("pods", 1), new DisconnectStep("pods", RepeatLast: true), new TickStep(TimeSpan.FromMilliseconds(8))],
            UseWatchList: true);
        var candidates = ScenarioGen.Shrink(schedule).ToList();
        Assert.All(candidates, c => Assert.True(c.Steps.Count < schedule.Steps.Count || (c.Steps.Count == schedule.Steps.Count && !c.Equals(schedule))));
        Assert.Contains(candidates, c => c.Steps.Count == 2);
        Assert.Contains(candidates, c => !c.UseWatchList && c.Steps.SequenceEqual(schedule.Steps));
        Assert.Contains(candidates, c => c.Steps.Count == 4 && c.Steps[0] is DeliverStep { Count: 0 });
        Assert.Contains(candidates, c => c.Steps.Count == 4 && c.Steps[1] is RelistStep { Behind: 0 });
        Assert.Contains(candidates, c => c.Steps.Count == 4 && c.Steps[2] is DisconnectStep { RepeatLast: false });
        Assert.Contains(candidates, c => c.Steps.Count == 4 && c.Steps[3] is TickStep { Duration.TotalMilliseconds: 4 });
    }

    [Fact]
    public void SchedulesPrintAsNumberedSteps()
    {
        var text = new ScenarioSchedule([new ApplyStep(SampleScenarioKit.CreateReplicaSet(2)), new DeliverStep("replicasets")]).ToString();
        Assert.Contains("schedule of 2 step(s), informers on LIST+WATCH:", text, StringComparison.Ordinal);
        Assert.Contains("1. create replicasets/web with replicas 2", text, StringComparison.Ordinal);
        Assert.Contains("2. deliver replicasets (all pending)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void OptionsErrorsNameTheOption()
    {
        var ex = Assert.Throws<ArgumentException>(() => ScenarioGen.Schedules(new ScheduleOptions { Informers = [] }));
        Assert.Contains("ScheduleOptions.Informers", ex.Message, StringComparison.Ordinal);
        var ex2 = Assert.Throws<ArgumentOutOfRangeException>(() => ScenarioGen.Schedules(new ScheduleOptions { Informers = ["pods"], MaxTick = TimeSpan.Zero }));
        Assert.Contains("ScheduleOptions.MaxTick", ex2.Message, StringComparison.Ordinal);
    }

    /// <summary>With the no-op store (the gate off), EnsureReady says ready while the controller's writes are unobserved: the built-in check says so.</summary>
    [Fact]
    public async Task TheEnsureReadyInvariantFiresWhenTheStoreSaysReadyOverAnUnobservedWrite()
    {
        await using var kit = await SampleScenarioKit.StartAsync();
        var runner = new ScenarioRunner(new ScenarioRunnerOptions
        {
            Server = kit.Server,
            Informers = [SampleScenarioKit.Informer<V1ReplicaSet>("replicasets", ApiResourceDefinition.ReplicaSets), SampleScenarioKit.Informer<V1Pod>("pods", ApiResourceDefinition.Pods)],
            Controller = ctx =>
            {
                var rs = new ReplicaSetController(kit.ControllerOptions<V1ReplicaSet>(ctx, "replicasets", gate: false, observe: true));
                return new ScenarioController { Controller = rs.Controller, Run = rs.RunAsync };
            },
        });
        var result = await runner.RunAsync(new ScenarioSchedule([new ApplyStep(SampleScenarioKit.CreateReplicaSet(2)), new DeliverStep("replicasets")]));
        Assert.Contains(result.Violations, v => v.Invariant == "EnsureReady never ready over an unobserved write");

        // The gate on: the same schedule passes, and the caches converged.
        var gated = await kit.ReplicaSetRunner(gate: true).RunAsync(result.Schedule);
        Assert.True(gated.Passed, gated.ToString());
    }

    /// <summary>A relist served behind the newest writes, a repeated event on resume and a bookmark: the caches still converge.</summary>
    [Fact]
    public async Task FaultStepsLeaveTheCachesConvergedAndSayWhenTheyDidNothing()
    {
        await using var kit = await SampleScenarioKit.StartAsync();
        var schedule = new ScenarioSchedule(
        [
            new ApplyStep(SampleScenarioKit.CreateReplicaSet(2)),
            new DeliverStep("replicasets"),
            new RelistStep("pods", Behind: 1),
            new DisconnectStep("replicasets", RepeatLast: true),
            new BookmarkStep("pods"),
            new DeliverStep("pods", 1),
            new ApplyStep(SampleScenarioKit.DeleteFirstPod),
            new TickStep(TimeSpan.FromSeconds(1)),
        ]);
        var result = await kit.ReplicaSetRunner(gate: true).RunAsync(schedule);
        Assert.True(result.Passed, result.ToString());
        Assert.Equal(schedule.Steps.Count + 1, result.Trace.Count);
        Assert.StartsWith("end: quiet after", result.Trace[^1], StringComparison.Ordinal);
    }

    private static string? Informer(ScenarioStep step) => step switch
    {
        DeliverStep d => d.Informer,
        BookmarkStep b => b.Informer,
        DisconnectStep d => d.Informer,
        RelistStep r => r.Informer,
        _ => null,
    };
}
