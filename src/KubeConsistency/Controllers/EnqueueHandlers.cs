using KubeConsistency.Cache;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Controllers;

/// <summary>
/// Event handlers that turn informer notifications into work-queue keys, the way kube-controller-manager's controllers
/// register them: an owner's own events enqueue its key; an owned object's events enqueue its controller's key.
/// </summary>
public static class EnqueueHandlers
{
    /// <summary>
    /// Enqueues the <c>namespace/name</c> key of every added, updated or deleted object (Go: <c>enqueueRS</c> with
    /// <c>DeletionHandlingMetaNamespaceKeyFunc</c>: a tombstone's key is used as is). With a <paramref name="gate"/>, a delete
    /// first clears the owner's consistency record with the deleted object's UID (§8.1 step 4).
    /// </summary>
    /// <typeparam name="T">The owner type.</typeparam>
    /// <param name="queue">The controller's queue.</param>
    /// <param name="gate">The controller's staleness gate, or <see langword="null"/>.</param>
    /// <param name="accessor">Reads metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</param>
    /// <param name="logger">Logs objects whose key cannot be computed; defaults to no logging.</param>
    public static IResourceEventHandler<T> ForObject<T>(IWorkQueue<string> queue, StalenessGate? gate = null, ObjectMetadataAccessor<T>? accessor = null, ILogger? logger = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(queue);
        accessor ??= ObjectMetadataAccessor<T>.Default;
        logger ??= NullLogger.Instance;
        return new ResourceEventHandler<T>
        {
            OnAdd = (obj, _) => Enqueue(queue, accessor, obj, logger),
            OnUpdate = (_, obj) => Enqueue(queue, accessor, obj, logger),
            OnDelete = deleted =>
            {
                gate?.OwnerDeleted(deleted, accessor);
                if (deleted is DeletedFinalStateUnknown<T> tombstone)
                {
                    queue.Add(tombstone.Key);
                }
                else if (deleted is T obj)
                {
                    Enqueue(queue, accessor, obj, logger);
                }
            },
        };
    }

    /// <summary>
    /// Enqueues the key of the controller owner (<c>namespace/controllerRef.name</c>) of every added, updated or deleted
    /// object whose controller reference has kind <paramref name="ownerKind"/> in API group <paramref name="ownerGroup"/>
    /// (Go: <c>resolveControllerRef</c> without the UID check, which the reconcile repeats against its cache). An update that
    /// changes the controller reference enqueues both the old and the new owner. Tombstones are unwrapped; a tombstone
    /// without a last known state enqueues nothing.
    /// </summary>
    /// <typeparam name="T">The owned type (e.g. pods).</typeparam>
    /// <param name="queue">The owner controller's queue.</param>
    /// <param name="ownerGroup">The owner's API group (e.g. <c>apps</c>; <c>""</c> for the core group).</param>
    /// <param name="ownerKind">The owner's kind (e.g. <c>ReplicaSet</c>).</param>
    /// <param name="accessor">Reads metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</param>
    public static IResourceEventHandler<T> ForControllerOwner<T>(IWorkQueue<string> queue, string ownerGroup, string ownerKind, ObjectMetadataAccessor<T>? accessor = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(ownerGroup);
        ArgumentException.ThrowIfNullOrEmpty(ownerKind);
        accessor ??= ObjectMetadataAccessor<T>.Default;
        return new ResourceEventHandler<T>
        {
            OnAdd = (obj, _) => EnqueueOwner(queue, accessor, obj, ownerGroup, ownerKind),
            OnUpdate = (oldObj, newObj) =>
            {
                var oldKey = OwnerKey(accessor, oldObj, ownerGroup, ownerKind);
                var newKey = OwnerKey(accessor, newObj, ownerGroup, ownerKind);
                if (oldKey is not null && !string.Equals(oldKey, newKey, StringComparison.Ordinal))
                {
                    queue.Add(oldKey);
                }

                if (newKey is not null)
                {
                    queue.Add(newKey);
                }
            },
            OnDelete = deleted =>
            {
                if (DeletedFinalStateUnknown.Unwrap<T>(deleted) is { } obj)
                {
                    EnqueueOwner(queue, accessor, obj, ownerGroup, ownerKind);
                }
            },
        };
    }

    /// <summary>
    /// The key of <paramref name="obj"/>'s controller owner when it is a <paramref name="ownerKind"/> of
    /// <paramref name="ownerGroup"/>; otherwise <see langword="null"/>.
    /// </summary>
    /// <typeparam name="T">The owned type.</typeparam>
    /// <param name="accessor">Reads metadata.</param>
    /// <param name="obj">The owned object.</param>
    /// <param name="ownerGroup">The owner's API group.</param>
    /// <param name="ownerKind">The owner's kind.</param>
    public static string? OwnerKey<T>(ObjectMetadataAccessor<T> accessor, T obj, string ownerGroup, string ownerKind)
    {
        ArgumentNullException.ThrowIfNull(accessor);
        if (obj is null || accessor.GetControllerOf(obj) is not { } controller)
        {
            return null;
        }

        return string.Equals(controller.Kind, ownerKind, StringComparison.Ordinal) && string.Equals(controller.Group, ownerGroup, StringComparison.Ordinal) && controller.Name.Length > 0
            ? ObjectKeys.MetaNamespaceKey(accessor.GetNamespace(obj), controller.Name)
            : null;
    }

    private static void EnqueueOwner<T>(IWorkQueue<string> queue, ObjectMetadataAccessor<T> accessor, T obj, string ownerGroup, string ownerKind)
    {
        if (OwnerKey(accessor, obj, ownerGroup, ownerKind) is { } key)
        {
            queue.Add(key);
        }
    }

    private static void Enqueue<T>(IWorkQueue<string> queue, ObjectMetadataAccessor<T> accessor, T obj, ILogger logger)
        where T : class
    {
        if (!accessor.HasMetadata(obj) || string.IsNullOrEmpty(accessor.GetName(obj)))
        {
            ControllerLog.KeyFailed(logger, typeof(T).Name, "object has no name");
            return;
        }

        queue.Add(ObjectKeys.MetaNamespaceKey(accessor.GetNamespace(obj), accessor.GetName(obj)));
    }
}
