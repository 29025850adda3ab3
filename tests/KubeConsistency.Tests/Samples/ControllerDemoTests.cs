using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Samples.Demo;
using KubeConsistency.Samples.Kubelet;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.Samples;

/// <summary>The ControllerDemo entry point, run in-process with a small workload (what <c>dotnet run --project samples/ControllerDemo</c> does).</summary>
public sealed partial class ControllerDemoTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("controller-demo-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_demo_converges_with_no_excess_pods_and_writes_the_summary_json()
    {
        var json = Path.Combine(_dir, "summary.json");
        var (exit, output) = await RunDemoAsync("--replicasets", "4", "--replicas", "2", "--jobs", "2", "--completions", "2", "--lag-ms", "200", "--metrics-port", "0", "--summary-json", json);

        Assert.True(exit == 0, output);
        Assert.Contains("Summary", output, StringComparison.Ordinal);
        Assert.Contains("Metrics: http://127.0.0.1:", output, StringComparison.Ordinal);

        // The workload and the objects each get a row that reads as a phrase.
        Assert.Matches(Row("ReplicaSets", "4 × 2 replicas"), output);
        Assert.Matches(Row("Jobs", "2 × 2 completions, parallelism 2"), output);
        Assert.Matches(ObjectsRow(), output);

        // Written to a pipe, the closing sentence (longer than 80 columns) stays on one line, and says what happened.
        var closing = Assert.Single(output.Split('\n'), l => l.Contains("every pod create was needed", StringComparison.Ordinal));
        Assert.StartsWith("The gate deferred ", closing, StringComparison.Ordinal);
        Assert.True(closing.Length > 80, closing);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var root = doc.RootElement;
        Assert.Equal(
            ["consistency", "replicaSets", "jobs", "podsCreated", "excessPods", "staleSyncSkips", "converged", "seconds"],
            root.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.True(root.GetProperty("consistency").GetBoolean());
        Assert.Equal(4, root.GetProperty("replicaSets").GetInt32());
        Assert.Equal(2, root.GetProperty("jobs").GetInt32());
        Assert.Equal(4 * 2 + 2 * 2, root.GetProperty("podsCreated").GetInt32());
        Assert.Equal(0, root.GetProperty("excessPods").GetInt32());
        Assert.True(root.GetProperty("converged").GetBoolean());
        var seconds = root.GetProperty("seconds").GetDouble();
        Assert.InRange(seconds, 0.01, Guard.TotalSeconds);
        var skips = root.GetProperty("staleSyncSkips");
        Assert.Equal(JsonValueKind.Object, skips.ValueKind);
        Assert.All(skips.EnumerateObject(), p => Assert.Contains(p.Name, (string[])["/pods", "apps/replicasets", "batch/jobs"]));
        Assert.True(skips.GetProperty("/pods").GetInt64() > 0, output);
    }

    [Fact]
    public async Task With_no_consistency_the_json_says_so_and_counts_no_skips()
    {
        var json = Path.Combine(_dir, "summary.json");
        var (exit, output) = await RunDemoAsync("--no-consistency", "--replicasets", "3", "--replicas", "2", "--jobs", "0", "--lag-ms", "800", "--summary-json", json);

        Assert.True(exit == 0, output);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        Assert.False(doc.RootElement.GetProperty("consistency").GetBoolean());
        Assert.Empty(doc.RootElement.GetProperty("staleSyncSkips").EnumerateObject());
        Assert.True(doc.RootElement.GetProperty("excessPods").GetInt32() > 0, output);
        Assert.Contains("--no-consistency", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_run_that_times_out_says_so_and_never_that_every_create_was_needed()
    {
        // Pod events held back 5 s: no ReplicaSet can be ready within the 1 s timeout.
        var json = Path.Combine(_dir, "summary.json");
        var (exit, output) = await RunDemoAsync("--replicasets", "2", "--replicas", "2", "--jobs", "1", "--completions", "2", "--lag-ms", "5000", "--timeout", "1", "--summary-json", json);

        Assert.True(exit == 1, output);
        Assert.Contains("The run timed out after ", output, StringComparison.Ordinal);
        Assert.Contains("did not converge within", output, StringComparison.Ordinal);
        Assert.Contains("--timeout", output, StringComparison.Ordinal);
        Assert.DoesNotContain("every pod create was needed", output, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        Assert.False(doc.RootElement.GetProperty("converged").GetBoolean());
    }

    [Fact]
    public async Task Against_a_cluster_from_a_kubeconfig_it_creates_the_workload_there_and_cleans_it_up()
    {
        // The "real cluster" path: no embedded server of the demo's own, no injected lag. The test plays the cluster: an
        // API server with a kubelet of its own, and a namespace that exists (the server enforces NamespaceLifecycle).
        await using var server = await EmbeddedApiServer.StartAsync();
        server.Objects.Create(ApiResourceDefinition.Namespaces, new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "team-a" } });
        var kubeconfig = server.WriteKubeconfig(Path.Combine(_dir, "kubeconfig"), "team-a");
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        var pods = client.CreateInformer<V1Pod>(new KubernetesResourceOptions { Namespace = "team-a" });
        using var stop = new CancellationTokenSource();
        var kubelet = new SimulatedKubelet(new SimulatedKubeletOptions { Server = server, PodInformer = pods });
        kubelet.Start(stop.Token);
        var informerRun = pods.RunAsync(stop.Token);
        var json = Path.Combine(_dir, "summary.json");

        var (exit, output) = await RunDemoAsync("--kubeconfig", kubeconfig, "--replicasets", "2", "--replicas", "2", "--jobs", "1", "--completions", "2", "--summary-json", json);

        Assert.True(exit == 0, output);
        Assert.Contains("namespace team-a", output, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        Assert.Equal(0, doc.RootElement.GetProperty("excessPods").GetInt32());
        Assert.Equal(6, doc.RootElement.GetProperty("podsCreated").GetInt32());

        // Cleaned up: the ReplicaSets and Jobs are gone and the garbage collector took their pods.
        Assert.Empty(server.Objects.List(ApiResourceDefinition.ReplicaSets, "team-a").Items);
        Assert.Empty(server.Objects.List(ApiResourceDefinition.Jobs, "team-a").Items);
        Assert.Empty(server.Objects.List(ApiResourceDefinition.Pods, "team-a").Items);

        await stop.CancelAsync();
        await informerRun.WaitAsync(Guard);
        await kubelet.StoppedAsync().WaitAsync(Guard);
    }

    [Fact]
    public async Task A_namespace_of_its_own_is_created_on_the_embedded_server()
    {
        var json = Path.Combine(_dir, "summary.json");
        var (exit, output) = await RunDemoAsync("--namespace", "demo-ns", "--replicasets", "1", "--replicas", "1", "--jobs", "1", "--completions", "1", "--summary-json", json);

        Assert.True(exit == 0, output);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        Assert.Equal(2, doc.RootElement.GetProperty("podsCreated").GetInt32());
    }

    [Fact]
    public async Task Invalid_options_fail_with_a_non_zero_exit_code()
    {
        var (exit, output) = await RunDemoAsync("--replicas", "-1");

        Assert.NotEqual(0, exit);
        Assert.Contains("Invalid option", output, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output)> RunDemoAsync(params string[] args)
    {
        // The console the demo uses when its output is redirected, as in a pipe or CI.
        var writer = new StringWriter();
        var exit = await ControllerDemoApp.RunAsync(args, ControllerDemoApp.CreatePlainConsole(writer), writer, writer, interactive: false, CancellationToken.None).WaitAsync(Guard);
        return (exit, writer.ToString());
    }

    private static Regex Row(string label, string value) => new($@"│ {Regex.Escape(label)} +│ {Regex.Escape(value)} +│");

    [GeneratedRegex(@"│ Objects at the end +│ \d+ on the server: 4 ReplicaSets \+ 2 Jobs \+ \d+ pods +│")]
    private static partial Regex ObjectsRow();
}
