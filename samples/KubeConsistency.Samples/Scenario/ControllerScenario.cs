using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Informers;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Metrics;
using KubeConsistency.Samples.Controllers;
using KubeConsistency.Samples.Kubelet;
using KubeConsistency.Samples.Models;
using KubeConsistency.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Samples.Scenario;

/// <summary>
/// The scenario shared by the demo, the tests and the benchmark: an API server (embedded, with a simulated kubelet and a
/// lagging pod watch — or a real cluster), shared informers, the <see cref="ReplicaSetController"/> and the
/// <see cref="JobController"/> with or without the consistency gate, a workload of ReplicaSets and Jobs, and a summary of
/// what the controllers did until everything converged. Everything talks to the server through one KubernetesClient
/// <see cref="Kubernetes"/> client with a <see cref="ConsistencyRecordingHandler"/>: informers and resource clients from
/// <c>KubeConsistency.KubernetesClient</c>, the controllers' status writes through <see cref="IKubernetes"/>.
/// </summary>
/// <remarks>
/// Why the lag makes the controllers over-create without the gate: the first sync of a ReplicaSet creates its pods and
/// then writes <c>status.observedGeneration</c> (a Job's first sync writes <c>status.startTime</c>). That status write
/// comes back through the owner's (prompt) watch and enqueues the owner again at once, while the pods' watch events are
/// still held back by the server — so the second sync counts zero pods and creates them all again. With the gate, the
/// second sync sees that the pod store's resource version is older than the creates' and is deferred instead.
/// </remarks>
public sealed class ControllerScenario : IAsyncDisposable
{
    /// <summary>The label that selects one run's objects (so the informers ignore anything else in the namespace).</summary>
    public const string RunLabel = "samples.kubeconsistency.io/run";

    /// <summary>The informer name: the <c>name</c> label of the <c>informer_*</c> metrics.</summary>
    public const string InformerName = "controller-demo";

    private const string FieldManager = "kubeconsistency-samples";
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MinCheckInterval = TimeSpan.FromMilliseconds(50);

    private readonly ScenarioOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TestMeterFactory _meters = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly string _runId;
    private readonly List<Task> _runs = [];
    private readonly Lock _signalLock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Kubernetes? _kubernetes;
    private SharedInformerFactory? _factory;
    private SimulatedKubelet? _kubelet;
    private IResourceClient<V1ReplicaSet> _rsClient = null!;
    private IResourceClient<V1Job> _jobClient = null!;
    private IResourceClient<V1Pod> _podClient = null!;
    private ISharedIndexInformer<V1Pod> _podInformer = null!;
    private ISharedIndexInformer<V1ReplicaSet> _rsInformer = null!;
    private ISharedIndexInformer<V1Job> _jobInformer = null!;
    private IResourceClient<V1DaemonSet> _dsClient = null!;
    private IResourceClient<V1StatefulSet> _stsClient = null!;
    private ISharedIndexInformer<V1Node>? _nodeInformer;
    private ISharedIndexInformer<V1DaemonSet>? _dsInformer;
    private ISharedIndexInformer<V1StatefulSet>? _stsInformer;
    private long _startedAt;
    private bool _workloadCreated;
    private int _disposed;

    private ControllerScenario(ScenarioOptions options)
    {
        _options = options;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory?.CreateLogger<ControllerScenario>() ?? (ILogger)NullLogger.Instance;
        _runId = Guid.NewGuid().ToString("N")[..8];
        Skips = new StaleSkipCounter(_meters);
    }

    /// <summary>The options.</summary>
    public ScenarioOptions Options => _options;

    /// <summary>The embedded API server, or <see langword="null"/> against a real cluster.</summary>
    public EmbeddedApiServer? Server { get; private set; }

    /// <summary>The API server URL.</summary>
    public Uri ServerAddress => _kubernetes!.BaseUri;

    /// <summary>The namespace of the workload.</summary>
    public string Namespace { get; private set; } = "default";

    /// <summary>The skip counter, read through a <see cref="System.Diagnostics.Metrics.MeterListener"/>.</summary>
    public StaleSkipCounter Skips { get; }

    /// <summary>The meter factory every component of this run reports to.</summary>
    public TestMeterFactory MeterFactory => _meters;

    /// <summary>The ReplicaSet controller.</summary>
    public ReplicaSetController ReplicaSetController { get; private set; } = null!;

    /// <summary>The Job controller.</summary>
    public JobController JobController { get; private set; } = null!;

    /// <summary>The DaemonSet controller, when the workload has DaemonSets.</summary>
    public DaemonSetController? DaemonSetController { get; private set; }

    /// <summary>The StatefulSet controller, when the workload has StatefulSets.</summary>
    public StatefulSetController? StatefulSetController { get; private set; }

    /// <summary>The pods client the controllers write through (it counts their creates).</summary>
    public CountingPodClient PodWrites { get; private set; } = null!;

    /// <summary>The shared pod informer.</summary>
    public ISharedIndexInformer<V1Pod> PodInformer => _podInformer;

    /// <summary>The value of <see cref="RunLabel"/> on this run's objects.</summary>
    public string RunId => _runId;

    /// <summary>Starts the API server (unless a cluster is given), the informers, the controllers and the kubelet.</summary>
    public static async Task<ControllerScenario> StartAsync(ScenarioOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var scenario = new ControllerScenario(options);
        try
        {
            await scenario.InitializeAsync(cancellationToken).ConfigureAwait(false);
            return scenario;
        }
        catch
        {
            await scenario.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts a scenario, runs it to convergence (or the timeout) and stops it.</summary>
    public static async Task<ScenarioSummary> RunAsync(ScenarioOptions options, IProgress<ScenarioProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        await using var scenario = await StartAsync(options, cancellationToken).ConfigureAwait(false);
        return await scenario.RunToConvergenceAsync(progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates the workload, waits until every ReplicaSet has exactly its replicas ready with a matching status and every Job
    /// is complete — confirmed by a fresh LIST from the server, with every cache caught up and both queues empty — or until
    /// the timeout, and summarizes the run.
    /// </summary>
    public async Task<ScenarioSummary> RunToConvergenceAsync(IProgress<ScenarioProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (_workloadCreated)
        {
            throw new InvalidOperationException("The workload was already created; a scenario runs once.");
        }

        _workloadCreated = true;
        _startedAt = _time.GetTimestamp();
        await CreateWorkloadAsync(cancellationToken).ConfigureAwait(false);

        ServerView? view = null;
        var converged = false;
        while (true)
        {
            Task changed;
            lock (_signalLock)
            {
                changed = _changed.Task;
            }

            var snapshot = Snapshot();
            progress?.Report(snapshot);
            if (snapshot.ReplicaSetsReady == _options.ReplicaSets && snapshot.JobsComplete == _options.Jobs && snapshot.ReplicaSetQueueDepth == 0 && snapshot.JobQueueDepth == 0 && OtherOwnersReadyInCache())
            {
                view = await ReadServerAsync(cancellationToken).ConfigureAwait(false);
                if (view.Problem is null)
                {
                    converged = true;
                    break;
                }
            }

            var remaining = _options.Timeout - _time.GetElapsedTime(_startedAt);
            if (remaining <= TimeSpan.Zero)
            {
                break;
            }

            using var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(remaining < ProgressInterval ? remaining : ProgressInterval, _time, tick.Token);
            await Task.WhenAny(changed, delay).ConfigureAwait(false);
            await tick.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();

            // Events come in bursts: look at most every MinCheckInterval, so checking never competes with the controllers.
            if (!delay.IsCompleted && _time.GetElapsedTime(_startedAt) < _options.Timeout)
            {
                await Task.Delay(MinCheckInterval, _time, cancellationToken).ConfigureAwait(false);
            }
        }

        var elapsed = _time.GetElapsedTime(_startedAt);
        if (!converged)
        {
            view = await ReadServerAsync(cancellationToken).ConfigureAwait(false);
        }

        var summary = Summarize(view!, converged, elapsed);
        progress?.Report(Snapshot());
        Log.ScenarioFinished(_logger, summary);
        return summary;
    }

    /// <summary>Whether every DaemonSet and StatefulSet looks done in the caches (and their queues are empty).</summary>
    private bool OtherOwnersReadyInCache()
    {
        var nodes = NodeCount;
        var dsReady = (_dsInformer?.Indexer.List() ?? []).Count(ds => ds.Status is { } s && s.DesiredNumberScheduled == nodes && s.NumberReady == nodes && s.CurrentNumberScheduled == nodes && s.ObservedGeneration == ds.Metadata?.Generation);
        var stsReady = (_stsInformer?.Indexer.List() ?? []).Count(set => set.Status is { } s && s.Replicas == (set.Spec?.Replicas ?? 1) && s.ReadyReplicas == s.Replicas && s.ObservedGeneration == set.Metadata?.Generation);
        return dsReady == _options.DaemonSets && stsReady == _options.StatefulSets
            && (DaemonSetController?.Controller.Queue.Len ?? 0) == 0 && (StatefulSetController?.Controller.Queue.Len ?? 0) == 0;
    }

    /// <summary>The progress as the caches see it now.</summary>
    public ScenarioProgress Snapshot()
    {
        var rsReady = 0;
        foreach (var rs in _rsInformer.Indexer.List())
        {
            var want = rs.Spec?.Replicas ?? 1;
            if (rs.Status is { } s && s.Replicas == want && s.ReadyReplicas == want && s.ObservedGeneration == rs.Metadata?.Generation)
            {
                rsReady++;
            }
        }

        var jobsComplete = _jobInformer.Indexer.List().Count(static j => JobLogic.FinishedCondition(j) == "Complete");
        return new ScenarioProgress(
            _startedAt == 0 ? TimeSpan.Zero : _time.GetElapsedTime(_startedAt),
            rsReady,
            _options.ReplicaSets,
            jobsComplete,
            _options.Jobs,
            PodWrites.Creates,
            ((long)_options.ReplicaSets * _options.Replicas) + ((long)_options.Jobs * _options.Completions) + ((long)_options.DaemonSets * NodeCount) + ((long)_options.StatefulSets * _options.StatefulSetReplicas),
            Skips.Total,
            ReplicaSetController.Controller.Queue.Len,
            JobController.Controller.Queue.Len);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Stop the controllers before cleaning up: a sync still running could otherwise create a pod for an owner the
        // clean-up has just deleted, and that pod would outlive the run.
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_runs).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        if (Server is null && _workloadCreated)
        {
            await CleanUpAsync().ConfigureAwait(false);
        }

        if (_kubelet is not null)
        {
            await _kubelet.StoppedAsync().ConfigureAwait(false);
        }

        if (_factory is not null)
        {
            await _factory.DisposeAsync().ConfigureAwait(false);
        }

        _kubernetes?.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync().ConfigureAwait(false);
        }

        Skips.Dispose();
        _meters.Dispose();
        _stop.Dispose();
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        KubernetesClientConfiguration configuration;
        if (_options.Cluster is { } cluster)
        {
            configuration = cluster;
            Namespace = _options.Namespace ?? cluster.Namespace ?? "default";
        }
        else
        {
            Server = await EmbeddedApiServer.StartAsync(new EmbeddedApiServerOptions { TimeProvider = _time, AdditionalResources = ApiResourceDefinition.Workloads }, cancellationToken).ConfigureAwait(false);
            if (_options.PodWatchLag > TimeSpan.Zero)
            {
                Server.Faults.SetWatchDelay("", "pods", _options.PodWatchLag);
            }

            if (_options.OwnerWatchLag > TimeSpan.Zero)
            {
                Server.Faults.SetWatchDelay("apps", "replicasets", _options.OwnerWatchLag);
                Server.Faults.SetWatchDelay("batch", "jobs", _options.OwnerWatchLag);
            }

            // What the kubeconfig that Server.WriteKubeconfig writes says, without the file: the address and the placeholder token.
            configuration = new KubernetesClientConfiguration { Host = Server.BaseAddress.GetLeftPart(UriPartial.Authority), AccessToken = EmbeddedApiServer.KubeconfigToken };
            Namespace = _options.Namespace ?? "default";
        }

        // The recording handler records the writes made through this client inside a WriteScope (the controllers' status writes).
        _kubernetes = new Kubernetes(configuration, new ConsistencyRecordingHandler(_options.LoggerFactory));
        if (Server is not null)
        {
            await EnsureNamespaceAsync(cancellationToken).ConfigureAwait(false);
        }

        var resource = new KubernetesResourceOptions { Namespace = Namespace, LabelSelector = RunLabel + "=" + _runId, FieldManager = FieldManager };
        _podClient = _kubernetes.Resource<V1Pod>(resource);
        _rsClient = _kubernetes.Resource<V1ReplicaSet>(resource);
        _jobClient = _kubernetes.Resource<V1Job>(resource);
        _dsClient = _kubernetes.Resource<V1DaemonSet>(resource);
        _stsClient = _kubernetes.Resource<V1StatefulSet>(resource);

        // Nodes are cluster-scoped; on the embedded server this run registers its own (labelled), on a cluster it uses them all.
        var nodeResource = new KubernetesResourceOptions { LabelSelector = Server is null ? null : RunLabel + "=" + _runId };

        _factory = new SharedInformerFactory(new SharedInformerFactoryOptions
        {
            InformerName = InformerName,
            TimeProvider = _time,
            LoggerFactory = _options.LoggerFactory,
            MeterFactory = _meters,
        });

        // AtomicFifo: the store tracks the resource version it applied, which is what the consistency store compares.
        _podInformer = _factory.GetOrAdd<V1Pod>(_kubernetes, resource, static o => o with { AtomicFifo = true });
        _rsInformer = _factory.GetOrAdd<V1ReplicaSet>(_kubernetes, resource, static o => o with { AtomicFifo = true });
        _jobInformer = _factory.GetOrAdd<V1Job>(_kubernetes, resource, static o => o with { AtomicFifo = true });
        // Only what the workload uses is watched (a cluster need not serve what the run does not create).
        if (_options.DaemonSets > 0)
        {
            _dsInformer = _factory.GetOrAdd<V1DaemonSet>(_kubernetes, resource, static o => o with { AtomicFifo = true });
            _nodeInformer = _factory.GetOrAdd<V1Node>(_kubernetes, nodeResource, static o => o with { AtomicFifo = true });
            if (Server is not null)
            {
                CreateNodes();
            }
        }

        if (_options.StatefulSets > 0)
        {
            _stsInformer = _factory.GetOrAdd<V1StatefulSet>(_kubernetes, resource, static o => o with { AtomicFifo = true });
        }

        PodWrites = new CountingPodClient(_podClient);
        ReplicaSetController = new ReplicaSetController(ControllerOptions(_rsInformer));
        JobController = new JobController(ControllerOptions(_jobInformer));
        DaemonSetController = _dsInformer is not null ? new DaemonSetController(ControllerOptions(_dsInformer), _nodeInformer!) : null;
        StatefulSetController = _stsInformer is not null ? new StatefulSetController(ControllerOptions(_stsInformer)) : null;

        if (Server is not null)
        {
            _kubelet = new SimulatedKubelet(new SimulatedKubeletOptions
            {
                Server = Server,
                PodInformer = _podInformer,
                StartDelay = _options.PodStartDelay,
                RunDuration = _options.PodRunDuration,
                Seed = _options.Seed,
                TimeProvider = _time,
                LoggerFactory = _options.LoggerFactory,
            });
            _kubelet.Start(_stop.Token);
        }

        // Wake the convergence loop on any change.
        _podInformer.AddEventHandler(new ResourceEventHandler<V1Pod> { OnAdd = (_, _) => Signal(), OnUpdate = (_, _) => Signal(), OnDelete = _ => Signal() });
        _rsInformer.AddEventHandler(new ResourceEventHandler<V1ReplicaSet> { OnAdd = (_, _) => Signal(), OnUpdate = (_, _) => Signal(), OnDelete = _ => Signal() });
        _jobInformer.AddEventHandler(new ResourceEventHandler<V1Job> { OnAdd = (_, _) => Signal(), OnUpdate = (_, _) => Signal(), OnDelete = _ => Signal() });
        _dsInformer?.AddEventHandler(new ResourceEventHandler<V1DaemonSet> { OnAdd = (_, _) => Signal(), OnUpdate = (_, _) => Signal(), OnDelete = _ => Signal() });
        _stsInformer?.AddEventHandler(new ResourceEventHandler<V1StatefulSet> { OnAdd = (_, _) => Signal(), OnUpdate = (_, _) => Signal(), OnDelete = _ => Signal() });

        _factory.Start();
        await _factory.WaitForCacheSyncAsync(cancellationToken).ConfigureAwait(false);
        _runs.Add(ReplicaSetController.RunAsync(_stop.Token));
        _runs.Add(JobController.RunAsync(_stop.Token));
        if (DaemonSetController is not null)
        {
            _runs.Add(DaemonSetController.RunAsync(_stop.Token));
        }

        if (StatefulSetController is not null)
        {
            _runs.Add(StatefulSetController.RunAsync(_stop.Token));
        }
    }

    private int NodeCount => _nodeInformer?.Indexer.Count ?? 0;

    /// <summary>The embedded server's nodes: what kubelets would register (Ready, labelled with the run).</summary>
    private void CreateNodes()
    {
        for (var i = 0; i < _options.Nodes; i++)
        {
            Server!.Objects.Create(ApiResourceDefinition.Nodes, new System.Text.Json.Nodes.JsonObject
            {
                ["metadata"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["name"] = string.Create(CultureInfo.InvariantCulture, $"{_options.NamePrefix}-node-{i:000}"),
                    ["labels"] = new System.Text.Json.Nodes.JsonObject { [RunLabel] = _runId, ["kubernetes.io/os"] = "linux" },
                },
                ["status"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["conditions"] = new System.Text.Json.Nodes.JsonArray { new System.Text.Json.Nodes.JsonObject { ["type"] = "Ready", ["status"] = "True" } },
                },
            });
        }
    }

    /// <summary>Adds a node to the embedded server (a DaemonSet then runs a pod on it).</summary>
    public void AddNode(string name)
    {
        _ = Server ?? throw new InvalidOperationException("Nodes can be added only to the embedded API server.");
        Server.Objects.Create(ApiResourceDefinition.Nodes, new System.Text.Json.Nodes.JsonObject
        {
            ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = name, ["labels"] = new System.Text.Json.Nodes.JsonObject { [RunLabel] = _runId } },
        });
    }

    /// <summary>Removes a node from the embedded server (its daemon pods are then deleted by the DaemonSet controller).</summary>
    public void RemoveNode(string name)
    {
        _ = Server ?? throw new InvalidOperationException("Nodes can be removed only from the embedded API server.");
        Server.Objects.Delete(ApiResourceDefinition.Nodes, null, name);
    }

    /// <summary>
    /// The embedded server enforces NamespaceLifecycle, as a real cluster does: the workload's namespace must exist. (On a
    /// real cluster the demo does not create namespaces.)
    /// </summary>
    private async Task EnsureNamespaceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _kubernetes!.CoreV1.CreateNamespaceAsync(new V1Namespace { ApiVersion = V1Namespace.KubeApiVersion, Kind = V1Namespace.KubeKind, Metadata = new V1ObjectMeta { Name = Namespace } }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Conflict)
        {
            // It exists (e.g. default).
        }
    }

    private void Signal()
    {
        TaskCompletionSource old;
        lock (_signalLock)
        {
            old = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        old.TrySetResult();
    }

    private async Task CreateWorkloadAsync(CancellationToken cancellationToken)
    {
        var onCluster = Server is null;
        var prefix = onCluster ? $"{_options.NamePrefix}-{_runId}" : _options.NamePrefix;
        var parallelism = _options.EffectiveParallelism;
        var owners = Enumerable.Range(0, _options.ReplicaSets).Select(i => (Kind: "rs", Index: i))
            .Concat(Enumerable.Range(0, _options.Jobs).Select(i => (Kind: "job", Index: i)))
            .Concat(Enumerable.Range(0, _options.DaemonSets).Select(i => (Kind: "ds", Index: i)))
            .Concat(Enumerable.Range(0, _options.StatefulSets).Select(i => (Kind: "sts", Index: i)));
        await Parallel.ForEachAsync(owners, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (owner, ct) =>
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"{prefix}-{owner.Kind}-{owner.Index:000}");
            switch (owner.Kind)
            {
                case "job":
                    await _jobClient.CreateAsync(NewJob(name, parallelism, onCluster), ct).ConfigureAwait(false);
                    break;
                case "ds":
                    await _dsClient.CreateAsync(NewDaemonSet(name), ct).ConfigureAwait(false);
                    break;
                case "sts":
                    await _stsClient.CreateAsync(NewStatefulSet(name), ct).ConfigureAwait(false);
                    break;
                default:
                    await _rsClient.CreateAsync(NewReplicaSet(name), ct).ConfigureAwait(false);
                    break;
            }
        }).ConfigureAwait(false);
    }

    private V1ReplicaSet NewReplicaSet(string name) => new()
    {
        ApiVersion = "apps/v1",
        Kind = V1ReplicaSet.KubeKind,
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace, Labels = new Dictionary<string, string> { [RunLabel] = _runId } },
        Spec = new V1ReplicaSetSpec
        {
            Replicas = _options.Replicas,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name, [RunLabel] = _runId } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name, [RunLabel] = _runId } },
                Spec = new V1PodSpec { Containers = [new V1Container { Name = "app", Image = "registry.k8s.io/pause:3.10" }] },
            },
        },
    };

    private V1PodTemplateSpec AppTemplate(string name) => new()
    {
        Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name, [RunLabel] = _runId } },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "app", Image = "registry.k8s.io/pause:3.10" }] },
    };

    private V1DaemonSet NewDaemonSet(string name) => new()
    {
        ApiVersion = "apps/v1",
        Kind = V1DaemonSet.KubeKind,
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace, Labels = new Dictionary<string, string> { [RunLabel] = _runId } },
        Spec = new V1DaemonSetSpec
        {
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name, [RunLabel] = _runId } },
            Template = AppTemplate(name),
        },
    };

    private V1StatefulSet NewStatefulSet(string name) => new()
    {
        ApiVersion = "apps/v1",
        Kind = V1StatefulSet.KubeKind,
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace, Labels = new Dictionary<string, string> { [RunLabel] = _runId } },
        Spec = new V1StatefulSetSpec
        {
            Replicas = _options.StatefulSetReplicas,
            ServiceName = name,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name, [RunLabel] = _runId } },
            Template = AppTemplate(name),
        },
    };

    private V1Job NewJob(string name, int parallelism, bool onCluster) => new()
    {
        ApiVersion = "batch/v1",
        Kind = V1Job.KubeKind,
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace, Labels = new Dictionary<string, string> { [RunLabel] = _runId } },
        Spec = new V1JobSpec
        {
            Completions = _options.Completions,
            Parallelism = parallelism,
            BackoffLimit = 6,

            // Kubernetes ≥ 1.32: kube-controller-manager's Job controller leaves Jobs managed by someone else alone.
            ManagedBy = onCluster ? "samples.kubeconsistency.io/job-controller" : null,
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { [RunLabel] = _runId } },
                Spec = new V1PodSpec
                {
                    RestartPolicy = "Never",
                    Containers = [new V1Container { Name = "work", Image = "registry.k8s.io/busybox:1.36", Command = ["sh", "-c", "sleep 1"] }],
                },
            },
        },
    };

    /// <summary>Reads the server's state (fresh LISTs) and checks convergence.</summary>
    private async Task<ServerView> ReadServerAsync(CancellationToken cancellationToken)
    {
        var pods = await ListAllAsync(_podClient, cancellationToken).ConfigureAwait(false);
        var replicaSets = await ListAllAsync(_rsClient, cancellationToken).ConfigureAwait(false);
        var jobs = await ListAllAsync(_jobClient, cancellationToken).ConfigureAwait(false);
        var podsByOwner = pods.Items.Where(static p => p.GetController()?.Uid is not null).ToLookup(static p => p.GetController().Uid, StringComparer.Ordinal);

        string? problem = null;
        var rsNotReady = 0;
        foreach (var rs in replicaSets.Items)
        {
            var want = rs.Spec?.Replicas ?? 1;
            var active = podsByOwner[rs.Metadata?.Uid ?? string.Empty].Where(PodLogic.IsActive).ToList();
            if (active.Count != want || active.Any(static p => !p.IsReady())
                || rs.Status is not { } s || s.Replicas != want || s.ReadyReplicas != want || s.ObservedGeneration != rs.Metadata?.Generation)
            {
                rsNotReady++;
            }
        }

        var jobsNotComplete = jobs.Items.Count(static j => JobLogic.FinishedCondition(j) != "Complete");
        var others = await OtherOwnersProblemAsync(podsByOwner, cancellationToken).ConfigureAwait(false);
        var miscounted = jobs.Items.Count(j => (j.Status?.Succeeded ?? 0) != podsByOwner[j.Metadata?.Uid ?? string.Empty].Count(static p => p.Status?.Phase == "Succeeded"));
        if (replicaSets.Items.Count != _options.ReplicaSets || jobs.Items.Count != _options.Jobs)
        {
            problem = $"{replicaSets.Items.Count}/{_options.ReplicaSets} ReplicaSets and {jobs.Items.Count}/{_options.Jobs} Jobs exist";
        }
        else if (rsNotReady > 0 || jobsNotComplete > 0)
        {
            problem = $"{rsNotReady} ReplicaSets without exactly their replicas ready (or a status that does not match), {jobsNotComplete} Jobs not complete";
        }
        else if (others is not null)
        {
            problem = others;
        }

        var versions = new List<ResourceVersionReport>
        {
            Report("pods", _podInformer.Indexer, pods),
            Report("replicasets.apps", _rsInformer.Indexer, replicaSets),
            Report("jobs.batch", _jobInformer.Indexer, jobs),
        };
        if (_options.DaemonSets > 0)
        {
            versions.Add(Report("daemonsets.apps", _dsInformer!.Indexer, await ListAllAsync(_dsClient, cancellationToken).ConfigureAwait(false)));
        }

        if (_options.StatefulSets > 0)
        {
            versions.Add(Report("statefulsets.apps", _stsInformer!.Indexer, await ListAllAsync(_stsClient, cancellationToken).ConfigureAwait(false)));
        }
        if (problem is null && versions.Find(static v => !v.CaughtUp) is { } behind)
        {
            problem = $"the {behind.Resource} cache has not caught up yet";
        }

        return new ServerView(pods.Items.Count, miscounted, versions, problem);
    }

    /// <summary>On the server: each DaemonSet has exactly one ready pod per node, each StatefulSet exactly its ordinals, ready.</summary>
    private async Task<string?> OtherOwnersProblemAsync(ILookup<string, V1Pod> podsByOwner, CancellationToken cancellationToken)
    {
        if (_options.DaemonSets == 0 && _options.StatefulSets == 0)
        {
            return null;
        }

        var nodes = (_nodeInformer?.Indexer.ListKeys() ?? []).ToHashSet(StringComparer.Ordinal);
        var daemonSets = await ListAllAsync(_dsClient, cancellationToken).ConfigureAwait(false);
        var sets = await ListAllAsync(_stsClient, cancellationToken).ConfigureAwait(false);
        var dsWrong = daemonSets.Items.Count(ds =>
        {
            var active = podsByOwner[ds.Metadata?.Uid ?? string.Empty].Where(PodLogic.IsActive).ToList();
            var perNode = active.GroupBy(p => DaemonSetLogic.TargetNode(p) ?? string.Empty).ToList();
            return perNode.Count != nodes.Count || perNode.Any(g => g.Count() != 1 || !nodes.Contains(g.Key) || !g.Single().IsReady())
                || ds.Status is not { } s || s.NumberReady != nodes.Count || s.ObservedGeneration != ds.Metadata?.Generation;
        });
        var stsWrong = sets.Items.Count(set =>
        {
            var want = set.Spec?.Replicas ?? 1;
            var pods = podsByOwner[set.Metadata?.Uid ?? string.Empty].Where(PodLogic.IsActive).ToList();
            var ordinals = pods.Select(p => StatefulSetLogic.Ordinal(set.Metadata!.Name, p.Metadata?.Name)).Order().ToList();
            return !ordinals.SequenceEqual(Enumerable.Range(0, want)) || pods.Any(p => !p.IsReady())
                || set.Status is not { } s || s.ReadyReplicas != want || s.ObservedGeneration != set.Metadata?.Generation;
        });
        return daemonSets.Items.Count != _options.DaemonSets || sets.Items.Count != _options.StatefulSets || dsWrong > 0 || stsWrong > 0
            ? $"{dsWrong} DaemonSets without exactly one ready pod per node, {stsWrong} StatefulSets without exactly their ordinals ready"
            : null;
    }

    private static ResourceVersionReport Report<T>(string resource, IIndexer<T> store, ListPage<T> list)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var storeRv = store.LastStoreSyncResourceVersion;
        var newest = list.Items.Select(static o => long.TryParse(o.Metadata?.ResourceVersion, CultureInfo.InvariantCulture, out var v) ? v : 0).DefaultIfEmpty(0).Max();
        var caughtUp = newest == 0 || (long.TryParse(storeRv, CultureInfo.InvariantCulture, out var applied) && applied >= newest);
        return new ResourceVersionReport(resource, storeRv, list.ResourceVersion, newest.ToString(CultureInfo.InvariantCulture), caughtUp);
    }

    private static async Task<ListPage<T>> ListAllAsync<T>(IResourceClient<T> client, CancellationToken cancellationToken)
    {
        // A consistent (quorum) read, paged.
        var items = new List<T>();
        string? next = null;
        string rv;
        do
        {
            var page = await client.ListAsync(new ListOptions { Limit = 500, Continue = next }, cancellationToken).ConfigureAwait(false);
            items.AddRange(page.Items);
            next = page.Continue;
            rv = page.ResourceVersion;
        }
        while (!string.IsNullOrEmpty(next));

        return new ListPage<T> { Items = items, ResourceVersion = rv };
    }

    private ScenarioSummary Summarize(ServerView view, bool converged, TimeSpan elapsed)
    {
        long rsCreated = 0, jobCreated = 0, rsExcess = 0, jobExcess = 0, dsCreated = 0, dsExcess = 0, stsCreated = 0;
        var nodes = NodeCount;
        foreach (var (owner, count) in PodWrites.CreatesByOwner)
        {
            if (owner.Contains("-job-", StringComparison.Ordinal))
            {
                jobCreated += count;
                jobExcess += Math.Max(0, count - _options.Completions);
            }
            else if (owner.Contains("-ds-", StringComparison.Ordinal))
            {
                dsCreated += count;
                dsExcess += Math.Max(0, count - nodes);
            }
            else if (owner.Contains("-sts-", StringComparison.Ordinal))
            {
                stsCreated += count;
            }
            else
            {
                rsCreated += count;
                rsExcess += Math.Max(0, count - _options.Replicas);
            }
        }

        var stsDuplicates = PodWrites.CreateRequestsByName.Where(kv => kv.Key.Contains("-sts-", StringComparison.Ordinal)).Sum(kv => (long)kv.Value - 1);

        return new ScenarioSummary
        {
            Consistency = _options.Consistency,
            Expectations = _options.Expectations,
            Embedded = Server is not null,
            PodWatchLag = Server is null ? TimeSpan.Zero : _options.PodWatchLag,
            OwnerWatchLag = Server is null ? TimeSpan.Zero : _options.OwnerWatchLag,
            ReplicaSets = _options.ReplicaSets,
            Replicas = _options.Replicas,
            Jobs = _options.Jobs,
            Completions = _options.Completions,
            Parallelism = _options.EffectiveParallelism,
            PodsAtEnd = view.Pods,
            ReplicaSetPodsCreated = rsCreated,
            JobPodsCreated = jobCreated,
            ReplicaSetExcessPods = rsExcess,
            JobExcessPods = jobExcess,
            JobsMiscounted = view.MiscountedJobs,
            DaemonSets = _options.DaemonSets,
            Nodes = nodes,
            StatefulSets = _options.StatefulSets,
            StatefulSetReplicas = _options.StatefulSetReplicas,
            DaemonSetPodsCreated = dsCreated,
            DaemonSetExcessPods = dsExcess,
            StatefulSetPodsCreated = stsCreated,
            StatefulSetDuplicateCreates = stsDuplicates,
            StaleSyncSkips = Skips.ByResource(),
            StaleSyncSkipsByController = Skips.ByController(),
            ResourceVersions = view.Versions,
            Converged = converged,
            NotConvergedReason = converged ? null : view.Problem ?? "the caches or queues had not settled",
            Elapsed = elapsed,
        };
    }

    private async Task CleanUpAsync()
    {
        // On a real cluster: delete what this run created; the garbage collector deletes the pods.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var background = new DeleteOptions { PropagationPolicy = PropagationPolicy.Background };
        try
        {
            foreach (var rs in (await ListAllAsync(_rsClient, timeout.Token).ConfigureAwait(false)).Items)
            {
                await DeleteQuietlyAsync(_rsClient, rs.Metadata.Name, background, timeout.Token).ConfigureAwait(false);
            }

            foreach (var job in (await ListAllAsync(_jobClient, timeout.Token).ConfigureAwait(false)).Items)
            {
                await DeleteQuietlyAsync(_jobClient, job.Metadata.Name, background, timeout.Token).ConfigureAwait(false);
            }

            foreach (var ds in _dsInformer is null ? [] : (await ListAllAsync(_dsClient, timeout.Token).ConfigureAwait(false)).Items)
            {
                await DeleteQuietlyAsync(_dsClient, ds.Metadata.Name, background, timeout.Token).ConfigureAwait(false);
            }

            foreach (var set in _stsInformer is null ? [] : (await ListAllAsync(_stsClient, timeout.Token).ConfigureAwait(false)).Items)
            {
                await DeleteQuietlyAsync(_stsClient, set.Metadata.Name, background, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is KubernetesClientException or OperationCanceledException)
        {
            Log.CleanUpFailed(_logger, RunLabel, _runId, ex);
        }
    }

    private async Task DeleteQuietlyAsync<T>(IResourceClient<T> client, string name, DeleteOptions options, CancellationToken cancellationToken)
    {
        try
        {
            await client.DeleteAsync(Namespace, name, options, cancellationToken).ConfigureAwait(false);
        }
        catch (NotFoundException)
        {
        }
    }

    private SampleControllerOptions<TOwner> ControllerOptions<TOwner>(ISharedIndexInformer<TOwner> ownerInformer)
        where TOwner : class, IKubernetesObject<V1ObjectMeta> => new()
        {
            Kubernetes = _kubernetes!,
            Pods = PodWrites,
            PodInformer = _podInformer,
            OwnerInformer = ownerInformer,
            UseConsistencyStore = _options.Consistency,
            UseExpectations = _options.Expectations,
            TrackDeletes = _options.TrackDeletes,
            Workers = _options.Workers,
            TimeProvider = _time,
            LoggerFactory = _options.LoggerFactory,
            MeterFactory = _meters,
        };

    private sealed record ServerView(int Pods, int MiscountedJobs, IReadOnlyList<ResourceVersionReport> Versions, string? Problem);
}
