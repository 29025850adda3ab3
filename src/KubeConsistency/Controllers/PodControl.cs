using KubeConsistency.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Controllers;

/// <summary>
/// What a pod factory receives from <see cref="IPodControl{TPod}.CreatePodAsync"/>: the metadata the new pod must carry
/// (Go: <c>GetPodFromTemplate</c>). The factory copies the rest (spec, annotations, finalizers) from the owner's template.
/// </summary>
/// <param name="Namespace">The namespace to create the pod in (the owner's): set it as <c>metadata.namespace</c>.</param>
/// <param name="GenerateName">The name prefix: the owner's name followed by <c>-</c> (Go: <c>getPodsPrefix</c>).</param>
/// <param name="Labels">A copy of the template's labels: set them as <c>metadata.labels</c>.</param>
/// <param name="ControllerRef">The owner's controller reference: set it as the only entry of <c>metadata.ownerReferences</c>.</param>
public sealed record PodCreateRequest(string Namespace, string GenerateName, IReadOnlyDictionary<string, string> Labels, OwnerReference ControllerRef);

/// <summary>Options for <see cref="PodControl.Create{TPod}"/>.</summary>
/// <typeparam name="TPod">The caller's pod type (a KubernetesClient <c>V1Pod</c>, a <c>JsonObject</c>, …).</typeparam>
public sealed class PodControlOptions<TPod>
    where TPod : class
{
    /// <summary>The pods client.</summary>
    public required IResourceClient<TPod> Pods { get; init; }

    /// <summary>
    /// Records every created pod's resource version for its owner (§8.1 step 2, <c>{"", "pods"}</c>); <see langword="null"/>
    /// records nothing.
    /// </summary>
    public StalenessGate? Gate { get; init; }

    /// <summary>
    /// Lowered when a create or delete fails, because the informer will never observe it (Go: the ReplicaSet controller's
    /// <c>CreationObserved</c>/<c>DeletionObserved</c> after a failure). With <see cref="IUidTrackingControllerExpectations"/>,
    /// the deleted pod's key is used. <see langword="null"/> tracks nothing.
    /// </summary>
    public IControllerExpectations? Expectations { get; init; }

    /// <summary>Reads pods' metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</summary>
    public ObjectMetadataAccessor<TPod>? Accessor { get; init; }

    /// <summary>
    /// The pod informer's store, where a tracked delete answered without a resource version is observed by UID
    /// (<see cref="StalenessGateOptions.TrackDeletes"/>); <see langword="null"/> tracks only deletes that return one.
    /// </summary>
    public Cache.IStore<TPod>? PodCache { get; init; }

    /// <summary>Where to log; defaults to no logging.</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>
/// Creates and deletes the pods of a controller (Go: <c>RealPodControl</c> with the v1.36 write hook): a created pod gets
/// <c>generateName</c> = owner name + <c>-</c>, the template's labels and the owner's controller reference; its returned
/// resource version is recorded through the <see cref="StalenessGate"/>; a failed create or delete lowers the
/// expectations. Deletes are not recorded (§8.1 step 2) unless the gate tracks them and the pod is passed
/// (<see cref="DeletePodAsync(NamespacedName, string, TPod, CancellationToken)"/>).
/// </summary>
/// <typeparam name="TPod">The caller's pod type.</typeparam>
public interface IPodControl<TPod>
    where TPod : class
{
    /// <summary>
    /// Creates one pod for the owner named by <paramref name="controllerRef"/> in <paramref name="namespace"/>.
    /// </summary>
    /// <param name="namespace">The owner's namespace; the pod is created there.</param>
    /// <param name="controllerRef">The owner's controller reference (see <see cref="OwnerReference.NewControllerRef"/>).</param>
    /// <param name="templateLabels">The pod template's labels; upstream refuses to create pods without labels.</param>
    /// <param name="buildPod">Builds the caller's pod from the request (metadata) and the owner's template (the rest).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The created pod as the server returned it.</returns>
    /// <exception cref="ArgumentException">The controller reference is not a controller reference, the labels are empty, or the
    /// built pod names another namespace. Expectations are lowered for these too, as upstream does for any failed create.</exception>
    /// <exception cref="KubernetesApiException">The server refused the pod.</exception>
    ValueTask<TPod> CreatePodAsync(string @namespace, OwnerReference controllerRef, IReadOnlyDictionary<string, string>? templateLabels, Func<PodCreateRequest, TPod> buildPod, CancellationToken cancellationToken = default);

    /// <summary>Deletes pod <paramref name="podName"/> of <paramref name="owner"/> (in the owner's namespace).</summary>
    /// <param name="owner">The owner, whose key the expectations use.</param>
    /// <param name="podName">The pod's name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns><see langword="true"/> when deleted; <see langword="false"/> when it was already gone (NotFound).</returns>
    /// <exception cref="KubernetesApiException">The delete failed for another reason (expectations were lowered).</exception>
    ValueTask<bool> DeletePodAsync(NamespacedName owner, string podName, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes <paramref name="pod"/> of <paramref name="owner"/> with a UID precondition and, when the gate tracks deletes
    /// (<see cref="StalenessGateOptions.TrackDeletes"/>), records the delete so the owner's syncs wait until the pod cache
    /// has observed it: by the returned resource version, or by UID in <see cref="PodControlOptions{TPod}.PodCache"/>
    /// (also when the pod was already gone).
    /// </summary>
    /// <param name="owner">The owner, whose key the expectations and the gate use.</param>
    /// <param name="ownerUid">The owner's UID.</param>
    /// <param name="pod">The pod to delete, as the cache holds it.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns><see langword="true"/> when deleted; <see langword="false"/> when it was already gone (NotFound).</returns>
    /// <exception cref="KubernetesApiException">The delete failed for another reason (expectations were lowered).</exception>
    ValueTask<bool> DeletePodAsync(NamespacedName owner, string ownerUid, TPod pod, CancellationToken cancellationToken = default);
}

/// <summary>Creates <see cref="IPodControl{TPod}"/>s.</summary>
public static class PodControl
{
    /// <summary>The longest <c>generateName</c> prefix: a DNS subdomain's 253 characters.</summary>
    internal const int MaxPrefixLength = 253;

    /// <summary>Creates a pod control.</summary>
    /// <typeparam name="TPod">The caller's pod type.</typeparam>
    /// <param name="options">The options.</param>
    public static IPodControl<TPod> Create<TPod>(PodControlOptions<TPod> options)
        where TPod : class
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Pods, nameof(options));
        return new RealPodControl<TPod>(options);
    }

    /// <summary>
    /// The <c>generateName</c> of an owner's pods (Go: <c>getPodsPrefix</c>): <c>name-</c>, or the bare name when the dash
    /// would make the prefix too long.
    /// </summary>
    /// <param name="ownerName">The owner's name.</param>
    public static string GenerateNamePrefix(string ownerName)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerName);
        return ownerName.Length + 1 <= MaxPrefixLength ? ownerName + "-" : ownerName;
    }
}

internal sealed class RealPodControl<TPod>(PodControlOptions<TPod> options) : IPodControl<TPod>
    where TPod : class
{
    private readonly IResourceClient<TPod> _pods = options.Pods;
    private readonly StalenessGate? _gate = options.Gate;
    private readonly IControllerExpectations? _expectations = options.Expectations;
    private readonly ObjectMetadataAccessor<TPod> _accessor = options.Accessor ?? ObjectMetadataAccessor<TPod>.Default;
    private readonly ILogger _logger = options.Logger ?? NullLogger.Instance;
    private readonly Cache.IStore<TPod>? _podCache = options.PodCache;

    public async ValueTask<TPod> CreatePodAsync(string @namespace, OwnerReference controllerRef, IReadOnlyDictionary<string, string>? templateLabels, Func<PodCreateRequest, TPod> buildPod, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(@namespace);
        ArgumentNullException.ThrowIfNull(controllerRef);
        ArgumentNullException.ThrowIfNull(buildPod);
        var owner = new NamespacedName(@namespace, controllerRef.Name);
        try
        {
            ValidateControllerRef(controllerRef);
            if (templateLabels is null || templateLabels.Count == 0)
            {
                // Go: "unable to create pods, no labels" — a pod without labels could never be matched back to its owner.
                throw new ArgumentException($"Unable to create pods for {owner}: the template has no labels.", nameof(templateLabels));
            }

            var request = new PodCreateRequest(@namespace, PodControl.GenerateNamePrefix(controllerRef.Name), new Dictionary<string, string>(templateLabels, StringComparer.Ordinal), controllerRef);
            var pod = buildPod(request);
            var podNamespace = pod is null ? null : _accessor.GetNamespace(pod);
            if (!string.IsNullOrEmpty(podNamespace) && !string.Equals(podNamespace, @namespace, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The pod factory put the pod in namespace \"{podNamespace}\", but the owner {owner} is in \"{@namespace}\".", nameof(buildPod));
            }

            var created = await _pods.CreateAsync(pod!, cancellationToken).ConfigureAwait(false);
            ControllerLog.PodCreated(_logger, owner, _accessor.GetName(created) ?? "?");
            _gate?.RecordWrite(owner, controllerRef.Uid, _pods.Resource.GroupResource, created, _accessor);
            return created;
        }
        catch (Exception ex)
        {
            // The informer will never see this pod: stop waiting for it (Go: CreationObserved for each failed or skipped create).
            _expectations?.CreationObserved(owner.ToKey());
            ControllerLog.PodCreateFailed(_logger, owner, ex);
            throw;
        }
    }

    public async ValueTask<bool> DeletePodAsync(NamespacedName owner, string podName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(podName);
        var podKey = ObjectKeys.MetaNamespaceKey(owner.Namespace, podName);
        ControllerLog.DeletingPod(_logger, owner, podKey);
        try
        {
            await _pods.DeleteAsync(owner.Namespace, podName, options: null, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (NotFoundException)
        {
            // Already gone: the informer may never deliver a delete we are waiting for.
            LowerDeletion(owner, podKey);
            ControllerLog.PodAlreadyDeleted(_logger, owner, podKey);
            return false;
        }
        catch (Exception ex)
        {
            LowerDeletion(owner, podKey);
            ControllerLog.PodDeleteFailed(_logger, owner, podKey, ex);
            throw;
        }
    }

    public async ValueTask<bool> DeletePodAsync(NamespacedName owner, string ownerUid, TPod pod, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var podName = _accessor.GetName(pod);
        ArgumentException.ThrowIfNullOrEmpty(podName, nameof(pod));
        var podKey = ObjectKeys.MetaNamespaceKey(owner.Namespace, podName);
        var uid = _accessor.GetUid(pod);
        var options = string.IsNullOrEmpty(uid) ? null : new DeleteOptions { Preconditions = new Preconditions { Uid = uid } };
        ControllerLog.DeletingPod(_logger, owner, podKey);
        try
        {
            var result = await _pods.DeleteWithResultAsync(owner.Namespace, podName, options, cancellationToken).ConfigureAwait(false);
            _gate?.RecordDelete(owner, ownerUid, _pods.Resource.GroupResource, pod, result, _podCache, _accessor);
            return true;
        }
        catch (NotFoundException)
        {
            // Already gone, but the cache may still hold it: wait for the cache to see that before acting on it again.
            if (_podCache is not null)
            {
                _gate?.ExpectDeletion(owner, ownerUid, _pods.Resource.GroupResource, pod, _podCache, _accessor);
            }

            LowerDeletion(owner, podKey);
            ControllerLog.PodAlreadyDeleted(_logger, owner, podKey);
            return false;
        }
        catch (Exception ex)
        {
            LowerDeletion(owner, podKey);
            ControllerLog.PodDeleteFailed(_logger, owner, podKey, ex);
            throw;
        }
    }

    private static void ValidateControllerRef(OwnerReference controllerRef)
    {
        // Go: validateControllerRef.
        if (string.IsNullOrEmpty(controllerRef.ApiVersion))
        {
            throw new ArgumentException("The controller reference has an empty apiVersion.", nameof(controllerRef));
        }

        if (string.IsNullOrEmpty(controllerRef.Kind))
        {
            throw new ArgumentException("The controller reference has an empty kind.", nameof(controllerRef));
        }

        if (string.IsNullOrEmpty(controllerRef.Name) || string.IsNullOrEmpty(controllerRef.Uid))
        {
            throw new ArgumentException("The controller reference needs the owner's name and UID.", nameof(controllerRef));
        }

        if (controllerRef.Controller != true)
        {
            throw new ArgumentException("The controller reference does not have controller set to true.", nameof(controllerRef));
        }

        if (controllerRef.BlockOwnerDeletion != true)
        {
            throw new ArgumentException("The controller reference does not have blockOwnerDeletion set to true.", nameof(controllerRef));
        }
    }

    private void LowerDeletion(NamespacedName owner, string podKey)
    {
        if (_expectations is IUidTrackingControllerExpectations tracking)
        {
            tracking.DeletionObserved(owner.ToKey(), podKey);
        }
        else
        {
            _expectations?.DeletionObserved(owner.ToKey());
        }
    }
}
