using System.Globalization;
using KubeConsistency.Samples.Scenario;
using Spectre.Console;

namespace KubeConsistency.Samples.Demo;

/// <summary>Renders a <see cref="ScenarioSummary"/> as the demo's summary table.</summary>
public static class SummaryView
{
    /// <summary>Writes the summary table and a one-paragraph reading of it.</summary>
    public static void Write(IAnsiConsole console, ScenarioSummary summary, Uri server)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(summary);
        var inv = CultureInfo.InvariantCulture;
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]Summary[/]").AddColumn("").AddColumn("").HideHeaders();
        table.AddRow("Mode", Markup.Escape(
            (summary.Consistency ? "consistency gate ON" : "consistency gate OFF (no-op store)")
            + (summary.Expectations ? ", expectations ON" : ", expectations off")));
        table.AddRow("API server", Markup.Escape(summary.Embedded
            ? string.Create(inv, $"embedded ({server}), pod watch lag {summary.PodWatchLag.TotalMilliseconds:0} ms, owner watch lag {summary.OwnerWatchLag.TotalMilliseconds:0} ms")
            : server.ToString()));
        table.AddRow("Objects", Markup.Escape(string.Create(inv,
            $"{summary.Objects} = {summary.ReplicaSets} ReplicaSets × {summary.Replicas} replicas, {summary.Jobs} Jobs × {summary.Completions} completions (parallelism {summary.Parallelism}), {summary.PodsAtEnd} pods")));
        table.AddRow("Pods created", Markup.Escape(string.Create(inv,
            $"{summary.PodsCreated} (ReplicaSets {summary.ReplicaSetPodsCreated}, Jobs {summary.JobPodsCreated}); the specs need {summary.MinimumPods}")));
        table.AddRow("Excess pods", (summary.ExcessPods == 0 ? "[green]0[/]" : $"[red]{summary.ExcessPods}[/]")
            + Markup.Escape(string.Create(inv, $" (ReplicaSets {summary.ReplicaSetExcessPods}, Jobs {summary.JobExcessPods})")));
        if (summary.Jobs > 0)
        {
            table.AddRow("Jobs miscounted", summary.JobsMiscounted == 0 ? "[green]0[/]" : $"[red]{summary.JobsMiscounted}[/] (status.succeeded ≠ succeeded pods)");
        }

        if (summary.StaleSyncSkipsByController.Count == 0)
        {
            table.AddRow("Stale sync skips", summary.Consistency ? "0" : "0 (no gate)");
        }

        foreach (var (controller, resource, count) in summary.StaleSyncSkipsByController)
        {
            var slash = resource.IndexOf('/', StringComparison.Ordinal);
            table.AddRow(
                Markup.Escape($"Stale sync skips ({controller})"),
                Markup.Escape(string.Create(inv, $"{count} {{group=\"{resource[..slash]}\",resource=\"{resource[(slash + 1)..]}\"}}")));
        }

        foreach (var rv in summary.ResourceVersions)
        {
            table.AddRow(Markup.Escape($"Store RV / server RV ({rv.Resource})"), Markup.Escape(string.Create(inv,
                $"{rv.StoreResourceVersion} / {rv.ServerResourceVersion}, newest object {rv.NewestObjectResourceVersion}{(rv.CaughtUp ? ": caught up" : ": BEHIND")}")));
        }

        table.AddRow("Time to converge", summary.Converged
            ? string.Create(inv, $"[green]{summary.Elapsed.TotalSeconds:0.00} s[/]")
            : Markup.Escape(string.Create(inv, $"did not converge within {summary.Elapsed.TotalSeconds:0.0} s: {summary.NotConvergedReason}")));
        console.Write(table);

        var skips = summary.StaleSyncSkips.Values.Sum();
        if (summary.Consistency && summary.ExcessPods == 0)
        {
            console.MarkupLineInterpolated($"The gate deferred {skips} syncs whose caches had not yet seen the controller's own writes, so no sync counted too few pods: every pod create was needed.");
            if (summary.Embedded)
            {
                console.MarkupLine("Run again with [blue]--no-consistency[/] to see what the same lag costs without it.");
            }
        }
        else if (!summary.Consistency && summary.ExcessPods > 0)
        {
            console.MarkupLineInterpolated($"Without the gate, {summary.ExcessPods} pods were created beyond what the specs asked for: syncs ran on pod caches older than their own creates, counted too few pods and created them again (and then deleted the surplus).");
            console.MarkupLine("Run without [blue]--no-consistency[/] to see the ConsistencyStore defer those syncs instead.");
        }
    }
}
