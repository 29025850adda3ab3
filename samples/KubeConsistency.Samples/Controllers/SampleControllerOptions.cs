using System.Diagnostics.Metrics;
using k8s;
using k8s.Models;
using KubeConsistency.Client;
using KubeConsistency.Controllers;
using KubeConsistency.Informers;
using KubeConsistency.KubernetesClient;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Samples.Controllers;

/// <summary>Options shared by <see cref="ReplicaSetController"/> and <see cref="JobController"/>.</summary>
/// <typeparam name="TOwner">The owner type (<see cref="V1ReplicaSet"/> or <see cref="V1Job"/>).</typeparam>
public sealed class SampleControllerOptions<TOwner>
    where TOwner : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>
    /// KubernetesClient's client for owner reads (the adoption re-check) and the owner's own status writes. It must have a
    /// <see cref="ConsistencyRecordingHandler"/> in its handler chain (<c>new Kubernetes(config, new ConsistencyRecordingHandler())</c>):
    /// that handler is what records the status writes for the gate.
    /// </summary>
    public required IKubernetes Kubernetes { get; init; }

    /// <summary>
    /// Pod writes (creates, adoption/release and counting patches, deletes), e.g. <c>kubernetes.Resource&lt;V1Pod&gt;()</c>.
    /// Wrap it in a <see cref="CountingPodClient"/> to count creates.
    /// </summary>
    public required IResourceClient<V1Pod> Pods { get; init; }

    /// <summary>The shared pod informer.</summary>
    public required ISharedIndexInformer<V1Pod> PodInformer { get; init; }

    /// <summary>The shared owner informer.</summary>
    public required ISharedIndexInformer<TOwner> OwnerInformer { get; init; }

    /// <summary>
    /// Gate syncs on the owner's own writes with <see cref="KubeConsistency.Consistency.ConsistencyStore.Create(IEnumerable{KeyValuePair{GroupResource, KubeConsistency.Consistency.ILastSyncResourceVersionGetter}})"/> over the pod and owner
    /// informer stores (the v1.36 <c>StaleControllerConsistency*</c> gates on); <see langword="false"/> uses the no-op store
    /// (the gates off). Default <see langword="true"/>.
    /// </summary>
    public bool UseConsistencyStore { get; init; } = true;

    /// <summary>
    /// The consistency store's rules: v1.36's fail-open ones (default) or client-go v1.38's fail-closed ones, where a
    /// cache that reports no resource version yet is not ready.
    /// </summary>
    public KubeConsistency.Consistency.ConsistencySemantics ConsistencySemantics { get; init; }

    /// <summary>
    /// Wraps the controller's consistency store (real or no-op), e.g. with the property-test kit's
    /// <c>ScenarioContext.ObserveConsistency</c>, which checks that it never reports ready over an unobserved write.
    /// </summary>
    public Func<KubeConsistency.Consistency.IConsistencyStore, KubeConsistency.Consistency.IConsistencyStore>? ConsistencyStoreDecorator { get; init; }

    /// <summary>
    /// Track pod deletes as writes (beyond v1.36: <see cref="StalenessGateOptions.TrackDeletes"/>): a scale-down then waits
    /// until the pod cache has observed its deletes before the next sync acts. Default <see langword="false"/>, as upstream.
    /// </summary>
    public bool TrackDeletes { get; init; }

    /// <summary>Use controller expectations (kube-controller-manager always does; off by default here to show what the gate alone does).</summary>
    public bool UseExpectations { get; init; }

    /// <summary>Concurrent syncs (Go: <c>--concurrent-replicaset-syncs</c>/<c>--concurrent-job-syncs</c>, default 5).</summary>
    public int Workers { get; init; } = 5;

    /// <summary>The queue's rate limiter; <see langword="null"/> uses the default controller rate limiter.</summary>
    public IRateLimiter<string>? RateLimiter { get; init; }

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logging; <see langword="null"/> logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Metrics (queue and skip counter); <see langword="null"/> uses the static meter.</summary>
    public IMeterFactory? MeterFactory { get; init; }
}
