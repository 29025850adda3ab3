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
/// A StatefulSet controller modelled on kube-controller-manager's <c>pkg/controller/statefulset</c> (v1.36) with the
/// <c>OrderedReady</c> policy: pods <c>&lt;set&gt;-0 … &lt;set&gt;-(n-1)</c> created one at a time in order, each only
/// once the ones before it are Running and Ready; scale-down deletes the highest ordinal first, one at a time. The status
/// updater writes <c>status.replicas/readyReplicas/currentReplicas/updatedReplicas/availableReplicas/observedGeneration</c>
/// and records <c>WroteAt</c> (§8.5). Gated by a <see cref="StalenessGate"/> over <c>pods</c> and
/// <c>statefulsets.apps</c> (subsystem <c>statefulset_controller</c>): without it, a sync on a pod cache older than its own
/// create asks for the same ordinal again. No PVCs, ControllerRevisions or rolling updates.
/// </summary>
public sealed class StatefulSetController
{
    /// <summary>The metric subsystem (§9.1).</summary>
    public const string MetricSubsystem = "statefulset_controller";

    private const string ApiVersion = "apps/v1";
    private const string Kind = "StatefulSet";

    private static readonly ObjectMetadataAccessor<V1StatefulSet> Accessor = KubernetesObjectMetadata.For<V1StatefulSet>();
    private static readonly ObjectMetadataAccessor<V1Pod> PodAccessor = KubernetesObjectMetadata.For<V1Pod>();

    private readonly IIndexer<V1Pod> _pods;
    private readonly IIndexer<V1StatefulSet> _sets;
    private readonly IKubernetes _kubernetes;
    private readonly ConsistentWriter<V1Pod> _podWriter;
    private readonly bool _trackDeletes;
    private readonly ILogger _logger;
    private readonly IEventHandlerRegistration[] _registrations;

    /// <summary>Creates the controller and registers its event handlers on the informers.</summary>
    /// <param name="options">The shared sample options (pods, StatefulSets, gate, queue).</param>
    public StatefulSetController(SampleControllerOptions<V1StatefulSet> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        PodIndexes.EnsureControllerUidIndex(options.PodInformer);
        _pods = options.PodInformer.Indexer;
        _sets = options.OwnerInformer.Indexer;
        _kubernetes = options.Kubernetes;
        _trackDeletes = options.TrackDeletes;
        _logger = options.LoggerFactory?.CreateLogger<StatefulSetController>() ?? (ILogger)NullLogger.Instance;

        // §8.5: the real store over the pod and StatefulSet informer stores, or the no-op store (the gate off).
        var store = options.UseConsistencyStore
            ? ConsistencyStore.Create([new(GroupResource.Pods, _pods), new(new GroupResource("apps", "statefulsets"), _sets)], new ConsistencyStoreOptions { Semantics = options.ConsistencySemantics })
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
                Name = "statefulset",
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
            options.PodInformer.AddEventHandler(OwnedPodHandler.Create(Kind, _sets, queue)),
        ];
    }

    /// <summary>The work-queue host.</summary>
    public IController Controller { get; }

    /// <summary>The staleness gate (its counter is <c>statefulset_controller_stale_sync_skips_total</c>).</summary>
    public StalenessGate Gate { get; }

    /// <summary>Waits for the informers' initial lists to reach the handlers, then runs the workers until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Controller.RunAsync(_registrations, cancellationToken);

    /// <summary>Go: <c>syncStatefulSet</c> → <c>UpdateStatefulSet</c>, one ordered step per sync.</summary>
    internal async ValueTask<ReconcileResult> SyncAsync(string key, CancellationToken cancellationToken)
    {
        var owner = NamespacedName.FromKey(key);

        // §8.1 step 3: before any read.
        if (Gate.EnsureReady(owner) is { } stale)
        {
            return ReconcileResult.StaleSyncSkipped(stale);
        }

        if (!_sets.TryGetByKey(key, out var set))
        {
            Log.OwnerDeleted(_logger, Kind, key);
            Gate.OwnerNotFound(owner);
            return ReconcileResult.Done;
        }

        var uid = set.Metadata.Uid;
        var pods = PodIndexes.PodsByOwner(_pods, owner.Namespace, uid, includeOrphans: false);
        Exception? stepError = null;
        if (!set.IsDeleting())
        {
            var step = StatefulSetLogic.NextStep(set, pods);
            try
            {
                switch (step.Action)
                {
                    case StatefulSetAction.Create:
                        // §8.5: the create's returned resource version is recorded (the writer).
                        await _podWriter.CreateAsync(owner, uid, StatefulSetLogic.NewPod(set, step.Ordinal, Accessor.NewControllerRef(set, ApiVersion, Kind).ToV1OwnerReference()), cancellationToken).ConfigureAwait(false);
                        break;
                    case StatefulSetAction.Delete:
                        await DeleteAsync(owner, uid, step.Pod!, cancellationToken).ConfigureAwait(false);
                        break;
                }
            }
            catch (AlreadyExistsException ex)
            {
                // Go: the ordinal's pod exists but the cache does not show it — exactly what a stale pod cache looks like.
                stepError = ex;
            }
        }

        await UpdateStatusAsync(owner, set, StatefulSetLogic.CalculateStatus(set, pods), cancellationToken).ConfigureAwait(false);
        if (stepError is not null)
        {
            throw new InvalidOperationException($"Failed to create a pod of {key}: {stepError.Message}", stepError);
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

    /// <summary>Go: <c>updateStatefulSetStatus</c> (the status updater records <c>WroteAt</c>, §8.5).</summary>
    private async Task UpdateStatusAsync(NamespacedName owner, V1StatefulSet set, V1StatefulSetStatus newStatus, CancellationToken cancellationToken)
    {
        if (StatefulSetLogic.StatusUnchanged(set.Status, newStatus))
        {
            return;
        }

        try
        {
            using var scope = Gate.BeginWriteScope(owner, set.Metadata.Uid);
            await _kubernetes.AppsV1.ReplaceNamespacedStatefulSetStatusAsync(set with { Status = newStatus }, owner.Name, owner.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (scope.RecordedWrites == 0)
            {
                Log.StatusWriteNotRecorded(_logger, Kind, owner);
            }
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            Log.StatusConflict(_logger, Kind, owner.ToKey());
        }
    }
}
