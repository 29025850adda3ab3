using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Testing.ApiServer;

internal enum Subresource
{
    None,
    Status,
    Scale,
}

/// <summary>Who writes and how (<c>fieldManager</c>).</summary>
/// <summary>Who writes (the field manager) and how: <c>Update</c>, or <c>Apply</c> for server-side apply.</summary>
/// <remarks><see cref="Admit"/>: the write came over HTTP and passes admission (NamespaceLifecycle); server-side seeding through <see cref="ApiObjectStore"/> does not.</remarks>
internal sealed record WriteOptions(string Manager, string Operation = "Update", bool Admit = false);

/// <summary>DeleteOptions that matter here.</summary>
internal sealed record DeleteRequest(ApiDeletionPropagation? Propagation, string? PreconditionUid, string? PreconditionResourceVersion, long? GracePeriodSeconds = null)
{
    public static readonly DeleteRequest Default = new(null, null, null);
}

/// <summary>Result of a delete: the final object and whether it is gone (false: it waits for finalizers).</summary>
internal readonly record struct DeleteResult(StoredObject Object, bool Deleted);

/// <summary>What a new watch starts with: a snapshot (initial ADDED events) or the history after its resourceVersion.</summary>
internal sealed record WatchRegistration(ImmutableList<StoredObject>? InitialItems, List<StoredEvent> History, long StartRevision);

/// <summary>
/// The etcd-like store: one global revision, per-resource sorted persistent lists, MVCC history for
/// Exact lists, continue tokens and watches, compaction, finalizers and a simple garbage collector.
/// Every write is serialized by <see cref="_lock"/>; readers take immutable snapshots.
/// </summary>
internal sealed class ApiStore
{
    private const string NameAlphabet = "bcdfghjklmnpqrstvwxz2456789";

    private readonly Lock _lock = new();
    private readonly EmbeddedApiServerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Queue<StoredEvent> _history = new();
    private readonly Dictionary<string, HashSet<(ResourceState State, string Key)>> _dependents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (ResourceState State, string Key)> _liveUids = new(StringComparer.Ordinal);
    private volatile Dictionary<string, ResourceState> _resources = new(StringComparer.Ordinal);
    private long _revision = 1;
    private long _published = 1;
    private long _compacted;
    private TaskCompletionSource? _revisionWaiter;
    private int _discoveryVersion;

    private readonly Dictionary<(ResourceState Resource, string Namespace), long> _registrations = [];

    public ApiStore(EmbeddedApiServerOptions options, ILogger logger)
    {
        _options = options;
        _time = options.TimeProvider;
        _logger = logger;
    }

    /// <summary>The newest revision whose events have been dispatched.</summary>
    public long Revision => Volatile.Read(ref _published);

    public long CompactedRevision
    {
        get
        {
            lock (_lock)
            {
                return _compacted;
            }
        }
    }

    /// <summary>Changes whenever a resource is registered (discovery caches key on it).</summary>
    public int DiscoveryVersion => Volatile.Read(ref _discoveryVersion);

    public IReadOnlyCollection<ResourceState> Resources => _resources.Values;

    public TimeProvider Time => _time;

    private static string ResourceKey(string group, string plural) => group + "/" + plural;

    public ResourceState Register(ApiResourceDefinition def)
    {
        ArgumentNullException.ThrowIfNull(def);
        if (string.IsNullOrEmpty(def.Plural) || string.IsNullOrEmpty(def.Kind) || string.IsNullOrEmpty(def.Version))
        {
            throw new ArgumentException("Kind, Version and Plural are required.", nameof(def));
        }

        lock (_lock)
        {
            var key = ResourceKey(def.Group, def.Plural);
            if (_resources.ContainsKey(key))
            {
                throw new InvalidOperationException($"Resource {def.QualifiedResource} is already registered.");
            }

            if (_resources.Values.Any(r => r.Definition.Group == def.Group && r.Definition.Version != def.Version))
            {
                throw new InvalidOperationException($"Group {def.Group} is already served at another version; one version per group is supported.");
            }

            var state = new ResourceState(def);
            _resources = new Dictionary<string, ResourceState>(_resources, StringComparer.Ordinal) { [key] = state };
            Interlocked.Increment(ref _discoveryVersion);
            return state;
        }
    }

    public ResourceState? Find(string group, string plural) => _resources.GetValueOrDefault(ResourceKey(group, plural));

    public ResourceState Require(ApiResourceDefinition def)
        => Find(def.Group, def.Plural) ?? throw new ArgumentException($"Resource {def.QualifiedResource} is not registered.", nameof(def));

    // ---------------------------------------------------------------- reads

    public (ImmutableList<StoredObject> Items, long Revision) Current(ResourceState s)
    {
        lock (_lock)
        {
            return (s.Items, _revision);
        }
    }

    /// <summary>The objects of a resource as of <paramref name="rv"/>, or null when that revision is compacted. Throws 504 when it is in the future.</summary>
    public ImmutableList<StoredObject>? At(ResourceState s, long rv)
    {
        ImmutableList<StoredObject> items;
        List<StoredEvent> events;
        lock (_lock)
        {
            if (rv < _compacted)
            {
                s.DropSnapshotsBefore(_compacted);
                return null;
            }

            if (rv > _revision)
            {
                throw StatusErrors.TooLargeResourceVersion(rv, _revision);
            }

            var cached = s.CachedSnapshot(rv);
            if (cached is not null)
            {
                return cached;
            }

            items = s.Items;
            events = s.EventsAfter(rv);
        }

        if (events.Count > 0)
        {
            var builder = items.ToBuilder();
            for (var i = events.Count - 1; i >= 0; i--)
            {
                var e = events[i];
                var idx = builder.BinarySearch(StoredObject.Probe(e.Object.Key), StoredObject.KeyComparer);
                switch (e.Type)
                {
                    case WatchEventType.Added:
                        builder.RemoveAt(idx);
                        break;
                    case WatchEventType.Modified:
                        builder[idx] = e.Previous!;
                        break;
                    default:
                        builder.Insert(~idx, e.Previous!);
                        break;
                }
            }

            items = builder.ToImmutable();
        }

        RememberSnapshot(s, rv, items);
        return items;
    }

    public void RememberSnapshot(ResourceState s, long rv, ImmutableList<StoredObject> items)
    {
        lock (_lock)
        {
            if (rv >= _compacted)
            {
                s.CacheSnapshot(rv, items);
            }
        }
    }

    /// <summary>Waits until the revision reaches <paramref name="rv"/>; false after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForRevisionAsync(long rv, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + timeout;
        while (true)
        {
            Task signal;
            lock (_lock)
            {
                if (_published >= rv)
                {
                    return true;
                }

                _revisionWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                signal = _revisionWaiter.Task;
            }

            var remaining = deadline - _time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(remaining, _time, cts.Token);
            var done = await Task.WhenAny(signal, delay).ConfigureAwait(false);
            await cts.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (done == delay && _published < rv)
            {
                return false;
            }
        }
    }

    // ---------------------------------------------------------------- watch registration

    public WatchRegistration RegisterWatch(Watcher w, bool fromSnapshot, long fromRevision)
    {
        lock (_lock)
        {
            if (fromSnapshot)
            {
                w.Resource.Watchers.Add(w);
                CountRegistration(w);
                return new WatchRegistration(w.Resource.Items, [], _revision);
            }

            if (fromRevision < _compacted)
            {
                throw StatusErrors.ExpiredWatch(fromRevision, _compacted);
            }

            var history = w.Resource.EventsAfter(fromRevision);
            w.StartAfter = fromRevision;
            w.Resource.Watchers.Add(w);
            CountRegistration(w);
            return new WatchRegistration(null, history, fromRevision);
        }
    }

    /// <summary>How many watches of the resource in <paramref name="ns"/> have been registered so far (a scenario feed's proof that its watch reached the server).</summary>
    public long WatchRegistrations(ResourceState s, string ns)
    {
        lock (_lock)
        {
            return _registrations.GetValueOrDefault((s, ns));
        }
    }

    private void CountRegistration(Watcher w) =>
        _registrations[(w.Resource, w.Namespace ?? "")] = _registrations.GetValueOrDefault((w.Resource, w.Namespace ?? "")) + 1;

    /// <summary>The resource's events after <paramref name="rv"/> and the revision they run up to, read together.</summary>
    public (List<StoredEvent> Events, long Revision) EventsAfter(ResourceState s, long rv)
    {
        lock (_lock)
        {
            if (rv < _compacted)
            {
                throw new InvalidOperationException($"The history of {s.Definition.Plural} before {_compacted} was compacted; a scenario needs it from {rv}.");
            }

            return (s.EventsAfter(rv), _revision);
        }
    }

    public void Unregister(Watcher w)
    {
        lock (_lock)
        {
            w.Resource.Watchers.Remove(w);
        }

        w.Complete();
    }

    public int WatcherCount(ResourceState s)
    {
        lock (_lock)
        {
            return s.Watchers.Count;
        }
    }

    // ---------------------------------------------------------------- compaction

    /// <summary>Compacts all history up to the current revision.</summary>
    public long Compact()
    {
        lock (_lock)
        {
            _compacted = _revision;
            _history.Clear();
            foreach (var s in _resources.Values)
            {
                s.ClearHistory();
            }

            Log.Compacted(_logger, _compacted);
            return _compacted;
        }
    }

    // ---------------------------------------------------------------- writes

    public StoredObject Create(ResourceState s, JsonObject obj, WriteOptions options)
    {
        var def = s.Definition;
        var meta = Meta.Metadata(obj);
        var ns = Meta.GetString(meta, "namespace") ?? "";
        var name = Meta.GetString(meta, "name") ?? "";
        var generateName = Meta.GetString(meta, "generateName") ?? "";
        if (!def.Namespaced)
        {
            ns = "";
            meta.Remove("namespace");
        }
        else if (ns.Length == 0)
        {
            throw StatusErrors.BadRequest("the namespace of the object is required for a namespaced resource");
        }

        if (name.Length == 0 && generateName.Length == 0)
        {
            throw StatusErrors.Invalid(def.Kind, def.Group, "", [StatusErrors.Required("metadata.name", "name or generateName is required")]);
        }

        if (Meta.GetString(meta, "resourceVersion") is { Length: > 0 })
        {
            throw StatusErrors.InternalError("resourceVersion should not be set on objects to be created");
        }

        ValidateMetadata(def, meta, name.Length > 0 ? name : null);

        lock (_lock)
        {
            if (ns.Length > 0 && options.Admit && _options.EnforceNamespaceLifecycle)
            {
                CheckNamespaceAcceptsContent(ns);
            }

            if (name.Length == 0)
            {
                var prefix = generateName.Length > 58 ? generateName[..58] : generateName;
                for (var attempt = 0; ; attempt++)
                {
                    var candidate = prefix + RandomSuffix();
                    if (s.Get(StoredObject.MakeKey(ns, candidate)) is null)
                    {
                        name = candidate;
                        break;
                    }

                    if (attempt >= 8)
                    {
                        throw StatusErrors.AlreadyExists(def, candidate);
                    }
                }

                ValidateName(def, name);
            }

            var key = StoredObject.MakeKey(ns, name);
            if (s.Get(key) is not null)
            {
                throw StatusErrors.AlreadyExists(def, name);
            }

            var uid = Guid.NewGuid().ToString();
            var now = Meta.FormatTime(_time.GetUtcNow());
            meta["name"] = name;
            if (ns.Length > 0)
            {
                meta["namespace"] = ns;
            }

            meta["uid"] = uid;
            meta["creationTimestamp"] = now;
            meta.Remove("deletionTimestamp");
            meta.Remove("deletionGracePeriodSeconds");
            meta.Remove("selfLink");
            meta.Remove("managedFields");
            if (def.TracksGeneration)
            {
                meta["generation"] = 1;
            }
            else
            {
                meta.Remove("generation");
            }

            s.Behavior.PrepareForCreate(obj, def, uid);
            var rv = ++_revision;
            meta["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            RecordManagedFields(meta, obj, options, def.ApiVersion, now, Subresource.None);
            var stored = StoredObject.FromNode(obj, def);
            Commit(s, WatchEventType.Added, stored, null);
            return stored;
        }
    }

    /// <summary>Applies <paramref name="produce"/> to the current object and commits the result as an update of the given subresource.</summary>
    public StoredObject Mutate(ResourceState s, string ns, string name, Func<JsonObject, JsonObject> produce, WriteOptions options, Subresource sub)
    {
        lock (_lock)
        {
            var cur = s.Get(StoredObject.MakeKey(ns, name)) ?? throw StatusErrors.NotFound(s.Definition, name);
            var candidate = produce(cur.ToNode());
            return CommitUpdate(s, cur, candidate, options, sub);
        }
    }

    public DeleteResult Delete(ResourceState s, string ns, string name, DeleteRequest request)
    {
        lock (_lock)
        {
            var cur = s.Get(StoredObject.MakeKey(ns, name)) ?? throw StatusErrors.NotFound(s.Definition, name);
            CheckDeletePreconditions(s.Definition, cur, request);
            return DeleteObject(s, cur, request.Propagation ?? s.Definition.DefaultPropagation, request.GracePeriodSeconds);
        }
    }

    public List<StoredObject> DeleteCollection(ResourceState s, string? ns, LabelSelector labels, FieldSelector fields, DeleteRequest request)
    {
        lock (_lock)
        {
            var result = new List<StoredObject>();
            foreach (var o in s.Items.Where(o => (ns is null || o.Namespace == ns) && labels.Matches(o.Labels) && fields.Matches(o)).ToList())
            {
                var cur = s.Get(o.Key);
                if (cur is null)
                {
                    continue;
                }

                CheckDeletePreconditions(s.Definition, cur, request);
                result.Add(DeleteObject(s, cur, request.Propagation ?? s.Definition.DefaultPropagation).Object);
            }

            return result;
        }
    }

    private static void CheckDeletePreconditions(ApiResourceDefinition def, StoredObject cur, DeleteRequest request)
    {
        if (!string.IsNullOrEmpty(request.PreconditionUid) && request.PreconditionUid != cur.Uid)
        {
            throw StatusErrors.Conflict(def, cur.Name, $"Precondition failed: UID in precondition: {request.PreconditionUid}, UID in object meta: {cur.Uid}");
        }

        var rv = cur.ResourceVersion.ToString(CultureInfo.InvariantCulture);
        if (!string.IsNullOrEmpty(request.PreconditionResourceVersion) && request.PreconditionResourceVersion != rv)
        {
            throw StatusErrors.Conflict(def, cur.Name,
                $"the ResourceVersion in the precondition ({request.PreconditionResourceVersion}) does not match the ResourceVersion in record ({rv}). The object might have been modified");
        }
    }

    // ---------------------------------------------------------------- internals (called under _lock)

    private StoredObject CommitUpdate(ResourceState s, StoredObject cur, JsonObject candidate, WriteOptions options, Subresource sub)
    {
        var def = s.Definition;
        var oldNode = cur.ToNode();
        var oldMeta = (JsonObject)oldNode["metadata"]!;
        var candMeta = Meta.Metadata(candidate);

        var candName = Meta.GetString(candMeta, "name");
        if (!string.IsNullOrEmpty(candName) && candName != cur.Name)
        {
            throw StatusErrors.BadRequest($"the name of the object ({candName}) does not match the name on the URL ({cur.Name})");
        }

        var candNs = Meta.GetString(candMeta, "namespace");
        if (def.Namespaced && !string.IsNullOrEmpty(candNs) && candNs != cur.Namespace)
        {
            throw StatusErrors.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        var candRv = Meta.GetString(candMeta, "resourceVersion");
        if (!string.IsNullOrEmpty(candRv) && candRv != cur.ResourceVersion.ToString(CultureInfo.InvariantCulture))
        {
            throw StatusErrors.Conflict(def, cur.Name, StatusErrors.ModifiedConflict);
        }

        var candUid = Meta.GetString(candMeta, "uid");
        if (!string.IsNullOrEmpty(candUid) && candUid != cur.Uid)
        {
            throw StatusErrors.Conflict(def, cur.Name, $"Precondition failed: UID in precondition: {candUid}, UID in object meta: {cur.Uid}");
        }

        JsonObject result;
        if (sub == Subresource.Status)
        {
            result = oldNode;
            var status = candidate["status"];
            candidate.Remove("status");
            if (status is null)
            {
                result.Remove("status");
            }
            else
            {
                result["status"] = status;
            }
        }
        else
        {
            result = candidate;
            if (def.HasStatusSubresource)
            {
                var oldStatus = oldNode["status"];
                oldNode.Remove("status");
                if (oldStatus is null)
                {
                    result.Remove("status");
                }
                else
                {
                    result["status"] = oldStatus;
                }
            }

            ValidateMetadata(def, Meta.Metadata(result), null);
        }

        var meta = Meta.Metadata(result);
        var freshOld = cur.ToNode();
        var freshOldMeta = (JsonObject)freshOld["metadata"]!;
        meta["name"] = cur.Name;
        if (def.Namespaced)
        {
            meta["namespace"] = cur.Namespace;
        }
        else
        {
            meta.Remove("namespace");
        }

        meta["uid"] = cur.Uid;
        foreach (var key in (string[])["creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "managedFields", "generateName"])
        {
            var value = freshOldMeta[key];
            freshOldMeta.Remove(key);
            if (value is null)
            {
                meta.Remove(key);
            }
            else
            {
                meta[key] = value;
            }
        }

        meta.Remove("selfLink");
        if (cur.IsDeleting)
        {
            var oldFinalizers = Finalizers(oldMeta);
            var added = Finalizers(meta).Where(f => !oldFinalizers.Contains(f)).ToList();
            if (added.Count > 0)
            {
                throw StatusErrors.Invalid(def.Kind, def.Group, cur.Name,
                    [StatusErrors.Forbidden("metadata.finalizers", $"no new finalizers can be added if the object is being deleted, found new finalizers []string{{{string.Join(", ", added.Select(f => "\"" + f + "\""))}}}")]);
            }
        }

        s.Behavior.PrepareForUpdate(result, freshOld);
        if (def.TracksGeneration && SpecChanged(freshOld, result))
        {
            meta["generation"] = (Meta.GetInt(oldMeta, "generation") ?? 0) + 1;
        }

        meta["resourceVersion"] = cur.ResourceVersion.ToString(CultureInfo.InvariantCulture);

        // A write that changes nothing keeps the revision and sends no event, like etcd3's GuaranteedUpdate.
        var unchanged = GoJson.SerializeNormalized(result, def, out _);
        if (unchanged.AsSpan().SequenceEqual(cur.Json))
        {
            return cur;
        }

        if (cur.IsDeleting && Finalizers(meta).Count == 0)
        {
            return RemoveNow(s, cur);
        }

        var rv = ++_revision;
        meta["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
        RecordManagedFields(meta, result, options, def.ApiVersion, Meta.FormatTime(_time.GetUtcNow()), sub);
        var stored = StoredObject.FromNode(result, def);
        Commit(s, WatchEventType.Modified, stored, cur);
        return stored;
    }

    private static List<string> Finalizers(JsonObject meta)
        => meta["finalizers"] is JsonArray a ? a.Select(n => n?.GetValue<string>() ?? "").ToList() : [];

    private static bool SpecChanged(JsonObject oldObj, JsonObject newObj)
    {
        foreach (var kv in newObj)
        {
            if (kv.Key is "kind" or "apiVersion" or "metadata" or "status")
            {
                continue;
            }

            if (!JsonNode.DeepEquals(kv.Value, oldObj[kv.Key]))
            {
                return true;
            }
        }

        foreach (var kv in oldObj)
        {
            if (kv.Key is not ("kind" or "apiVersion" or "metadata" or "status") && !newObj.ContainsKey(kv.Key))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Replaces an object with a modified version of itself (server-side changes: deletionTimestamp, finalizers, owner references).</summary>
    private StoredObject CommitServerChange(ResourceState s, StoredObject cur, Action<JsonObject> change)
    {
        var node = cur.ToNode();
        change(node);
        var rv = ++_revision;
        Meta.Metadata(node)["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
        var stored = StoredObject.FromNode(node, s.Definition);
        Commit(s, WatchEventType.Modified, stored, cur);
        return stored;
    }

    private DeleteResult DeleteObject(ResourceState s, StoredObject cur, ApiDeletionPropagation policy, long? gracePeriodSeconds = null)
    {
        if (s.Definition is { Group: "", Plural: "namespaces" })
        {
            DeleteNamespaceContents(cur.Name);
            cur = s.Get(cur.Key) ?? cur;
        }

        if (policy == ApiDeletionPropagation.Orphan)
        {
            OrphanDependents(cur.Uid);
        }

        if (policy == ApiDeletionPropagation.Foreground && _dependents.TryGetValue(cur.Uid, out var deps) && deps.Count > 0)
        {
            var now = Meta.FormatTime(_time.GetUtcNow());
            if (!cur.IsDeleting || !Finalizers(MetaOf(cur)).Contains("foregroundDeletion"))
            {
                cur = CommitServerChange(s, cur, node =>
                {
                    var m = Meta.Metadata(node);
                    if (m["deletionTimestamp"] is null)
                    {
                        m["deletionTimestamp"] = now;
                        m["deletionGracePeriodSeconds"] = 0;
                    }

                    var f = m["finalizers"] as JsonArray ?? [];
                    f.Add("foregroundDeletion");
                    m["finalizers"] = f;
                });
            }

            var pending = cur;
            foreach (var (ds, key) in deps.ToList())
            {
                if (ds.Get(key) is { } d && !d.IsDeleting)
                {
                    DeleteObject(ds, d, ApiDeletionPropagation.Foreground);
                }
            }

            // The owner stays, terminating, while a dependent is still there (held by its own finalizers); removing the
            // last one finishes the owner's deletion (CompleteForegroundDeletion).
            cur = s.Get(pending.Key) ?? pending;
            return HasDependents(cur.Uid) ? new DeleteResult(cur, false) : FinishForegroundDeletion(s, cur);
        }

        if (s.Behavior.GracefulDelete && GracePeriod(cur, gracePeriodSeconds) is { } grace and > 0)
        {
            // A pod on a node terminates gracefully (kube-apiserver's pod strategy): deletionTimestamp = now + grace and
            // the pod stays until its kubelet deletes it with grace 0. A later DELETE may only shorten the grace period.
            var existing = cur.IsDeleting ? Meta.GetInt(MetaOf(cur), "deletionGracePeriodSeconds") : null;
            if (existing is { } e && e <= grace)
            {
                return new DeleteResult(cur, false);
            }

            var deadline = Meta.FormatTime(_time.GetUtcNow().AddSeconds(grace));
            cur = CommitServerChange(s, cur, node =>
            {
                var m = Meta.Metadata(node);
                m["deletionTimestamp"] = deadline;
                m["deletionGracePeriodSeconds"] = grace;
            });
            return new DeleteResult(cur, false);
        }

        if (cur.IsDeleting && !(s.Behavior.GracefulDelete && gracePeriodSeconds == 0 && !cur.HasFinalizers))
        {
            return new DeleteResult(cur, false);
        }

        if (cur.HasFinalizers || s.Behavior.GracefulDelete)
        {
            var now = Meta.FormatTime(_time.GetUtcNow());
            cur = CommitServerChange(s, cur, node =>
            {
                var m = Meta.Metadata(node);
                m["deletionTimestamp"] = now;
                m["deletionGracePeriodSeconds"] = 0;
            });
            if (cur.HasFinalizers)
            {
                return new DeleteResult(cur, false);
            }
        }

        return new DeleteResult(RemoveNow(s, cur), true);
    }

    /// <summary>
    /// kube-apiserver's NamespaceLifecycle admission: nothing is created in a namespace that does not exist (404 for the
    /// namespace) or is being deleted (403).
    /// </summary>
    private void CheckNamespaceAcceptsContent(string ns)
    {
        if (Find("", "namespaces") is not { } namespaces)
        {
            return;
        }

        var namespaceObject = namespaces.Get(StoredObject.MakeKey("", ns)) ?? throw StatusErrors.NotFound(namespaces.Definition, ns);
        if (namespaceObject.IsDeleting)
        {
            var message = $"unable to create new content in namespace {ns} because it is being terminated";
            throw new ApiServerStatusException(403, "Forbidden", message, StatusErrors.BuildStatus(403, "Forbidden", message, null));
        }
    }

    /// <summary>
    /// The grace period of a pod delete: 0 for a pod on no node or in a terminal phase (deleted at once, as the wire
    /// shows: MODIFIED with the deletionTimestamp, then DELETED); else the request's, the pod's
    /// <c>terminationGracePeriodSeconds</c>, or 30 s.
    /// </summary>
    private static long? GracePeriod(StoredObject pod, long? requested)
    {
        var node = pod.ToNode();
        var spec = node["spec"] as JsonObject;
        var nodeName = spec is null ? null : Meta.TryGetString(spec, "nodeName");
        var phase = node["status"] is JsonObject status ? Meta.TryGetString(status, "phase") : null;
        if (string.IsNullOrEmpty(nodeName) || phase is "Succeeded" or "Failed")
        {
            return 0;
        }

        return requested ?? (spec is null ? null : Meta.GetInt(spec, "terminationGracePeriodSeconds")) ?? 30;
    }

    private static JsonObject MetaOf(StoredObject o) => (JsonObject)o.ToNode()["metadata"]!;

    private bool HasDependents(string ownerUid) =>
        _dependents.TryGetValue(ownerUid, out var deps) && deps.Any(d => d.State.Get(d.Key) is { } o && o.OwnerUids.Contains(ownerUid));

    /// <summary>Drops the <c>foregroundDeletion</c> finalizer; the owner goes when no other finalizer holds it.</summary>
    private DeleteResult FinishForegroundDeletion(ResourceState s, StoredObject cur)
    {
        var remaining = Finalizers(MetaOf(cur)).Where(f => f != "foregroundDeletion").ToList();
        if (remaining.Count == 0)
        {
            return new DeleteResult(RemoveNow(s, cur), true);
        }

        cur = CommitServerChange(s, cur, node =>
        {
            var m = Meta.Metadata(node);
            m["finalizers"] = new JsonArray(remaining.Select(f => (JsonNode)f!).ToArray());
        });
        return new DeleteResult(cur, false);
    }

    /// <summary>After a dependent is gone, finishes the foreground deletion of owners that were waiting only for it.</summary>
    private void CompleteForegroundDeletion(StoredObject removed)
    {
        foreach (var ownerUid in removed.OwnerUids)
        {
            if (_liveUids.TryGetValue(ownerUid, out var at) && at.State.Get(at.Key) is { IsDeleting: true } owner
                && Finalizers(MetaOf(owner)).Contains("foregroundDeletion") && !HasDependents(ownerUid))
            {
                FinishForegroundDeletion(at.State, owner);
            }
        }
    }

    /// <summary>Removes the object (DELETED at a new revision carrying its last state) and garbage-collects its dependents.</summary>
    private StoredObject RemoveNow(ResourceState s, StoredObject cur)
    {
        var rv = ++_revision;
        var deleted = cur.WithResourceVersion(rv, s.Definition);
        Commit(s, WatchEventType.Deleted, deleted, cur);
        CollectDependents(cur.Uid);
        CompleteForegroundDeletion(cur);
        return deleted;
    }

    private void CollectDependents(string ownerUid)
    {
        if (!_dependents.TryGetValue(ownerUid, out var deps) || deps.Count == 0)
        {
            return;
        }

        foreach (var (ds, key) in deps.ToList())
        {
            var d = ds.Get(key);
            if (d is null || !d.OwnerUids.Contains(ownerUid))
            {
                continue;
            }

            if (d.OwnerUids.Any(u => u != ownerUid && _liveUids.ContainsKey(u)))
            {
                CommitServerChange(ds, d, node => RemoveOwnerReference(node, ownerUid));
            }
            else if (!d.IsDeleting)
            {
                DeleteObject(ds, d, ApiDeletionPropagation.Background);
            }
        }
    }

    private void OrphanDependents(string ownerUid)
    {
        if (!_dependents.TryGetValue(ownerUid, out var deps))
        {
            return;
        }

        foreach (var (ds, key) in deps.ToList())
        {
            if (ds.Get(key) is { } d)
            {
                CommitServerChange(ds, d, node => RemoveOwnerReference(node, ownerUid));
            }
        }
    }

    private static void RemoveOwnerReference(JsonObject node, string ownerUid)
    {
        var m = Meta.Metadata(node);
        if (m["ownerReferences"] is JsonArray refs)
        {
            for (var i = refs.Count - 1; i >= 0; i--)
            {
                if (refs[i] is JsonObject r && Meta.TryGetString(r, "uid") == ownerUid)
                {
                    refs.RemoveAt(i);
                }
            }
        }
    }

    private void DeleteNamespaceContents(string ns)
    {
        foreach (var rs in _resources.Values.Where(r => r.Definition.Namespaced))
        {
            foreach (var o in rs.Items.Where(o => o.Namespace == ns).ToList())
            {
                if (rs.Get(o.Key) is { IsDeleting: false } cur)
                {
                    DeleteObject(rs, cur, ApiDeletionPropagation.Background);
                }
            }
        }
    }

    private void Commit(ResourceState s, WatchEventType type, StoredObject obj, StoredObject? previous)
    {
        var idx = s.Find(obj.Key);
        switch (type)
        {
            case WatchEventType.Added:
                s.Items = s.Items.Insert(~idx, obj);
                break;
            case WatchEventType.Modified:
                s.Items = s.Items.SetItem(idx, obj);
                break;
            default:
                s.Items = s.Items.RemoveAt(idx);
                break;
        }

        if (previous is not null)
        {
            foreach (var uid in previous.OwnerUids)
            {
                if (_dependents.TryGetValue(uid, out var set))
                {
                    set.Remove((s, previous.Key));
                    if (set.Count == 0)
                    {
                        _dependents.Remove(uid);
                    }
                }
            }
        }

        if (type == WatchEventType.Deleted)
        {
            _liveUids.Remove(obj.Uid);
        }
        else
        {
            _liveUids[obj.Uid] = (s, obj.Key);
            foreach (var uid in obj.OwnerUids)
            {
                if (!_dependents.TryGetValue(uid, out var set))
                {
                    set = [];
                    _dependents[uid] = set;
                }

                set.Add((s, obj.Key));
            }
        }

        var e = new StoredEvent(s, type, obj, previous, _time.GetUtcNow());
        s.Append(e);
        _history.Enqueue(e);
        var limit = Math.Max(1, _options.WatchHistoryLimit);
        while (_history.Count > limit)
        {
            var oldest = _history.Dequeue();
            oldest.Resource.DropOldest();
            _compacted = oldest.ResourceVersion;
        }

        List<Watcher>? dead = null;
        foreach (var w in s.Watchers)
        {
            if (!w.Offer(e))
            {
                (dead ??= []).Add(w);
            }
        }

        if (dead is not null)
        {
            foreach (var w in dead)
            {
                s.Watchers.Remove(w);
                Log.WatcherOverflow(_logger, s.Definition.QualifiedResource, _options.WatchBufferSize);
            }
        }

        Volatile.Write(ref _published, obj.ResourceVersion);
        if (_revisionWaiter is { } waiter)
        {
            _revisionWaiter = null;
            waiter.TrySetResult();
        }
    }

    private static string RandomSuffix()
    {
        Span<char> chars = stackalloc char[5];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = NameAlphabet[Random.Shared.Next(NameAlphabet.Length)];
        }

        return new string(chars);
    }

    private static void ValidateName(ApiResourceDefinition def, string name)
    {
        var ok = def.Plural == "namespaces" && def.Group.Length == 0 ? Validation.IsDns1123Label(name) : Validation.IsDns1123Subdomain(name);
        if (!ok)
        {
            var message = def.Plural == "namespaces" && def.Group.Length == 0 ? Validation.Dns1123LabelMessage : Validation.Dns1123SubdomainMessage;
            throw StatusErrors.Invalid(def.Kind, def.Group, name, [StatusErrors.InvalidValue("metadata.name", name, message)]);
        }
    }

    /// <summary>Name, label and annotation syntax (422 Invalid like kube-apiserver's ValidateObjectMeta).</summary>
    private static void ValidateMetadata(ApiResourceDefinition def, JsonObject meta, string? name)
    {
        if (name is not null)
        {
            ValidateName(def, name);
        }

        var causes = new List<StatusCause>();
        foreach (var (key, value) in Meta.GetStringMap(meta, "labels"))
        {
            if (!Validation.IsQualifiedName(key))
            {
                causes.Add(StatusErrors.InvalidValue("metadata.labels", key, "name part " + Validation.QualifiedNameMessage));
            }

            if (!Validation.IsLabelValue(value))
            {
                causes.Add(StatusErrors.InvalidValue("metadata.labels", value, Validation.LabelValueMessage));
            }
        }

        foreach (var (key, _) in Meta.GetStringMap(meta, "annotations"))
        {
            if (!Validation.IsQualifiedName(key.ToLowerInvariant()))
            {
                causes.Add(StatusErrors.InvalidValue("metadata.annotations", key, "name part " + Validation.QualifiedNameMessage));
            }
        }

        if (meta["finalizers"] is { } f && f is not JsonArray)
        {
            throw StatusErrors.BadRequest($"json: cannot unmarshal {Meta.Describe(f)} into Go struct field ObjectMeta.metadata.finalizers of type []string");
        }

        if (meta["finalizers"] is JsonArray fa && fa.Any(x => x is not JsonValue v || v.GetValueKind() != System.Text.Json.JsonValueKind.String))
        {
            throw StatusErrors.BadRequest("json: cannot unmarshal value into Go struct field ObjectMeta.metadata.finalizers of type string");
        }

        if (meta["ownerReferences"] is { } o && (o is not JsonArray oa || oa.Any(x => x is not JsonObject)))
        {
            throw StatusErrors.BadRequest("json: cannot unmarshal value into Go struct field ObjectMeta.metadata.ownerReferences of type []v1.OwnerReference");
        }

        if (causes.Count > 0)
        {
            throw StatusErrors.Invalid(def.Kind, def.Group, name ?? Meta.TryGetString(meta, "name") ?? "", causes);
        }
    }

    private void RecordManagedFields(JsonObject meta, JsonObject obj, WriteOptions options, string apiVersion, string time, Subresource sub)
    {
        var manager = options.Manager;
        if (!_options.RecordManagedFields)
        {
            meta.Remove("managedFields");
            return;
        }

        var fields = new JsonObject();
        if (sub == Subresource.Status)
        {
            if (obj["status"] is JsonObject status)
            {
                fields["f:status"] = FieldSet(status, isStruct: true);
            }
        }
        else
        {
            var metaFields = new JsonObject();
            foreach (var key in (string[])["generateName", "labels", "annotations", "finalizers", "ownerReferences"])
            {
                if (meta[key] is { } value)
                {
                    metaFields["f:" + key] = FieldValue(key, value);
                }
            }

            if (metaFields.Count > 0)
            {
                fields["f:metadata"] = metaFields;
            }

            foreach (var kv in obj)
            {
                if (kv.Key is "kind" or "apiVersion" or "metadata" or "status" || kv.Value is null)
                {
                    continue;
                }

                fields["f:" + kv.Key] = FieldValue(kv.Key, kv.Value);
            }
        }

        var entries = meta["managedFields"] as JsonArray ?? [];
        meta.Remove("managedFields");
        var subName = sub == Subresource.Status ? "status" : sub == Subresource.Scale ? "scale" : null;
        var index = -1;
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i] is JsonObject e && Meta.TryGetString(e, "manager") == manager && Meta.TryGetString(e, "operation") == options.Operation
                && Meta.TryGetString(e, "subresource") == subName)
            {
                index = i;
                break;
            }
        }

        if (fields.Count > 0)
        {
            var entry = new JsonObject
            {
                ["manager"] = manager,
                ["operation"] = options.Operation,
                ["apiVersion"] = apiVersion,
                ["time"] = time,
                ["fieldsType"] = "FieldsV1",
                ["fieldsV1"] = fields,
            };
            if (subName is not null)
            {
                entry["subresource"] = subName;
            }

            if (index >= 0)
            {
                entries[index] = entry;
            }
            else
            {
                entries.Add(entry);
            }
        }

        if (entries.Count > 0)
        {
            meta["managedFields"] = entries;
        }
    }

    // The associative lists of the built-in kinds and their merge keys (structured-merge-diff's list-map keys, from the
    // types' +listMapKey tags). A list not named here is atomic; "ports" is keyed by containerPort in a container and by
    // port in a Service.
    private static readonly Dictionary<string, string[]> ListMapKeys = new(StringComparer.Ordinal)
    {
        ["containers"] = ["name"],
        ["initContainers"] = ["name"],
        ["ephemeralContainers"] = ["name"],
        ["env"] = ["name"],
        ["volumes"] = ["name"],
        ["volumeMounts"] = ["mountPath"],
        ["imagePullSecrets"] = ["name"],
        ["conditions"] = ["type"],
        ["podIPs"] = ["ip"],
        ["hostIPs"] = ["ip"],
        ["ownerReferences"] = ["uid"],
    };

    // What structured-merge-diff records for a field's value, approximated without the type's schema: a struct lists its
    // fields; a map of scalars (labels, annotations, resource limits) also marks itself with "."; an associative list
    // marks itself and lists each element under k:{key}; an atomic list, an empty object and a scalar are leaves.
    private static JsonObject FieldValue(string field, JsonNode? node) => node switch
    {
        JsonObject { Count: > 0 } obj => FieldSet(obj, isStruct: field is "spec" or "status"),
        JsonArray array when MergeKeyFields(field, array) is { } keyFields => ListFieldSet(array, keyFields, marked: field is not "containers"),
        _ => new JsonObject(),
    };

    private static JsonObject FieldSet(JsonObject obj, bool isStruct)
    {
        var set = new JsonObject();
        if (!isStruct && obj.All(static kv => kv.Value is JsonValue))
        {
            set["."] = new JsonObject();
        }

        foreach (var kv in obj)
        {
            set["f:" + kv.Key] = FieldValue(kv.Key, kv.Value);
        }

        return set;
    }

    private static string[]? MergeKeyFields(string field, JsonArray array)
    {
        if (field == "ports")
        {
            return array.Count > 0 && array[0] is JsonObject first && first.ContainsKey("containerPort") ? ["containerPort", "protocol"] : ["port", "protocol"];
        }

        return ListMapKeys.GetValueOrDefault(field);
    }

    // kube-apiserver marks an optional list itself with "." but not a required one (a pod's containers).
    private static JsonObject ListFieldSet(JsonArray array, string[] keyFields, bool marked)
    {
        var set = new JsonObject();
        if (marked)
        {
            set["."] = new JsonObject();
        }

        foreach (var item in array)
        {
            if (item is not JsonObject element)
            {
                return new JsonObject();
            }

            // Owner references are atomic structs: the element is recorded, its fields are not.
            var elementSet = new JsonObject();
            if (keyFields is not ["uid"])
            {
                elementSet["."] = new JsonObject();
                foreach (var kv in element)
                {
                    elementSet["f:" + kv.Key] = FieldValue(kv.Key, kv.Value);
                }
            }

            var key = new JsonObject();
            foreach (var keyField in keyFields)
            {
                if (element[keyField] is { } value)
                {
                    key[keyField] = value.DeepClone();
                }
            }

            set["k:" + key.ToJsonString()] = elementSet;
        }

        return set;
    }

    /// <summary>Creates an object server-side as part of bootstrapping (default namespaces).</summary>
    public void Seed(ApiResourceDefinition def, string name)
    {
        var s = Require(def);
        if (s.Get(name) is null)
        {
            Create(s, new JsonObject { ["metadata"] = new JsonObject { ["name"] = name } }, new WriteOptions("kube-apiserver"));
        }
    }
}
