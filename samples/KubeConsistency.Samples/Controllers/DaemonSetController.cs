using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Consistency;
using KubeConsistency.Controllers;
using KubeConsistency.Informers;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Samples.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Samples.Controllers;

/// <summary>
/// A DaemonSet controller modelled on kube-controller-manager's <c>pkg/controller/daemon/daemon_controller.go</c> (v1.36):
/// one pod per eligible node, pinned by node affinity (<c>metadata.name In [node]</c>), created when a node has none,
/// surplus pods on a node and pods on a node that is gone deleted, and
/// <c>status.desiredNumberScheduled/currentNumberScheduled/numberReady/…/observedGeneration</c> written through the status
/// subresource. Node adds, changes and deletes enqueue every DaemonSet. Gated by a <see cref="StalenessGate"/> over
/// <c>pods</c> and <c>daemonsets.apps</c> (subsystem <c>daemonset_controller</c>, upstream-semantics.md §8.2,
/// <c>StaleControllerConsistencyDaemonSet</c>): pod creates and status writes are recorded; pod deletes too with
/// <see cref="SampleControllerOptions{TOwner}.TrackDeletes"/>.
/// </summary>
public sealed class DaemonSetController
{
    /// <summary>The metric subsystem (§9.1).</summary>
    public const string MetricSubsystem = "daemonset_controller";

    private const string ApiVersion = "apps/v1";
    private const string Kind = "DaemonSet";

    private static readonly ObjectMetadataAccessor<V1DaemonSet> Accessor = KubernetesObjectMetadata.For<V1DaemonSet>();
    private static readonly ObjectMetadataAccessor<V1Pod> PodAccessor = KubernetesObjectMetadata.For<V1Pod>();

    private readonly IIndexer<V1Pod> _pods;
    private readonly IIndexer<V1DaemonSet> _daemonSets;
    private readonly IIndexer<V1Node> _nodes;
    private readonly IKubernetes _kubernetes;
    private readonly ConsistentWriter<V1Pod> _podWriter;
    private readonly bool _trackDeletes;
    private readonly ILogger _logger;
    private readonly IEventHandlerRegistration[] _registrations;

    /// <summary>Creates the controller and registers its event handlers on the informers.</summary>
    /// <param name="options">The shared sample options (pods, DaemonSets, gate, queue).</param>
    /// <param name="nodeInformer">The shared node informer.</param>
    public DaemonSetController(SampleControllerOptions<V1DaemonSet> options, ISharedIndexInformer<V1Node> nodeInformer)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(nodeInformer);
        PodIndexes.EnsureControllerUidIndex(options.PodInformer);
        _pods = options.PodInformer.Indexer;
        _daemonSets = options.OwnerInformer.Indexer;
        _nodes = nodeInformer.Indexer;
        _kubernetes = options.Kubernetes;
        _trackDeletes = options.TrackDeletes;
        _logger = options.LoggerFactory?.CreateLogger<DaemonSetController>() ?? (ILogger)NullLogger.Instance;

        // §8.2: the real store over the pod and DaemonSet informer stores, or the no-op store (the gate off).
        var store = options.UseConsistencyStore
            ? ConsistencyStore.Create([new(GroupResource.Pods, _pods), new(new GroupResource("apps", "daemonsets"), _daemonSets)], new ConsistencyStoreOptions { Semantics = options.ConsistencySemantics })
            : ConsistencyStore.Noop;
        store = options.ConsistencyStoreDecorator?.Invoke(store) ?? store;
        Gate = StalenessGate.Create(new StalenessGateOptions
        {
            ControllerName = MetricSubsystem,
            ConsistencyStore = store,
            TimeProvider = options.TimeProvider,
            Logger = _logger,
            MeterFactory = options.MeterFactory,
            TrackDeletes = options.TrackDeletes,
        });
        _podWriter = Gate.Writer(options.Pods, PodAccessor, _pods);
        Controller = KubeConsistency.Controllers.Controller.Create(
            new ControllerOptions
            {
                Name = "daemonset",
                Workers = options.Workers,
                TimeProvider = options.TimeProvider,
                RateLimiter = options.RateLimiter,
                Logger = _logger,
                MeterFactory = options.MeterFactory,
            },
            SyncAsync);

        var queue = Controller.Queue;
        _registrations =
        [
            options.OwnerInformer.AddEventHandler(EnqueueHandlers.ForObject(queue, Gate, Accessor, _logger)),
            options.PodInformer.AddEventHandler(OwnedPodHandler.Create(Kind, _daemonSets, queue)),

            // Go: addNode/updateNode/deleteNode enqueue the DaemonSets whose placement may change.
            nodeInformer.AddEventHandler(new ResourceEventHandler<V1Node>
            {
                OnAdd = (_, _) => EnqueueAll(),
                OnUpdate = (old, node) =>
                {
                    if (old.Metadata?.ResourceVersion != node.Metadata?.ResourceVersion)
                    {
                        EnqueueAll();
                    }
                },
                OnDelete = _ => EnqueueAll(),
            }),
        ];
    }

    /// <summary>The work-queue host.</summary>
    public IController Controller { get; }

    /// <summary>The staleness gate (its counter is <c>daemonset_controller_stale_sync_skips_total</c>).</summary>
    public StalenessGate Gate { get; }

    /// <summary>Waits for the informers' initial lists to reach the handlers, then runs the workers until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Controller.RunAsync(_registrations, cancellationToken);

    /// <summary>Go: <c>syncDaemonSet</c>.</summary>
    internal async ValueTask<ReconcileResult> SyncAsync(string key, CancellationToken cancellationToken)
    {
        var owner = NamespacedName.FromKey(key);

        // §8.1 step 3: before any read.
        if (Gate.EnsureReady(owner) is { } stale)
        {
            return ReconcileResult.StaleSyncSkipped(stale);
        }

        if (!_daemonSets.TryGetByKey(key, out var ds))
        {
            Log.OwnerDeleted(_logger, Kind, key);
            Gate.OwnerNotFound(owner);
            return ReconcileResult.Done;
        }

        var uid = ds.Metadata.Uid;
        var eligible = _nodes.List().Where(n => DaemonSetLogic.ShouldRun(ds, n)).Select(n => n.Metadata.Name).ToList();
        var pods = PodLogic.FilterActive(PodIndexes.PodsByOwner(_pods, owner.Namespace, uid, includeOrphans: false));
        Exception? manageError = null;
        if (!ds.IsDeleting())
        {
            var plan = DaemonSetLogic.Plan(eligible, pods);
            var controllerRef = Accessor.NewControllerRef(ds, ApiVersion, Kind).ToV1OwnerReference();
            try
            {
                // Creates record their returned resource versions (§8.2); deletes with TrackDeletes.
                await Task.WhenAll(plan.NodesNeedingPods.Select(node => _podWriter.CreateAsync(owner, uid, DaemonSetLogic.NewPod(ds, node, controllerRef), cancellationToken).AsTask())).ConfigureAwait(false);
                await Task.WhenAll(plan.PodsToDelete.Select(pod => DeleteAsync(owner, uid, pod, cancellationToken))).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is KubernetesApiException or KubernetesTransportException)
            {
                manageError = ex;
            }
        }

        await UpdateStatusAsync(owner, ds, DaemonSetLogic.CalculateStatus(ds, eligible, pods), cancellationToken).ConfigureAwait(false);
        if (manageError is not null)
        {
            throw new InvalidOperationException($"Failed to manage the daemon pods of {key}: {manageError.Message}", manageError);
        }

        return ReconcileResult.Done;
    }

    private async Task DeleteAsync(NamespacedName owner, string uid, V1Pod pod, CancellationToken cancellationToken)
    {
        try
        {
            if (_trackDeletes)
            {
                await _podWriter.DeleteAsync(owner, uid, pod, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _podWriter.DeleteAsync(pod.Metadata.NamespaceProperty, pod.Metadata.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        catch (NotFoundException)
        {
            // Already gone: what the delete wanted.
        }
    }

    private async Task UpdateStatusAsync(NamespacedName owner, V1DaemonSet ds, V1DaemonSetStatus newStatus, CancellationToken cancellationToken)
    {
        if (DaemonSetLogic.StatusUnchanged(ds.Status, newStatus))
        {
            return;
        }

        try
        {
            // §8.2: the status write is recorded by the ConsistencyRecordingHandler inside the gate's write scope.
            using var scope = Gate.BeginWriteScope(owner, ds.Metadata.Uid);
            await _kubernetes.AppsV1.ReplaceNamespacedDaemonSetStatusAsync(ds with { Status = newStatus }, owner.Name, owner.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (scope.RecordedWrites == 0)
            {
                Log.StatusWriteNotRecorded(_logger, Kind, owner);
            }
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            // The DaemonSet changed or went since the cache saw it; its event enqueues it again.
            Log.StatusConflict(_logger, Kind, owner.ToKey());
        }
    }

    private void EnqueueAll()
    {
        foreach (var key in _daemonSets.ListKeys())
        {
            Controller.Queue.Add(key);
        }
    }
}
