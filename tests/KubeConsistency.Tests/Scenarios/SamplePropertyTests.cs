using KubeConsistency.Testing.Scenarios;
using Xunit.Abstractions;

namespace KubeConsistency.Tests.Scenarios;

/// <summary>
/// The sample controllers under generated delivery schedules (issue 10): with the staleness gate they never over-create over
/// 500 schedules each; without it the kit finds the over-creation and shrinks it to a few steps.
/// </summary>
public sealed class SamplePropertyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ReplicaSetWithTheGateNeverExceedsReplicasOver500Schedules()
    {
        await using var kit = await SampleScenarioKit.StartAsync();
        var result = ScenarioCheck.Assert(kit.ReplicaSetRunner(gate: true), SampleScenarioKit.ReplicaSetSchedules(), new ScenarioCheckOptions { Cases = 500 });
        output.WriteLine(result.ToString());
        Assert.Equal(500, result.Cases);
    }

    /// <summary>The same property with the informers listing and watching the embedded server over HTTP (deliveries release held events).</summary>
    [Fact]
    public async Task ReplicaSetWithTheGateOverHttpNeverExceedsReplicas()
    {
        await using var kit = await SampleScenarioKit.StartAsync();
        var result = ScenarioCheck.Assert(kit.ReplicaSetRunner(gate: true, overHttp: true), SampleScenarioKit.ReplicaSetSchedules(), new ScenarioCheckOptions { Cases = 100 });
        output.WriteLine(result.ToString());
        Assert.Equal(100, result.Cases);
    }

    [Fact]
    public async Task WithoutTheGateOverHttpTheKitFindsTheOverCreationToo()
    {
        await using var kit = await SampleScenarioKit.StartAsync();
        var result = ScenarioCheck.Run(kit.ReplicaSetRunner(gate: false, overHttp: true), SampleScenarioKit.ReplicaSetSchedules(), new ScenarioCheckOptions { Cases = 100, Seed = 20261203 });
        output.WriteLine(result.ToString());
        Assert.False(result.Passed, "the kit should find the over-creation without the gate");
        Assert.Contains(result.Counterexample!.Violations, v => v.Invariant == "never more live pods than spec.replicas");
        Assert.InRange(result.Counterexample.Schedule.Steps.Count, 1, 6);
    }

    [Fact]
    public async Task JobWithTheGateNeverExceedsParallelismOrCompletionsOver500Schedules()
    {
        await using var kit = await SampleScenarioKit.StartAsync();
        var result = ScenarioCheck.Assert(kit.JobRunner(gate: true), SampleScenarioKit.JobSchedules(), new ScenarioCheckOptions { Cases = 500 });
        output.WriteLine(result.ToString());
        Assert.Equal(500, result.Cases);
    }

    [Fact]
    public async Task WithoutTheGateTheKitFindsTheReplicaSetOverCreationAndShrinksItToAFewSteps()
    {
        await using var kit = await SampleScenarioKit.StartAsync();
        var result = ScenarioCheck.Run(kit.ReplicaSetRunner(gate: false), SampleScenarioKit.ReplicaSetSchedules(), new ScenarioCheckOptions { Cases = 200, Seed = 20261203 });
        output.WriteLine(result.ToString());
        Assert.False(result.Passed, "the kit should find the over-creation without the gate");
        Assert.Contains(result.Counterexample!.Violations, v => v.Invariant == "never more live pods than spec.replicas");
        Assert.InRange(result.Counterexample.Schedule.Steps.Count, 1, 6);

        // Replaying the shrunk schedule reproduces the failure.
        var replay = await kit.ReplicaSetRunner(gate: false).RunAsync(result.Counterexample.Schedule);
        Assert.Contains(replay.Violations, v => v.Invariant == "never more live pods than spec.replicas");
    }
}
