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
        table.AddRow("ReplicaSets", Markup.Escape(string.Create(inv, $"{summary.ReplicaSets} × {summary.Replicas} replicas")));
        table.AddRow("Jobs", Markup.Escape(string.Create(inv, $"{summary.Jobs} × {summary.Completions} completions, parallelism {summary.Parallelism}")));
        if (summary.DaemonSets > 0)
        {
            table.AddRow("DaemonSets", Markup.Escape(string.Create(inv, $"{summary.DaemonSets} on {summary.Nodes} nodes: {summary.DaemonSetPodsCreated} pods created, ")) + (summary.DaemonSetExcessPods == 0 ? "[green]0[/]" : $"[red]{summary.DaemonSetExcessPods}[/]") + " second pods on a node");
        }

        if (summary.StatefulSets > 0)
        {
            table.AddRow("StatefulSets", Markup.Escape(string.Create(inv, $"{summary.StatefulSets} × {summary.StatefulSetReplicas} ordinals: {summary.StatefulSetPodsCreated} pods created, ")) + (summary.StatefulSetDuplicateCreates == 0 ? "[green]0[/]" : $"[red]{summary.StatefulSetDuplicateCreates}[/]") + " repeated creates of an ordinal");
        }

        table.AddRow("Objects at the end", Markup.Escape(string.Create(inv,
            $"{summary.Objects} on the server: {summary.ReplicaSets} ReplicaSets + {summary.Jobs} Jobs{(summary.DaemonSets > 0 ? $" + {summary.DaemonSets} DaemonSets" : "")}{(summary.StatefulSets > 0 ? $" + {summary.StatefulSets} StatefulSets" : "")} + {summary.PodsAtEnd} pods")));
        table.AddRow("Pods created", Markup.Escape(string.Create(inv,
            $"{summary.PodsCreated} (ReplicaSets {summary.ReplicaSetPodsCreated}, Jobs {summary.JobPodsCreated}{(summary.DaemonSets > 0 ? $", DaemonSets {summary.DaemonSetPodsCreated}" : "")}{(summary.StatefulSets > 0 ? $", StatefulSets {summary.StatefulSetPodsCreated}" : "")}); the specs need {summary.MinimumPods}")));
        table.AddRow("Excess pods", (summary.ExcessPods == 0 ? "[green]0[/]" : $"[red]{summary.ExcessPods}[/]")
            + Markup.Escape(string.Create(inv, $" (ReplicaSets {summary.ReplicaSetExcessPods}, Jobs {summary.JobExcessPods}{(summary.DaemonSets > 0 ? $", DaemonSets {summary.DaemonSetExcessPods}" : "")})")));
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

        console.WriteLine(Conclusion(summary));
        if (!summary.Converged)
        {
            console.MarkupLine("Run again with a longer [blue]--timeout[/] to see it through.");
        }
        else if (summary.Consistency && summary.ExcessPods == 0 && summary.Embedded)
        {
            console.MarkupLine("Run again with [blue]--no-consistency[/] to see what the same lag costs without it.");
        }
        else if (!summary.Consistency && summary.ExcessPods > 0)
        {
            console.MarkupLine("Run without [blue]--no-consistency[/] to see the ConsistencyStore defer those syncs instead.");
        }
    }

    /// <summary>
    /// The sentence that closes the summary: what actually happened — a run that timed out says so (its numbers are a
    /// snapshot), excess pods are named with their cause, and only a converged run without excess pods says every pod
    /// create was needed.
    /// </summary>
    public static string Conclusion(ScenarioSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var inv = CultureInfo.InvariantCulture;
        if (!summary.Converged)
        {
            return string.Create(inv,
                $"The run timed out after {summary.Elapsed.TotalSeconds:0.0} s before the workload converged: {summary.NotConvergedReason}. These numbers are a snapshot: {summary.PodsCreated} pods created so far for the {summary.MinimumPods} the specs need, {summary.ExcessPods} of them beyond a spec.");
        }

        var skips = summary.StaleSyncSkips.Values.Sum();
        return (summary.Consistency, summary.ExcessPods > 0) switch
        {
            (true, false) when skips > 0 => string.Create(inv,
                $"The gate deferred {skips} syncs whose caches had not yet seen the controller's own writes, so no sync counted too few pods: every pod create was needed."),
            (true, false) => "No sync found its caches behind the controller's own writes, so the gate deferred none: every pod create was needed.",
            (true, true) => string.Create(inv,
                $"{summary.ExcessPods} pods were created beyond what the specs asked for although the gate was on: the gate defers syncs only until the caches have seen this controller's own writes, not those of other clients (on a real cluster, kube-controller-manager's ReplicaSet controller manages these ReplicaSets too)."),
            (false, false) when summary.Expectations =>
                "Without the gate, the expectations held back every sync until the pod cache had seen its own creates and deletes: every pod create was needed.",
            (false, false) => "Without the gate, no sync happened to run on a pod cache older than its own creates this time: every pod create was needed.",
            (false, true) => string.Create(inv,
                $"Without the gate, {summary.ExcessPods} pods were created beyond what the specs asked for: syncs ran on pod caches older than their own creates, counted too few pods and created them again (and then deleted the surplus)."),
        };
    }
}
