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
/// A Job controller modelled on kube-controller-manager's <c>pkg/controller/job/job_controller.go</c> (NonIndexed
/// completion mode; see <see cref="JobLogic"/> for the counting rules): runs up to <c>parallelism</c> pods until
/// <c>completions</c> succeeded, honours <c>backoffLimit</c>, and sets the <c>Complete</c>/<c>Failed</c> condition.
/// Gated by a <see cref="StalenessGate"/> over <c>pods</c> and <c>jobs.batch</c> (subsystem <c>job_controller</c>, §8.4):
/// pod creates, the counting patches and the status writes are recorded. Works on KubernetesClient's <see cref="V1Job"/>
/// and <see cref="V1Pod"/>: pod writes go through a KubeConsistency resource client, the status write through
/// <see cref="IKubernetes"/>.
/// </summary>
public sealed class JobController
{
    /// <summary>The metric subsystem (§9.1).</summary>
    public const string MetricSubsystem = "job_controller";

    private const string ApiVersion = "batch/v1";
    private const string Kind = "Job";

    private static readonly ObjectMetadataAccessor<V1Job> Accessor = KubernetesObjectMetadata.For<V1Job>();
    private static readonly ObjectMetadataAccessor<V1Pod> PodAccessor = KubernetesObjectMetadata.For<V1Pod>();

    private readonly IIndexer<V1Pod> _pods;
    private readonly IIndexer<V1Job> _jobs;
    private readonly IKubernetes _kubernetes;
    private readonly ConsistentWriter<V1Pod> _podWriter;
    private readonly IPodControl<V1Pod> _podControl;
    private readonly IUidTrackingControllerExpectations? _expectations;
    private readonly IUidTrackingControllerExpectations? _countExpectations;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IEventHandlerRegistration[] _registrations;

    /// <summary>Creates the controller and registers its event handlers on the informers.</summary>
    public JobController(SampleControllerOptions<V1Job> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        PodIndexes.EnsureControllerUidIndex(options.PodInformer);
        _pods = options.PodInformer.Indexer;
        _jobs = options.OwnerInformer.Indexer;
        _kubernetes = options.Kubernetes;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory?.CreateLogger<JobController>() ?? (ILogger)NullLogger.Instance;
        var store = options.UseConsistencyStore
            ? ConsistencyStore.Create([new(GroupResource.Pods, _pods), new(GroupResource.Jobs, _jobs)], new ConsistencyStoreOptions { Semantics = options.ConsistencySemantics })
            : ConsistencyStore.Noop;
        store = options.ConsistencyStoreDecorator?.Invoke(store) ?? store;
        Gate = StalenessGate.Create(new StalenessGateOptions
        {
            ControllerName = MetricSubsystem,
            ConsistencyStore = store,
            TimeProvider = options.TimeProvider,
            Logger = _logger,
            MeterFactory = options.MeterFactory,
        });
        if (options.UseExpectations)
        {
            // Go: expectations for pod creates and deletes, and finalizerExpectations for the pods being counted.
            _expectations = ControllerExpectations.CreateUidTracking(options.TimeProvider, _logger);
            _countExpectations = ControllerExpectations.CreateUidTracking(options.TimeProvider, _logger);
        }

        // Pod creates (PodControl) and the counting patches (the writer) record their returned resource versions themselves.
        _podWriter = Gate.Writer(options.Pods, PodAccessor);
        _podControl = PodControl.Create(new PodControlOptions<V1Pod>
        {
            Pods = options.Pods,
            Gate = Gate,
            Expectations = _expectations,
            Accessor = PodAccessor,
            Logger = _logger,
        });
        Controller = KubeConsistency.Controllers.Controller.Create(
            new ControllerOptions
            {
                Name = "job",
                Workers = options.Workers,
                TimeProvider = options.TimeProvider,
                RateLimiter = options.RateLimiter,
                Logger = _logger,
                MeterFactory = options.MeterFactory,
            },
            SyncAsync);
        _registrations =
        [
            options.OwnerInformer.AddEventHandler(EnqueueHandlers.ForObject(Controller.Queue, Gate, Accessor, _logger)),
            options.PodInformer.AddEventHandler(new ResourceEventHandler<V1Pod>
            {
                OnAdd = (pod, _) => OnPod(null, pod),
                OnUpdate = OnPod,
                OnDelete = deleted =>
                {
                    if (DeletedFinalStateUnknown.Unwrap<V1Pod>(deleted) is { } pod && ResolveControllerRef(pod) is { } key)
                    {
                        _expectations?.DeletionObserved(key, pod.Key());
                        _countExpectations?.DeletionObserved(key, pod.Key());
                        Controller.Queue.Add(key);
                    }
                },
            }),
        ];
    }

    /// <summary>The work-queue host.</summary>
    public IController Controller { get; }

    /// <summary>The staleness gate (its counter is <c>job_controller_stale_sync_skips_total</c>).</summary>
    public StalenessGate Gate { get; }

    /// <summary>Waits for the informers' initial lists to reach the handlers, then runs the workers until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Controller.RunAsync(_registrations, cancellationToken);

    /// <summary>Go: <c>syncJob</c>.</summary>
    internal async ValueTask<ReconcileResult> SyncAsync(string key, CancellationToken cancellationToken)
    {
        var owner = NamespacedName.FromKey(key);
        if (Gate.EnsureReady(owner) is { } stale)
        {
            return ReconcileResult.StaleSyncSkipped(stale);
        }

        if (!_jobs.TryGetByKey(key, out var job))
        {
            Log.OwnerDeleted(_logger, Kind, key);
            Gate.OwnerNotFound(owner);
            _expectations?.DeleteExpectations(key);
            _countExpectations?.DeleteExpectations(key);
            return ReconcileResult.Done;
        }

        if (JobLogic.IsFinished(job))
        {
            return ReconcileResult.Done;
        }

        // Go: with expectations, a Job whose pod creates/deletes or counting patches are not observed yet is not managed
        // (and here not counted either: the cache would still show the pods as uncounted).
        if (_expectations?.SatisfiedExpectations(key) == false || _countExpectations?.SatisfiedExpectations(key) == false)
        {
            return ReconcileResult.Done;
        }

        LabelSelector selector;
        try
        {
            selector = job.Spec?.Selector.ToSelector() ?? LabelSelector.Nothing;
        }
        catch (LabelSelectorException ex)
        {
            Log.InvalidSelector(_logger, Kind, key, ex);
            return ReconcileResult.Done;
        }

        var uid = job.Metadata.Uid;
        var owned = PodIndexes.PodsByOwner(_pods, owner.Namespace, uid, includeOrphans: false)
            .Where(p => p.Metadata?.NamespaceProperty == owner.Namespace && selector.Matches(p.Metadata.ReadOnlyLabels()))
            .ToList();
        var plan = JobLogic.Plan(job, owned, manage: !job.IsDeleting());

        var (created, deleted, manageError) = await ManagePodsAsync(job, key, plan, cancellationToken).ConfigureAwait(false);

        // Count first (with the cached Job's resource version as a precondition: a stale Job gets 409, not a lost write),
        // then mark the counted pods. See JobLogic's remarks.
        var status = JobLogic.NewStatus(job, plan, created, deleted, _time.GetUtcNow());
        if (JobLogic.StatusChanged(job.Status, status))
        {
            try
            {
                // §8.1 step 2 with no code per kind: inside the gate's write scope, the ConsistencyRecordingHandler in the
                // client's handler chain records the resource version this PUT returns, under jobs.batch, for this Job.
                using var scope = Gate.BeginWriteScope(owner, uid);
                await _kubernetes.BatchV1.ReplaceNamespacedJobStatusAsync(job with { Status = status }, owner.Name, owner.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (scope.RecordedWrites == 0)
                {
                    Log.StatusWriteNotRecorded(_logger, Kind, owner);
                }
            }
            catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Conflict)
            {
                Log.StatusConflict(_logger, Kind, key);
                return ReconcileResult.RequeueRateLimited;
            }
        }

        await MarkCountedAsync(owner, uid, key, plan.Uncounted, cancellationToken).ConfigureAwait(false);
        if (manageError is not null)
        {
            throw new InvalidOperationException($"Failed to manage the pods of {key}: {manageError.Message}", manageError);
        }

        return ReconcileResult.Done;
    }

    private async Task<(int Created, int Deleted, Exception? Error)> ManagePodsAsync(V1Job job, string key, JobSyncPlan plan, CancellationToken cancellationToken)
    {
        var owner = NamespacedName.FromKey(key);
        if (plan.ToCreate > 0)
        {
            _expectations?.ExpectCreations(key, plan.ToCreate);
            var controllerRef = Accessor.NewControllerRef(job, ApiVersion, Kind);
            var template = job.Spec?.Template;
            var (successes, failures, error) = await PodLogic.SlowStartBatchAsync(plan.ToCreate, PodLogic.SlowStartInitialBatchSize, async () =>
                await _podControl.CreatePodAsync(owner.Namespace, controllerRef, template?.Metadata.ReadOnlyLabels(), request => PodLogic.FromTemplate(request, template), cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
            for (var i = plan.ToCreate - successes - failures; i > 0; i--)
            {
                _expectations?.CreationObserved(key);
            }

            return (successes, 0, error);
        }

        if (plan.ToDelete.Count > 0)
        {
            _expectations?.ExpectDeletions(key, [.. plan.ToDelete.Select(p => p.Key())]);
            var deletes = plan.ToDelete.Select(p => _podControl.DeletePodAsync(owner, p.Metadata.Name, cancellationToken).AsTask()).ToArray();
            try
            {
                await Task.WhenAll(deletes).ConfigureAwait(false);
            }
            catch (Exception) when (deletes.Any(t => t.IsFaulted))
            {
                return (0, deletes.Count(t => t.IsCompletedSuccessfully), deletes.First(t => t.IsFaulted).Exception!.InnerException);
            }

            return (0, deletes.Length, null);
        }

        return (0, 0, null);
    }

    private async Task MarkCountedAsync(NamespacedName owner, string uid, string key, IReadOnlyList<V1Pod> uncounted, CancellationToken cancellationToken)
    {
        if (uncounted.Count == 0)
        {
            return;
        }

        _countExpectations?.ExpectDeletions(key, [.. uncounted.Select(p => p.Key())]);
        foreach (var pod in uncounted)
        {
            try
            {
                // A tracked pod write (Go: removing the tracking finalizer goes through PatchPod, which records it).
                await _podWriter.PatchAsync(owner, uid, pod.Metadata.NamespaceProperty, pod.Metadata.Name, PodLogic.LabelPatch(pod, JobLogic.CountedLabel, "true"), cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (NotFoundException)
            {
                _countExpectations?.DeletionObserved(key, pod.Key());
            }
            catch
            {
                _countExpectations?.DeletionObserved(key, pod.Key());
                throw;
            }
        }
    }

    private void OnPod(V1Pod? oldPod, V1Pod pod)
    {
        if (oldPod is not null && oldPod.Metadata?.ResourceVersion == pod.Metadata?.ResourceVersion)
        {
            return;
        }

        if (ResolveControllerRef(pod) is not { } key)
        {
            return;
        }

        if (oldPod is null)
        {
            _expectations?.CreationObserved(key);
        }

        if (pod.IsDeleting())
        {
            _expectations?.DeletionObserved(key, pod.Key());
        }

        if (pod.GetLabel(JobLogic.CountedLabel) == "true")
        {
            _countExpectations?.DeletionObserved(key, pod.Key());
        }

        Controller.Queue.Add(key);
    }

    private string? ResolveControllerRef(V1Pod pod)
    {
        if (pod.GetController() is not { Kind: Kind, Name: { } name } controllerRef || controllerRef.ApiVersion?.StartsWith("batch/", StringComparison.Ordinal) != true)
        {
            return null;
        }

        var key = ObjectKeys.MetaNamespaceKey(pod.Metadata?.NamespaceProperty, name);
        return _jobs.TryGetByKey(key, out var job) && job.Metadata?.Uid == controllerRef.Uid ? key : null;
    }
}
