using System.CommandLine;
using System.Globalization;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using KubeConsistency.Samples.Scenario;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace KubeConsistency.Samples.Demo;

/// <summary>
/// The <c>ControllerDemo</c> command line: runs the ReplicaSet- and Job-style controllers against an embedded API server
/// whose pod watch lags (or against a real cluster), shows progress, and prints what staleness cost — or what the
/// consistency gate saved.
/// </summary>
public static class ControllerDemoApp
{
    /// <summary>
    /// The width of <see cref="CreatePlainConsole"/>: Spectre.Console assumes 80 columns when the output is not a terminal,
    /// which wraps the summary mid-phrase in a file; a file has no width, so this is wide enough that nothing wraps.
    /// </summary>
    public const int PlainConsoleWidth = 1000;

    /// <summary>Runs the demo on the process console.</summary>
    public static Task<int> RunAsync(string[] args) => RunAsync(
        args,
        Console.IsOutputRedirected ? CreatePlainConsole(Console.Out) : AnsiConsole.Console,
        Console.Out,
        Console.Error,
        interactive: null,
        CancellationToken.None);

    /// <summary>
    /// The console the demo writes to when its output is not a terminal (a pipe, a file, CI): no colours, no live display,
    /// and <see cref="PlainConsoleWidth"/> columns so that no line wraps.
    /// </summary>
    /// <param name="writer">Where the text goes.</param>
    public static IAnsiConsole CreatePlainConsole(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = PlainConsoleWidth;
        return console;
    }

    /// <summary>Runs the demo with the given console (tests pass <see cref="CreatePlainConsole"/> over a <see cref="StringWriter"/>).</summary>
    /// <param name="args">The command line.</param>
    /// <param name="console">Where the progress and the summary go.</param>
    /// <param name="output">Where help and plain messages go.</param>
    /// <param name="error">Where parse errors go.</param>
    /// <param name="interactive">Force (or forbid) the live display; <see langword="null"/> decides from the terminal.</param>
    /// <param name="cancellationToken">Stops the run (and, with <c>--serve-metrics</c>, the serving afterwards).</param>
    /// <returns>0 when the workload converged, 1 when it did not, 2 on an error.</returns>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, TextWriter output, TextWriter error, bool? interactive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(console);
        var noConsistency = new Option<bool>("--no-consistency") { Description = "Use the no-op consistency store (the v1.36 gates off): see what staleness costs." };
        var expectations = new Option<bool>("--expectations") { Description = "Also use controller expectations, as kube-controller-manager does." };
        var replicaSets = new Option<int>("--replicasets") { Description = "ReplicaSets to create.", DefaultValueFactory = _ => 20 };
        var replicas = new Option<int>("--replicas") { Description = "Replicas per ReplicaSet.", DefaultValueFactory = _ => 5 };
        var jobs = new Option<int>("--jobs") { Description = "Jobs to create.", DefaultValueFactory = _ => 10 };
        var completions = new Option<int>("--completions") { Description = "Completions per Job.", DefaultValueFactory = _ => 5 };
        var parallelism = new Option<int?>("--parallelism") { Description = "Parallelism per Job (default: min(2, completions))." };
        var daemonSets = new Option<int>("--daemonsets") { Description = "DaemonSets to create (one pod per node).", DefaultValueFactory = _ => 0 };
        var nodes = new Option<int>("--nodes") { Description = "Nodes the embedded API server registers for the DaemonSets.", DefaultValueFactory = _ => 3 };
        var statefulSets = new Option<int>("--statefulsets") { Description = "StatefulSets to create (ordinal pods, OrderedReady).", DefaultValueFactory = _ => 0 };
        var statefulSetReplicas = new Option<int>("--statefulset-replicas") { Description = "Replicas per StatefulSet.", DefaultValueFactory = _ => 3 };
        var trackDeletes = new Option<bool>("--track-deletes") { Description = "Track pod deletes in the gate (beyond v1.36: by returned resource version, else by UID)." };
        var lagMs = new Option<int>("--lag-ms") { Description = "Delay of every pod watch event on the embedded API server, in milliseconds.", DefaultValueFactory = _ => 300 };
        var ownerLagMs = new Option<int>("--owner-lag-ms") { Description = "Delay of every ReplicaSet and Job watch event, in milliseconds.", DefaultValueFactory = _ => 0 };
        var workers = new Option<int>("--workers") { Description = "Concurrent syncs per controller.", DefaultValueFactory = _ => 5 };
        var timeout = new Option<int>("--timeout") { Description = "Give up after this many seconds.", DefaultValueFactory = _ => 120 };
        var seed = new Option<int>("--seed") { Description = "Seed of the simulated kubelet's delays.", DefaultValueFactory = _ => 42 };
        var summaryJson = new Option<FileInfo?>("--summary-json") { Description = "Write the summary as JSON to this file." };
        var kubeconfig = new Option<FileInfo?>("--kubeconfig") { Description = "Run against the cluster of this kubeconfig instead (no embedded server, kubelet or injected lag)." };
        var context = new Option<string?>("--context") { Description = "The kubeconfig context (implies a real cluster)." };
        var ns = new Option<string?>("--namespace", "-n") { Description = "The namespace of the workload (default: the context's, else 'default')." };
        var metricsPort = new Option<int?>("--metrics-port") { Description = "Serve Prometheus /metrics on 127.0.0.1:PORT while running (0 picks a port)." };
        var serveMetrics = new Option<bool>("--serve-metrics") { Description = "Keep serving /metrics after the run until Ctrl-C (on --metrics-port, else a free port)." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log what the controllers do (to stderr)." };

        var root = new RootCommand("KubeConsistency controller demo: ReplicaSet-, Job-, DaemonSet- and StatefulSet-style controllers on a lagging watch, with and without the v1.36 consistency gate.")
        {
            noConsistency, expectations, replicaSets, replicas, jobs, completions, parallelism, daemonSets, nodes, statefulSets, statefulSetReplicas, trackDeletes, lagMs, ownerLagMs, workers, timeout, seed,
            summaryJson, kubeconfig, context, ns, metricsPort, serveMetrics, verbose,
        };
        root.SetAction(async (parse, ct) =>
        {
            var settings = new DemoSettings(
                Consistency: !parse.GetValue(noConsistency),
                Expectations: parse.GetValue(expectations),
                ReplicaSets: parse.GetValue(replicaSets),
                Replicas: parse.GetValue(replicas),
                Jobs: parse.GetValue(jobs),
                Completions: parse.GetValue(completions),
                Parallelism: parse.GetValue(parallelism),
                DaemonSets: parse.GetValue(daemonSets),
                Nodes: parse.GetValue(nodes),
                StatefulSets: parse.GetValue(statefulSets),
                StatefulSetReplicas: parse.GetValue(statefulSetReplicas),
                TrackDeletes: parse.GetValue(trackDeletes),
                Lag: TimeSpan.FromMilliseconds(parse.GetValue(lagMs)),
                OwnerLag: TimeSpan.FromMilliseconds(parse.GetValue(ownerLagMs)),
                Workers: parse.GetValue(workers),
                Timeout: TimeSpan.FromSeconds(parse.GetValue(timeout)),
                Seed: parse.GetValue(seed),
                SummaryJson: parse.GetValue(summaryJson),
                Kubeconfig: parse.GetValue(kubeconfig),
                Context: parse.GetValue(context),
                Namespace: parse.GetValue(ns),
                MetricsPort: parse.GetValue(metricsPort),
                ServeMetrics: parse.GetValue(serveMetrics),
                Verbose: parse.GetValue(verbose));
            return await RunDemoAsync(settings, console, interactive, ct).ConfigureAwait(false);
        });

        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The cluster of <c>--kubeconfig</c>/<c>--context</c>, through KubernetesClient's own kubeconfig loader: without a
    /// path, the first entry of <c>$KUBECONFIG</c>, else <c>~/.kube/config</c> (as kubectl does for a single file).
    /// </summary>
    private static KubernetesClientConfiguration LoadCluster(string? path, string? context)
    {
        if (path is null && Environment.GetEnvironmentVariable("KUBECONFIG") is { } list)
        {
            path = list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        }

        return KubernetesClientConfiguration.BuildConfigFromConfigFile(path, context);
    }

    private static async Task<int> RunDemoAsync(DemoSettings settings, IAnsiConsole console, bool? interactive, CancellationToken cancellationToken)
    {
        using var loggerFactory = settings.Verbose
            ? LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddSimpleConsole(o => o.SingleLine = true).AddFilter("KubeConsistency", LogLevel.Debug))
            : null;
        var live = !settings.Verbose && (interactive ?? (console.Profile.Capabilities.Interactive && !Console.IsOutputRedirected));
        try
        {
            var cluster = settings.Kubeconfig is not null || settings.Context is not null ? LoadCluster(settings.Kubeconfig?.FullName, settings.Context) : null;
            var options = new ScenarioOptions
            {
                ReplicaSets = settings.ReplicaSets,
                Replicas = settings.Replicas,
                Jobs = settings.Jobs,
                Completions = settings.Completions,
                Parallelism = settings.Parallelism,
                DaemonSets = settings.DaemonSets,
                Nodes = settings.Nodes,
                StatefulSets = settings.StatefulSets,
                StatefulSetReplicas = settings.StatefulSetReplicas,
                TrackDeletes = settings.TrackDeletes,
                PodWatchLag = settings.Lag,
                OwnerWatchLag = settings.OwnerLag,
                Consistency = settings.Consistency,
                Expectations = settings.Expectations,
                Workers = settings.Workers,
                Timeout = settings.Timeout,
                Seed = settings.Seed,
                Cluster = cluster,
                Namespace = settings.Namespace,
                LoggerFactory = loggerFactory,
            };
            try
            {
                options.Validate();
                if (settings.MetricsPort is { } requested)
                {
                    ArgumentOutOfRangeException.ThrowIfNegative(requested, "--metrics-port");
                }
            }
            catch (ArgumentException ex)
            {
                console.MarkupLineInterpolated($"[red]Invalid option:[/] {ex.Message}");
                return 2;
            }

            await using var scenario = await ControllerScenario.StartAsync(options, cancellationToken).ConfigureAwait(false);
            var metricsPort = settings.MetricsPort ?? (settings.ServeMetrics ? 0 : null);
            await using var metrics = metricsPort is { } port ? await MetricsEndpoint.StartAsync(port, cancellationToken).ConfigureAwait(false) : null;
            WriteHeader(console, options, scenario, metrics);

            var summary = live
                ? await RunLiveAsync(console, scenario, cancellationToken).ConfigureAwait(false)
                : await RunPlainAsync(console, scenario, cancellationToken).ConfigureAwait(false);

            SummaryView.Write(console, summary, scenario.ServerAddress);
            if (settings.SummaryJson is { } path)
            {
                await File.WriteAllTextAsync(path.FullName, summary.ToJson() + "\n", cancellationToken).ConfigureAwait(false);
                console.MarkupLineInterpolated($"Summary written to [blue]{path.FullName}[/].");
            }

            if (settings.ServeMetrics && metrics is not null)
            {
                // The scenario stays up too: its meters are what the endpoint exports, and they go when it is disposed.
                console.MarkupLineInterpolated($"Serving metrics at [blue]{metrics.MetricsUri}[/] until Ctrl-C.");
                await WhenCancelledAsync(cancellationToken).ConfigureAwait(false);
            }

            return summary.Converged ? 0 : 1;
        }
        catch (Exception ex) when (ex is KubeConsistency.Client.KubernetesClientException or k8s.Exceptions.KubernetesClientException or KubeConfigException
            or HttpOperationException or HttpRequestException or NotSupportedException or IOException or UnauthorizedAccessException)
        {
            console.MarkupLineInterpolated($"[red]Error:[/] {ex.Message}");
            return 2;
        }
    }

    /// <summary>Completes (without throwing) when <paramref name="cancellationToken"/> is cancelled: Ctrl-C, through System.CommandLine.</summary>
    private static async Task WhenCancelledAsync(CancellationToken cancellationToken)
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = cancellationToken.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), cancelled);
        await cancelled.Task.ConfigureAwait(false);
    }

    private static void WriteHeader(IAnsiConsole console, ScenarioOptions options, ControllerScenario scenario, MetricsEndpoint? metrics)
    {
        console.MarkupLine("[bold]KubeConsistency controller demo[/]");
        if (scenario.Server is not null)
        {
            console.MarkupLineInterpolated($"Embedded API server at [blue]{scenario.ServerAddress}[/]; pod watch events held back [yellow]{options.PodWatchLag.TotalMilliseconds:0} ms[/]{(options.OwnerWatchLag > TimeSpan.Zero ? $", ReplicaSet/Job events {options.OwnerWatchLag.TotalMilliseconds:0} ms" : "")}; simulated kubelet.");
        }
        else
        {
            console.MarkupLineInterpolated($"Cluster at [blue]{scenario.ServerAddress}[/], namespace [blue]{scenario.Namespace}[/] (objects labelled {ControllerScenario.RunLabel}={scenario.RunId}; deleted at the end).");
            console.MarkupLine("[yellow]Note:[/] kube-controller-manager's own ReplicaSet controller also manages these ReplicaSets, so their pod counts are shared; Jobs set spec.managedBy (Kubernetes ≥ 1.32) and are left to this demo.");
        }

        console.MarkupLine(options.Consistency
            ? "Consistency gate: [green]on[/] (ConsistencyStore over the pod, ReplicaSet and Job informer stores)" + (options.Expectations ? "; expectations on." : "; expectations off.")
            : "Consistency gate: [red]off[/] (no-op store)" + (options.Expectations ? "; expectations on." : "; expectations off."));
        console.MarkupLineInterpolated($"Workload: {options.ReplicaSets} ReplicaSets × {options.Replicas} replicas, {options.Jobs} Jobs × {options.Completions} completions (parallelism {options.EffectiveParallelism}).");
        if (metrics is not null)
        {
            console.MarkupLineInterpolated($"Metrics: [blue]{metrics.MetricsUri}[/]");
        }

        console.WriteLine();
    }

    private static async Task<ScenarioSummary> RunLiveAsync(IAnsiConsole console, ControllerScenario scenario, CancellationToken cancellationToken)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("Progress").AddColumn(new TableColumn("").RightAligned());
        for (var i = 0; i < 6; i++)
        {
            table.AddRow("", "");
        }

        ScenarioSummary? summary = null;
        await console.Live(table).AutoClear(false).StartAsync(async ctx =>
        {
            var progress = new SynchronousProgress<ScenarioProgress>(p =>
            {
                Fill(table, p);
                ctx.Refresh();
            });
            summary = await scenario.RunToConvergenceAsync(progress, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return summary!;
    }

    private static void Fill(Table table, ScenarioProgress p)
    {
        table.UpdateCell(0, 0, "Elapsed").UpdateCell(0, 1, p.Elapsed.TotalSeconds.ToString("0.0 s", CultureInfo.InvariantCulture));
        table.UpdateCell(1, 0, "ReplicaSets ready").UpdateCell(1, 1, Bar(p.ReplicaSetsReady, p.ReplicaSets));
        table.UpdateCell(2, 0, "Jobs complete").UpdateCell(2, 1, Bar(p.JobsComplete, p.Jobs));
        var over = p.PodsCreated - p.MinimumPods;
        table.UpdateCell(3, 0, "Pods created (minimum)").UpdateCell(3, 1, $"{p.PodsCreated} ({p.MinimumPods}){(over > 0 ? $" [red]+{over}[/]" : "")}");
        table.UpdateCell(4, 0, "Stale syncs skipped").UpdateCell(4, 1, p.StaleSyncSkips.ToString(CultureInfo.InvariantCulture));
        table.UpdateCell(5, 0, "Queued keys (replicaset / job)").UpdateCell(5, 1, $"{p.ReplicaSetQueueDepth} / {p.JobQueueDepth}");
    }

    private static string Bar(int done, int total)
    {
        const int Width = 20;
        var filled = total == 0 ? Width : (int)Math.Round((double)done / total * Width);
        return $"[green]{new string('█', filled)}[/][grey]{new string('░', Width - filled)}[/] {done}/{total}";
    }

    private static async Task<ScenarioSummary> RunPlainAsync(IAnsiConsole console, ControllerScenario scenario, CancellationToken cancellationToken)
    {
        // Not a terminal (CI, a pipe): one line every two seconds instead of a live table.
        TimeSpan? last = null;
        var progress = new SynchronousProgress<ScenarioProgress>(p =>
        {
            if (last is { } previous && p.Elapsed - previous < TimeSpan.FromSeconds(2))
            {
                return;
            }

            last = p.Elapsed;
            console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"[{p.Elapsed.TotalSeconds,5:0.0}s] ReplicaSets ready {p.ReplicaSetsReady}/{p.ReplicaSets}, Jobs complete {p.JobsComplete}/{p.Jobs}, pods created {p.PodsCreated} (minimum {p.MinimumPods}), stale syncs skipped {p.StaleSyncSkips}"));
        });
        return await scenario.RunToConvergenceAsync(progress, cancellationToken).ConfigureAwait(false);
    }

    private sealed record DemoSettings(
        bool Consistency,
        bool Expectations,
        int ReplicaSets,
        int Replicas,
        int Jobs,
        int Completions,
        int? Parallelism,
        int DaemonSets,
        int Nodes,
        int StatefulSets,
        int StatefulSetReplicas,
        bool TrackDeletes,
        TimeSpan Lag,
        TimeSpan OwnerLag,
        int Workers,
        TimeSpan Timeout,
        int Seed,
        FileInfo? SummaryJson,
        FileInfo? Kubeconfig,
        string? Context,
        string? Namespace,
        int? MetricsPort,
        bool ServeMetrics,
        bool Verbose);

    /// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread (<see cref="Progress{T}"/> posts to the thread pool).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
