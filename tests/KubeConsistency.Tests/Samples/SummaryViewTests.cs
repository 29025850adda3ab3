using KubeConsistency.Samples.Demo;
using KubeConsistency.Samples.Scenario;

namespace KubeConsistency.Tests.Samples;

/// <summary>The demo's summary table and closing sentence, rendered from a summary without running anything.</summary>
public sealed class SummaryViewTests
{
    private static readonly Uri Server = new("http://127.0.0.1:6443/");

    private static ScenarioSummary Summary(bool consistency = true, bool expectations = false, bool converged = true, long excess = 0, long skips = 12) => new()
    {
        Consistency = consistency,
        Expectations = expectations,
        Embedded = true,
        PodWatchLag = TimeSpan.FromMilliseconds(300),
        OwnerWatchLag = TimeSpan.Zero,
        ReplicaSets = 20,
        Replicas = 5,
        Jobs = 10,
        Completions = 5,
        Parallelism = 2,
        PodsAtEnd = 126,
        ReplicaSetPodsCreated = 100 + excess,
        JobPodsCreated = 50,
        ReplicaSetExcessPods = excess,
        JobExcessPods = 0,
        JobsMiscounted = 0,
        StaleSyncSkips = skips > 0 && consistency ? new Dictionary<string, long> { ["/pods"] = skips } : new Dictionary<string, long>(),
        StaleSyncSkipsByController = skips > 0 && consistency ? [("replicaset_controller", "/pods", skips)] : [],
        ResourceVersions = [],
        Converged = converged,
        NotConvergedReason = converged ? null : "3 ReplicaSets without exactly their replicas ready (or a status that does not match), 0 Jobs not complete",
        Elapsed = TimeSpan.FromSeconds(converged ? 3.02 : 120),
    };

    public static TheoryData<bool, bool, long> Modes => new()
    {
        { true, false, 0 },
        { true, false, 7 },
        { false, false, 0 },
        { false, false, 391 },
        { false, true, 0 },
    };

    [Theory]
    [MemberData(nameof(Modes))]
    public void A_run_that_timed_out_says_so_and_never_that_every_create_was_needed(bool consistency, bool expectations, long excess)
    {
        var summary = Summary(consistency, expectations, converged: false, excess: excess);

        var conclusion = SummaryView.Conclusion(summary);

        Assert.StartsWith("The run timed out after 120.0 s before the workload converged: 3 ReplicaSets without", conclusion, StringComparison.Ordinal);
        Assert.Contains($"{summary.PodsCreated} pods created so far for the 150 the specs need, {excess} of them beyond a spec", conclusion, StringComparison.Ordinal);
        Assert.DoesNotContain("every pod create was needed", conclusion, StringComparison.Ordinal);
        var output = Render(summary);
        Assert.DoesNotContain("every pod create was needed", output, StringComparison.Ordinal);
        Assert.Contains("--timeout", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_a_converged_run_without_excess_pods_says_every_create_was_needed()
    {
        Assert.Equal(
            "The gate deferred 12 syncs whose caches had not yet seen the controller's own writes, so no sync counted too few pods: every pod create was needed.",
            SummaryView.Conclusion(Summary()));
        Assert.EndsWith("every pod create was needed.", SummaryView.Conclusion(Summary(skips: 0)), StringComparison.Ordinal);
        Assert.Contains("the expectations held back every sync", SummaryView.Conclusion(Summary(consistency: false, expectations: true)), StringComparison.Ordinal);

        // Excess pods are never "needed": with the gate off they are staleness, with it on someone else's writes.
        var gateOff = SummaryView.Conclusion(Summary(consistency: false, excess: 391));
        Assert.StartsWith("Without the gate, 391 pods were created beyond what the specs asked for", gateOff, StringComparison.Ordinal);
        var gateOn = SummaryView.Conclusion(Summary(excess: 7));
        Assert.StartsWith("7 pods were created beyond what the specs asked for although the gate was on", gateOn, StringComparison.Ordinal);
        Assert.DoesNotContain("every pod create was needed", gateOff + gateOn, StringComparison.Ordinal);
    }

    [Fact]
    public void The_workload_and_the_objects_are_separate_readable_rows_and_no_line_wraps_in_a_pipe()
    {
        var lines = Render(Summary()).Split('\n');

        Assert.Contains(lines, l => l.StartsWith("│ ReplicaSets ", StringComparison.Ordinal) && l.Contains("│ 20 × 5 replicas ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("│ Jobs ", StringComparison.Ordinal) && l.Contains("│ 10 × 5 completions, parallelism 2 ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("│ Objects at the end ", StringComparison.Ordinal) && l.Contains("│ 156 on the server: 20 ReplicaSets + 10 Jobs + 126 pods ", StringComparison.Ordinal));

        // Every table row has both borders on one line, and the closing sentence (far wider than 80 columns) is one line.
        Assert.All(lines.Where(l => l.StartsWith('│')), l => Assert.EndsWith("│", l.TrimEnd(), StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("The gate deferred 12 syncs", StringComparison.Ordinal) && l.TrimEnd().EndsWith("every pod create was needed.", StringComparison.Ordinal));
    }

    private static string Render(ScenarioSummary summary)
    {
        var writer = new StringWriter();
        SummaryView.Write(ControllerDemoApp.CreatePlainConsole(writer), summary, Server);
        return writer.ToString();
    }
}
