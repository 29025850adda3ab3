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
/// A ReplicaSet controller modelled on kube-controller-manager's <c>pkg/controller/replicaset/replica_set.go</c> (v1.36):
/// keeps <c>spec.replicas</c> active pods per ReplicaSet (slow-start creates, ranked deletes), adopts matching orphans
/// and releases owned pods that no longer match (JSON merge patches of <c>ownerReferences</c>), and writes
/// <c>status.replicas/fullyLabeledReplicas/readyReplicas/availableReplicas/observedGeneration</c> through the status
/// subresource. Gated by a <see cref="StalenessGate"/> over <c>pods</c> and <c>replicasets.apps</c>
/// (subsystem <c>replicaset_controller</c>, upstream-semantics.md §8.3). Works on KubernetesClient's
/// <see cref="V1ReplicaSet"/> and <see cref="V1Pod"/>: pod writes go through a KubeConsistency resource client, owner
/// reads and the status write through <see cref="IKubernetes"/>.
/// </summary>
public sealed class ReplicaSetController
{
    /// <summary>The metric subsystem (§9.1).</summary>
    public const string MetricSubsystem = "replicaset_controller";

    /// <summary>Go: <c>BurstReplicas</c>: the most pods created or deleted in one sync.</summary>
    public const int BurstReplicas = 500;

    private const string ApiVersion = "apps/v1";
    private const string Kind = "ReplicaSet";

    private static readonly ObjectMetadataAccessor<V1ReplicaSet> Accessor = KubernetesObjectMetadata.For<V1ReplicaSet>();
    private static readonly ObjectMetadataAccessor<V1Pod> PodAccessor = KubernetesObjectMetadata.For<V1Pod>();

    private readonly IIndexer<V1Pod> _pods;
    private readonly IIndexer<V1ReplicaSet> _replicaSets;
    private readonly IKubernetes _kubernetes;
    private readonly ConsistentWriter<V1Pod> _podWriter;
    private readonly IPodControl<V1Pod> _podControl;
    private readonly bool _trackDeletes;
    private readonly IUidTrackingControllerExpectations? _expectations;
    private readonly ILogger _logger;
    private readonly IEventHandlerRegistration[] _registrations;
    private readonly TimeProvider _time;

    /// <summary>Creates the controller and registers its event handlers on the informers.</summary>
    public ReplicaSetController(SampleControllerOptions<V1ReplicaSet> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        PodIndexes.EnsureControllerUidIndex(options.PodInformer);
        _pods = options.PodInformer.Indexer;
        _replicaSets = options.OwnerInformer.Indexer;
        _kubernetes = options.Kubernetes;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory?.CreateLogger<ReplicaSetController>() ?? (ILogger)NullLogger.Instance;

        // §8.1 step 1: the real store over the informer stores of every group-resource this controller writes.
        var store = options.UseConsistencyStore
            ? ConsistencyStore.Create([new(GroupResource.Pods, _pods), new(GroupResource.ReplicaSets, _replicaSets)], new ConsistencyStoreOptions { Semantics = options.ConsistencySemantics })
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
        _trackDeletes = options.TrackDeletes;
        _expectations = options.UseExpectations ? ControllerExpectations.CreateUidTracking(options.TimeProvider, _logger) : null;

        // Pod creates (PodControl) and pod patches (the writer) record their returned resource versions themselves (§8.1
        // step 2); pod deletes are not recorded, as upstream, unless TrackDeletes (then by RV, or by UID in the pod cache).
        _podWriter = Gate.Writer(options.Pods, PodAccessor);
        _podControl = PodControl.Create(new PodControlOptions<V1Pod>
        {
            Pods = options.Pods,
            Gate = Gate,
            Expectations = _expectations,
            Accessor = PodAccessor,
            Logger = _logger,
            PodCache = _pods,
        });
        Controller = KubeConsistency.Controllers.Controller.Create(
            new ControllerOptions
            {
                Name = "replicaset",
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
            // Owner events: enqueue; a delete clears the owner's consistency record with its UID (tombstones unwrapped).
            options.OwnerInformer.AddEventHandler(EnqueueHandlers.ForObject(queue, Gate, Accessor, _logger)),
            options.PodInformer.AddEventHandler(new ResourceEventHandler<V1Pod>
            {
                OnAdd = (pod, _) => AddPod(pod),
                OnUpdate = UpdatePod,
                OnDelete = DeletePod,
            }),
        ];
    }

    /// <summary>The work-queue host.</summary>
    public IController Controller { get; }

    /// <summary>The staleness gate (its counter is <c>replicaset_controller_stale_sync_skips_total</c>).</summary>
    public StalenessGate Gate { get; }

    /// <summary>The expectations, when enabled.</summary>
    public IUidTrackingControllerExpectations? Expectations => _expectations;

    /// <summary>Waits for the informers' initial lists to reach the handlers, then runs the workers until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Controller.RunAsync(_registrations, cancellationToken);

    /// <summary>Go: <c>syncReplicaSet</c>.</summary>
    internal async ValueTask<ReconcileResult> SyncAsync(string key, CancellationToken cancellationToken)
    {
        var owner = NamespacedName.FromKey(key);

        // §8.1 step 3: before any read. A deferred sync reads and writes nothing; the host requeues it rate-limited.
        if (Gate.EnsureReady(owner) is { } stale)
        {
            return ReconcileResult.StaleSyncSkipped(stale);
        }

        if (!_replicaSets.TryGetByKey(key, out var rs))
        {
            // §8.1 step 4: NotFound clears unconditionally, alongside the expectations.
            Log.OwnerDeleted(_logger, Kind, key);
            Gate.OwnerNotFound(owner);
            _expectations?.DeleteExpectations(key);
            return ReconcileResult.Done;
        }

        var rsNeedsSync = _expectations?.SatisfiedExpectations(key) ?? true;
        LabelSelector selector;
        try
        {
            selector = rs.Spec?.Selector.ToSelector() ?? LabelSelector.Nothing;
        }
        catch (LabelSelectorException ex)
        {
            // Go: a bad selector is logged and not retried (it needs a spec change, which enqueues again).
            Log.InvalidSelector(_logger, Kind, key, ex);
            return ReconcileResult.Done;
        }

        // Go (v1.36): the pods this ReplicaSet controls, plus the namespace's orphans it may adopt.
        var allPods = PodIndexes.PodsByOwner(_pods, owner.Namespace, rs.Metadata.Uid, includeOrphans: true);
        var filteredPods = await ClaimPodsAsync(rs, selector, PodLogic.FilterActive(allPods), cancellationToken).ConfigureAwait(false);

        Exception? manageError = null;
        if (rsNeedsSync && !rs.IsDeleting())
        {
            manageError = await ManageReplicasAsync(filteredPods, rs, key, cancellationToken).ConfigureAwait(false);
        }

        var newStatus = ReplicaSetLogic.CalculateStatus(rs, filteredPods, _time.GetUtcNow());
        await UpdateStatusAsync(owner, rs, newStatus, cancellationToken).ConfigureAwait(false);
        if (manageError is not null)
        {
            throw new InvalidOperationException($"Failed to manage the replicas of {key}: {manageError.Message}", manageError);
        }

        // Go: re-check availability once minReadySeconds have passed.
        return rs.Spec?.MinReadySeconds is > 0 and var minReady && newStatus.ReadyReplicas != newStatus.AvailableReplicas
            ? ReconcileResult.RequeueAfter(TimeSpan.FromSeconds(minReady))
            : ReconcileResult.Done;
    }

    /// <summary>Go: <c>manageReplicas</c>.</summary>
    private async Task<Exception?> ManageReplicasAsync(List<V1Pod> filteredPods, V1ReplicaSet rs, string key, CancellationToken cancellationToken)
    {
        var owner = NamespacedName.FromKey(key);
        var diff = filteredPods.Count - (rs.Spec?.Replicas ?? 1);
        if (diff < 0)
        {
            diff = Math.Min(-diff, BurstReplicas);

            // Go: expectations are raised before any create, so the informer cannot observe a create first.
            _expectations?.ExpectCreations(key, diff);
            Log.CreatingReplicas(_logger, key, diff);
            var controllerRef = Accessor.NewControllerRef(rs, ApiVersion, Kind);
            var template = rs.Spec?.Template;
            var (successes, failures, error) = await PodLogic.SlowStartBatchAsync(diff, PodLogic.SlowStartInitialBatchSize, async () =>
                await _podControl.CreatePodAsync(owner.Namespace, controllerRef, template?.Metadata.ReadOnlyLabels(), request => PodLogic.FromTemplate(request, template), cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);

            // Go: the creates that were skipped after a failure will never be observed. (A failed create lowered its own.)
            var skipped = diff - successes - failures;
            for (var i = 0; i < skipped; i++)
            {
                _expectations?.CreationObserved(key);
            }

            return error;
        }

        if (diff > 0)
        {
            diff = Math.Min(diff, BurstReplicas);
            var toDelete = PodLogic.PodsToDelete(filteredPods, diff);
            _expectations?.ExpectDeletions(key, [.. toDelete.Select(p => p.Key())]);
            Log.DeletingReplicas(_logger, key, diff);
            var deletes = toDelete.Select(p => _trackDeletes
                ? _podControl.DeletePodAsync(owner, rs.Metadata.Uid, p, cancellationToken).AsTask()
                : _podControl.DeletePodAsync(owner, p.Metadata.Name, cancellationToken).AsTask()).ToArray();
            try
            {
                await Task.WhenAll(deletes).ConfigureAwait(false);
            }
            catch (Exception) when (deletes.Any(t => t.IsFaulted))
            {
                return deletes.First(t => t.IsFaulted).Exception!.InnerException;
            }
        }

        return null;
    }

    /// <summary>
    /// Go: <c>PodControllerRefManager.ClaimPods</c>: keeps owned pods that match, releases owned pods that no longer match,
    /// adopts matching orphans (after re-reading the ReplicaSet from the server, Go's <c>RecheckDeletionTimestamp</c>).
    /// </summary>
    private async Task<List<V1Pod>> ClaimPodsAsync(V1ReplicaSet rs, LabelSelector selector, List<V1Pod> pods, CancellationToken cancellationToken)
    {
        var owner = new NamespacedName(rs.Metadata.NamespaceProperty, rs.Metadata.Name);
        var uid = rs.Metadata.Uid;
        var claimed = new List<V1Pod>(pods.Count);
        bool? canAdopt = null;
        foreach (var pod in pods)
        {
            switch (ReplicaSetLogic.Classify(pod, uid, selector, rs.IsDeleting()))
            {
                case ClaimDecision.Owned:
                    claimed.Add(pod);
                    break;
                case ClaimDecision.Release:
                    await ReleaseAsync(owner, uid, pod, cancellationToken).ConfigureAwait(false);
                    break;
                case ClaimDecision.Adopt:
                    canAdopt ??= await CanAdoptAsync(rs, cancellationToken).ConfigureAwait(false);
                    if (canAdopt == true && await AdoptAsync(owner, rs, pod, cancellationToken).ConfigureAwait(false))
                    {
                        claimed.Add(pod);
                    }

                    break;
            }
        }

        return claimed;
    }

    private async Task<bool> CanAdoptAsync(V1ReplicaSet rs, CancellationToken cancellationToken)
    {
        // Go: an uncached quorum read, so a ReplicaSet that is being deleted never adopts.
        try
        {
            var fresh = await _kubernetes.AppsV1.ReadNamespacedReplicaSetAsync(rs.Metadata.Name, rs.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
            return fresh.Metadata?.Uid == rs.Metadata.Uid && !fresh.IsDeleting();
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private async Task<bool> AdoptAsync(NamespacedName owner, V1ReplicaSet rs, V1Pod pod, CancellationToken cancellationToken)
    {
        var refs = new List<V1OwnerReference>(pod.Metadata.OwnerReferences ?? []) { Accessor.NewControllerRef(rs, ApiVersion, Kind).ToV1OwnerReference() };
        try
        {
            // A tracked pod write (Go: PatchPod calls the consistency hook).
            await _podWriter.PatchAsync(owner, rs.Metadata.Uid, pod.Metadata.NamespaceProperty, pod.Metadata.Name, PodLogic.OwnerReferencesPatch(pod, refs), cancellationToken: cancellationToken).ConfigureAwait(false);
            Log.AdoptedPod(_logger, pod.Key(), owner);
            return true;
        }
        catch (Exception ex) when (ex is NotFoundException or ConflictException)
        {
            // Gone or changed since the cache saw it: the next event brings it back.
            return false;
        }
    }

    private async Task ReleaseAsync(NamespacedName owner, string uid, V1Pod pod, CancellationToken cancellationToken)
    {
        var refs = pod.Metadata.OwnerReferences?.Where(r => r.Uid != uid).ToList();
        try
        {
            await _podWriter.PatchAsync(owner, uid, pod.Metadata.NamespaceProperty, pod.Metadata.Name, PodLogic.OwnerReferencesPatch(pod, refs), cancellationToken: cancellationToken).ConfigureAwait(false);
            Log.ReleasedPod(_logger, pod.Key(), owner);
        }
        catch (Exception ex) when (ex is NotFoundException or ConflictException)
        {
            // Go: ignores NotFound; a conflict means the pod changed, and its event re-enqueues us.
        }
    }

    /// <summary>Go: <c>updateReplicaSetStatus</c>: no write when nothing changed; one retry with a fresh GET on a conflict.</summary>
    private async Task UpdateStatusAsync(NamespacedName owner, V1ReplicaSet rs, V1ReplicaSetStatus newStatus, CancellationToken cancellationToken)
    {
        if (ReplicaSetLogic.StatusUnchanged(rs.Status, newStatus))
        {
            return;
        }

        var current = rs;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                // §8.1 step 2, with no code per kind: inside the gate's write scope, the ConsistencyRecordingHandler in the
                // client's handler chain records the resource version this PUT returns, under replicasets.apps, for this
                // owner and UID. (The cached object's resource version in the body is the optimistic-concurrency precondition.)
                using var scope = Gate.BeginWriteScope(owner, current.Metadata.Uid);
                await _kubernetes.AppsV1.ReplaceNamespacedReplicaSetStatusAsync(current with { Status = newStatus }, owner.Name, owner.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (scope.RecordedWrites == 0)
                {
                    Log.StatusWriteNotRecorded(_logger, Kind, owner);
                }

                return;
            }
            catch (HttpOperationException ex) when (attempt == 0 && ex.Response?.StatusCode == HttpStatusCode.Conflict)
            {
                current = await _kubernetes.AppsV1.ReadNamespacedReplicaSetAsync(owner.Name, owner.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (current.Metadata?.Uid != rs.Metadata.Uid || ReplicaSetLogic.StatusUnchanged(current.Status, newStatus))
                {
                    return;
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- pod event handlers

    /// <summary>Go: <c>addPod</c>.</summary>
    private void AddPod(V1Pod pod)
    {
        if (pod.IsDeleting())
        {
            // Go: a pod that shows up already being deleted (e.g. after a restart) is a deletion.
            DeletePod(pod);
            return;
        }

        if (pod.GetController() is { } controllerRef)
        {
            if (ResolveControllerRef(pod.Metadata?.NamespaceProperty, controllerRef) is { } key)
            {
                _expectations?.CreationObserved(key);
                Controller.Queue.Add(key);
            }

            return;
        }

        // An orphan: every matching ReplicaSet may want to adopt it.
        EnqueueMatching(pod);
    }

    /// <summary>Go: <c>updatePod</c>.</summary>
    private void UpdatePod(V1Pod oldPod, V1Pod pod)
    {
        if (oldPod.Metadata?.ResourceVersion == pod.Metadata?.ResourceVersion)
        {
            return; // A resync: nothing changed.
        }

        var labelChanged = !LabelsEqual(oldPod.Metadata?.Labels, pod.Metadata?.Labels);
        if (pod.IsDeleting())
        {
            // Go: counts as a deletion now rather than waiting for the grace period.
            DeletePod(pod);
            if (labelChanged)
            {
                DeletePod(oldPod);
            }

            return;
        }

        var oldRef = oldPod.GetController();
        var curRef = pod.GetController();
        var refChanged = oldRef?.Uid != curRef?.Uid;
        if (refChanged && oldRef is not null && ResolveControllerRef(oldPod.Metadata?.NamespaceProperty, oldRef) is { } oldKey)
        {
            Controller.Queue.Add(oldKey);
        }

        if (curRef is not null)
        {
            if (ResolveControllerRef(pod.Metadata?.NamespaceProperty, curRef) is { } key)
            {
                Controller.Queue.Add(key);
            }

            return;
        }

        if (labelChanged || refChanged)
        {
            EnqueueMatching(pod);
        }
    }

    /// <summary>Go: <c>deletePod</c>.</summary>
    private void DeletePod(object obj)
    {
        if (DeletedFinalStateUnknown.Unwrap<V1Pod>(obj) is not { } pod || pod.GetController() is not { } controllerRef)
        {
            return;
        }

        if (ResolveControllerRef(pod.Metadata?.NamespaceProperty, controllerRef) is { } key)
        {
            _expectations?.DeletionObserved(key, pod.Key());
            Controller.Queue.Add(key);
        }
    }

    /// <summary>Go: <c>resolveControllerRef</c>: the key of the cached ReplicaSet with that name and UID.</summary>
    private string? ResolveControllerRef(string? @namespace, V1OwnerReference controllerRef)
    {
        if (controllerRef.Kind != Kind || controllerRef.ApiVersion?.StartsWith("apps/", StringComparison.Ordinal) != true || controllerRef.Name is null)
        {
            return null;
        }

        var key = ObjectKeys.MetaNamespaceKey(@namespace, controllerRef.Name);
        return _replicaSets.TryGetByKey(key, out var rs) && rs.Metadata?.Uid == controllerRef.Uid ? key : null;
    }

    private void EnqueueMatching(V1Pod pod)
    {
        foreach (var rs in _replicaSets.ByIndex(Indexes.Namespace, pod.Metadata?.NamespaceProperty ?? string.Empty))
        {
            LabelSelector selector;
            try
            {
                selector = rs.Spec?.Selector.ToSelector() ?? LabelSelector.Nothing;
            }
            catch (LabelSelectorException)
            {
                continue;
            }

            if (!selector.IsEverything && selector.Matches(pod.Metadata.ReadOnlyLabels()))
            {
                Controller.Queue.Add(rs.Key());
            }
        }
    }

    private static bool LabelsEqual(IDictionary<string, string>? a, IDictionary<string, string>? b)
    {
        if ((a?.Count ?? 0) != (b?.Count ?? 0))
        {
            return false;
        }

        if (a is null || b is null)
        {
            return true;
        }

        foreach (var (k, v) in a)
        {
            if (!b.TryGetValue(k, out var other) || other != v)
            {
                return false;
            }
        }

        return true;
    }
}
