using System.Globalization;
using System.Threading.Channels;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Informers;
using KubeConsistency.Testing.ApiServer;
using ServerEventType = KubeConsistency.Testing.ApiServer.WatchEventType;
using WatchEventType = KubeConsistency.Client.WatchEventType;

namespace KubeConsistency.Testing.Scenarios;

/// <summary>What the runner needs of one informer of a case, whatever its object type.</summary>
internal interface IScenarioFeed
{
    ScenarioInformer Definition { get; }

    object Informer { get; }

    Task Run { get; }

    string StoreResourceVersion { get; }

    /// <summary>The watch is open and drained, the FIFO and the handlers are idle, the store has applied all that was sent.</summary>
    bool IsQuiescent { get; }

    int PendingCount { get; }

    string Describe();

    void Start(CancellationToken stopping);

    string? Deliver(int count);

    string? Bookmark();

    string? Disconnect(bool repeatLast);

    string? Relist(int behind);

    /// <summary>Compares the informer's store with the server's objects; returns the difference, or null.</summary>
    string? CompareWithServer();

    /// <summary>During a relist: the store must hold exactly what the list served (checked from handler callbacks).</summary>
    string? CheckRelistApplied();

    /// <summary>The relist (or initial list) being checked has been applied; the checks stop until the next one.</summary>
    void EndRelistCheck();

    /// <summary>Reads the server's new events (before a compaction would take them away).</summary>
    void Pull();

    /// <summary>The case is over: stop holding the resource's events on the server.</summary>
    void Release();
}

/// <summary>
/// A list-watch served from the embedded server's event history of one resource in the case's namespace, released to the
/// informer only as the schedule says. The server stays the source of truth: its store applies every write (the controller's
/// over HTTP, other clients' directly); this feed only decides delivery.
/// </summary>
internal sealed class ScenarioFeed<T> : IScenarioFeed, IListWatch<T>
    where T : class
{
    private readonly Lock _lock = new();
    private readonly ScenarioCase _case;
    private readonly ResourceState _resource;
    private readonly Func<byte[], T> _decode;
    private readonly ObjectMetadataAccessor<T> _accessor;
    private readonly ISharedIndexInformer<T> _informer;
    private readonly IListWatch<T>? _http;
    private bool _expectList;
    private readonly SharedIndexInformerImpl<T> _impl;
    private readonly SortedDictionary<string, StoredObject> _initial = new(StringComparer.Ordinal);
    private readonly List<(ServerEventType Type, StoredObject Object)> _log = [];
    private long _pulledUpTo;
    private long _servedUpTo;
    private long _expiredBelow;
    private int _relistBehind;
    private bool _repeatOnResume;
    private Stream? _stream;
    private IReadOnlyDictionary<string, long>? _relisted;

    public ScenarioFeed(ScenarioInformer definition, ScenarioCase scenario, Func<byte[], T> decode, SharedIndexInformerOptions<T> options, IListWatch<T>? http)
    {
        Definition = definition;
        _http = http;
        _case = scenario;
        _decode = decode;
        _accessor = options.MetadataAccessor ?? ObjectMetadataAccessor<T>.Default;
        _resource = scenario.Store.Require(definition.Resource);
        var (items, revision) = scenario.Store.Current(_resource);
        foreach (var o in items.Where(InScope))
        {
            _initial[o.Key] = o;
        }

        _pulledUpTo = revision;
        _servedUpTo = revision;
        if (http is not null)
        {
            // Over HTTP the server holds the resource's live events; deliveries release them.
            Faults.HoldWatchEvents(definition.Resource.Group, definition.Resource.Plural, revision);
        }

        _informer = SharedIndexInformer.Create(this, options);
        _impl = (SharedIndexInformerImpl<T>)_informer;

        // A handler of the runner's own: when a relist is being applied, every callback must see all of it (§2.4).
        _informer.AddEventHandler(new ResourceEventHandler<T>
        {
            OnAdd = (_, _) => _case.Report(CheckRelistApplied()),
            OnUpdate = (_, _) => _case.Report(CheckRelistApplied()),
            OnDelete = _ => _case.Report(CheckRelistApplied()),
        });
    }

    public ScenarioInformer Definition { get; }

    public object Informer => _informer;

    public Task Run { get; private set; } = Task.CompletedTask;

    public string StoreResourceVersion => _informer.Indexer.LastStoreSyncResourceVersion;

    public bool IsQuiescent
    {
        get
        {
            long served;
            lock (_lock)
            {
                if (_expectList || _stream is not { ReaderWaiting: true } s || s.Channel.Reader.Count > 0)
                {
                    return false;
                }

                // Over HTTP the reader waits as soon as the request is sent: quiet only once the server has registered it, or a
                // disconnect right now would end nothing and the request would open a watch nobody ends.
                if (_http is not null && _case.Store.WatchRegistrations(_resource, _case.Cluster.Namespace) <= s.RegistrationsBefore)
                {
                    return false;
                }

                served = _servedUpTo;
            }

            return _impl.IsQuiescent
                && long.TryParse(StoreResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var applied)
                && applied >= served;
        }
    }

    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                PullLocked();
                return Pending().Count();
            }
        }
    }

    public void Start(CancellationToken stopping) => Run = _informer.RunAsync(stopping);

    public string Describe()
    {
        lock (_lock)
        {
            var stream = _stream is null ? "no watch open" : _stream.ReaderWaiting ? "watch open, reader waiting" : $"watch open, {_stream.Channel.Reader.Count} unread";
            return $"{Definition.Name}: {stream}; sent up to {_servedUpTo}, store at \"{StoreResourceVersion}\", informer {(_impl.IsQuiescent ? "idle" : "busy")}, {Pending().Count()} pending";
        }
    }

    // ------------------------------------------------------------------ the schedule's levers

    public string? Deliver(int count)
    {
        lock (_lock)
        {
            if (_stream is null)
            {
                return "no watch open";
            }

            PullLocked();
            var batch = Pending().Take(count <= 0 ? int.MaxValue : count).ToList();
            if (_http is not null)
            {
                if (batch.Count > 0)
                {
                    _servedUpTo = batch[^1].Object.ResourceVersion;
                    Faults.ReleaseWatchEvents(Definition.Resource.Group, Definition.Resource.Plural, _servedUpTo);
                }

                return batch.Count == 0 ? "nothing pending" : null;
            }

            foreach (var (type, obj) in batch)
            {
                _stream.Channel.Writer.TryWrite(new WatchEvent<T>(Map(type), _decode(obj.Json), Rv(obj.ResourceVersion)));
                _servedUpTo = obj.ResourceVersion;
            }

            return batch.Count == 0 ? "nothing pending" : null;
        }
    }

    public string? Bookmark()
    {
        lock (_lock)
        {
            if (_stream is null)
            {
                return "no watch open";
            }

            if (_http is not null)
            {
                return "not over HTTP: the server sends bookmarks on its own timer";
            }

            PullLocked();
            var first = Pending().Select(e => (long?)e.Object.ResourceVersion).FirstOrDefault();
            var rv = first is { } f ? f - 1 : _pulledUpTo;
            if (rv <= _servedUpTo)
            {
                return "nothing to advance";
            }

            _stream.Channel.Writer.TryWrite(new WatchEvent<T>(WatchEventType.Bookmark, null, Rv(rv)));
            _servedUpTo = rv;
            return null;
        }
    }

    public string? Disconnect(bool repeatLast)
    {
        lock (_lock)
        {
            if (_stream is null)
            {
                return "no watch open";
            }

            _stream.Channel.Writer.TryComplete();
            _stream = null;
            if (_http is not null)
            {
                Faults.EndWatches(Definition.Resource.Group, Definition.Resource.Plural);
                return repeatLast ? "over HTTP the server repeats nothing" : null;
            }

            _repeatOnResume = repeatLast;
            return null;
        }
    }

    public string? Relist(int behind)
    {
        lock (_lock)
        {
            if (_stream is null)
            {
                return "no watch open";
            }

            _expectList = true;
            if (_http is not null)
            {
                // Compaction takes the history away: every feed of the case reads it first.
                // A compaction expires only revisions below the newest: a marker write first makes the informer's own one older.
                _stream = null;
                _case.Cluster.Objects.Create(ApiResourceDefinition.ConfigMaps, new System.Text.Json.Nodes.JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "ConfigMap",
                    ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["generateName"] = "scenario-compaction-", ["namespace"] = _case.Cluster.Namespace },
                });
                _case.PullAll();
                Faults.CompactHistory();
                Faults.EndWatches(Definition.Resource.Group, Definition.Resource.Plural);
                return behind > 0 ? "over HTTP the list is served at the newest revision" : null;
            }

            _expiredBelow = _servedUpTo + 1;
            _relistBehind = behind;
            _stream.Error = new ResourceExpiredException($"too old resource version: {_servedUpTo} ({_servedUpTo + 1})");
            _stream.Channel.Writer.TryComplete();
            _stream = null;
            return null;
        }
    }

    // ------------------------------------------------------------------ checks

    public string? CompareWithServer()
    {
        Dictionary<string, long> server;
        lock (_lock)
        {
            PullLocked();
            server = StateAt(_pulledUpTo).ToDictionary(kv => kv.Key, kv => kv.Value.ResourceVersion, StringComparer.Ordinal);
        }

        var store = StoreState();
        var missing = server.Keys.Except(store.Keys).Order(StringComparer.Ordinal).ToList();
        var extra = store.Keys.Except(server.Keys).Order(StringComparer.Ordinal).ToList();
        var stale = server.Where(kv => store.TryGetValue(kv.Key, out var rv) && rv != kv.Value).Select(kv => $"{kv.Key} at {store[kv.Key]} (server {kv.Value})").ToList();
        if (missing.Count + extra.Count + stale.Count == 0)
        {
            return null;
        }

        return $"the {Definition.Name} cache did not converge to the server: missing [{string.Join(", ", missing)}], extra [{string.Join(", ", extra)}], stale [{string.Join(", ", stale)}]";
    }

    public string? CheckRelistApplied()
    {
        var expected = Volatile.Read(ref _relisted);
        if (expected is null)
        {
            return null;
        }

        var store = StoreState();
        if (store.Count == expected.Count && expected.All(kv => store.TryGetValue(kv.Key, out var rv) && rv == kv.Value))
        {
            return null;
        }

        return $"a {Definition.Name} handler saw a half-applied relist: the store held {store.Count} object(s) of the {expected.Count} listed";
    }

    /// <summary>The runner marks the end of a relist step (checks stop).</summary>
    public void EndRelistCheck() => Volatile.Write(ref _relisted, null);

    private Dictionary<string, long> StoreState() => StateOf(_informer.Indexer.List());

    /// <summary>Key → resource version (-1 when unparsable) of objects as the informer holds them.</summary>
    private Dictionary<string, long> StateOf(IEnumerable<T> objects)
    {
        var state = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var obj in objects)
        {
            var key = ObjectKeys.MetaNamespaceKey(_accessor.GetNamespace(obj), _accessor.GetName(obj) ?? "");
            state[key] = long.TryParse(_accessor.GetResourceVersion(obj), NumberStyles.None, CultureInfo.InvariantCulture, out var rv) ? rv : -1;
        }

        return state;
    }

    /// <summary>A list (or watch-list) is being served: until the step ends, handlers must see exactly this state.</summary>
    private void ExpectRelist(IReadOnlyDictionary<string, long> state) => Volatile.Write(ref _relisted, state);

    // ------------------------------------------------------------------ IListWatch<T>

    public ValueTask<ListPage<T>> ListAsync(ListOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        cancellationToken.ThrowIfCancellationRequested();
        if (_http is not null)
        {
            return ListOverHttpAsync(options, cancellationToken);
        }

        lock (_lock)
        {
            PullLocked();
            var rv = SnapshotRevision();
            var state = StateAt(rv);
            _servedUpTo = rv;
            _expiredBelow = 0;
            _expectList = false;
            ExpectRelist(state.ToDictionary(kv => kv.Key, kv => kv.Value.ResourceVersion, StringComparer.Ordinal));
            _case.Signal();
            return ValueTask.FromResult(new ListPage<T> { Items = [.. state.Values.Select(o => _decode(o.Json))], ResourceVersion = Rv(rv) });
        }
    }

    public IAsyncEnumerable<WatchEvent<T>> WatchAsync(WatchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return _http is null ? WatchCoreAsync(options, cancellationToken) : WatchOverHttpAsync(options, cancellationToken);
    }

    private async ValueTask<ListPage<T>> ListOverHttpAsync(ListOptions options, CancellationToken cancellationToken)
    {
        var page = await _http!.ListAsync(options, cancellationToken).ConfigureAwait(false);
        if (page.Continue is null && long.TryParse(page.ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var rv))
        {
            lock (_lock)
            {
                // The watch from the list's revision starts there: the release point moves with it.
                _servedUpTo = Math.Max(_servedUpTo, rv);
                Faults.ReleaseWatchEvents(Definition.Resource.Group, Definition.Resource.Plural, _servedUpTo);
                if (options.Continue is null)
                {
                    ExpectRelist(StateOf(page.Items));
                }

                _expectList = false;
            }

            _case.Signal();
        }

        return page;
    }

    private async IAsyncEnumerable<WatchEvent<T>> WatchOverHttpAsync(WatchOptions options, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = new Stream { RegistrationsBefore = _case.Store.WatchRegistrations(_resource, _case.Cluster.Namespace) };
        lock (_lock)
        {
            _stream = stream;
        }

        try
        {
            var events = _http!.WatchAsync(options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            await using var disposeEvents = events.ConfigureAwait(false);
            while (true)
            {
                stream.ReaderWaiting = true;
                _case.Signal();
                bool more;
                try
                {
                    more = await events.MoveNextAsync().ConfigureAwait(false);
                }
                finally
                {
                    stream.ReaderWaiting = false;
                }

                if (!more)
                {
                    break;
                }

                var e = events.Current;
                if (e.IsInitialEventsEnd && long.TryParse(e.ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var rv))
                {
                    lock (_lock)
                    {
                        _servedUpTo = Math.Max(_servedUpTo, rv);
                        Faults.ReleaseWatchEvents(Definition.Resource.Group, Definition.Resource.Plural, _servedUpTo);
                        _expectList = false;
                    }
                }

                yield return e;
            }
        }
        finally
        {
            lock (_lock)
            {
                if (ReferenceEquals(_stream, stream))
                {
                    _stream = null;
                }
            }
        }
    }

    private async IAsyncEnumerable<WatchEvent<T>> WatchCoreAsync(WatchOptions options, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = Open(options);
        try
        {
            var reader = stream.Channel.Reader;
            while (true)
            {
                if (reader.TryRead(out var e))
                {
                    yield return e;
                    continue;
                }

                stream.ReaderWaiting = true;
                _case.Signal();
                bool more;
                try
                {
                    more = await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    stream.ReaderWaiting = false;
                }

                if (!more)
                {
                    break;
                }
            }

            if (stream.Error is { } error)
            {
                throw error;
            }
        }
        finally
        {
            lock (_lock)
            {
                if (ReferenceEquals(_stream, stream))
                {
                    _stream = null;
                }
            }
        }
    }

    private Stream Open(WatchOptions options)
    {
        lock (_lock)
        {
            PullLocked();
            var stream = new Stream();
            if (options.SendInitialEvents == true)
            {
                // Watch-list: the state as of a snapshot as ADDED events, then the initial-events-end bookmark.
                var rv = SnapshotRevision();
                var state = StateAt(rv);
                ExpectRelist(state.ToDictionary(kv => kv.Key, kv => kv.Value.ResourceVersion, StringComparer.Ordinal));
                foreach (var o in state.Values)
                {
                    stream.Channel.Writer.TryWrite(new WatchEvent<T>(WatchEventType.Added, _decode(o.Json), Rv(o.ResourceVersion)));
                }

                stream.Channel.Writer.TryWrite(new WatchEvent<T>(WatchEventType.Bookmark, null, Rv(rv), isInitialEventsEnd: true));
                _servedUpTo = rv;
                _expiredBelow = 0;
                _expectList = false;
            }
            else
            {
                var from = long.TryParse(options.ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : _pulledUpTo;
                if (from < _expiredBelow)
                {
                    throw new ResourceExpiredException($"too old resource version: {from} ({_expiredBelow})");
                }

                if (_repeatOnResume && _log.LastOrDefault(e => e.Object.ResourceVersion == from) is { Object: not null } last)
                {
                    stream.Channel.Writer.TryWrite(new WatchEvent<T>(Map(last.Type), _decode(last.Object.Json), Rv(last.Object.ResourceVersion)));
                }

                _repeatOnResume = false;
                _servedUpTo = from;
            }

            _stream = stream;
            _case.Signal();
            return stream;
        }
    }

    // ------------------------------------------------------------------ history

    private bool InScope(StoredObject o) => !Definition.Resource.Namespaced || o.Namespace == _case.Cluster.Namespace;

    public void Pull()
    {
        lock (_lock)
        {
            PullLocked();
        }
    }

    public void Release()
    {
        if (_http is not null)
        {
            Faults.ClearWatchHold(Definition.Resource.Group, Definition.Resource.Plural);
        }
    }

    private ApiServerFaults Faults => _case.Cluster.Server.Faults;

    /// <summary>Reads the server's new events of this resource (under the server's lock, with the revision they run up to).</summary>
    private void PullLocked()
    {
        var (events, revision) = _case.Store.EventsAfter(_resource, _pulledUpTo);
        foreach (var e in events)
        {
            if (e.ResourceVersion <= revision && InScope(e.Object))
            {
                _log.Add((e.Type, e.Object));
            }
        }

        _pulledUpTo = Math.Max(_pulledUpTo, revision);
    }

    private IEnumerable<(ServerEventType Type, StoredObject Object)> Pending() => _log.Where(e => e.Object.ResourceVersion > _servedUpTo);

    /// <summary>The revision a (re)list is served at: the newest, or before the newest <c>behind</c> events, never older than what was sent.</summary>
    private long SnapshotRevision()
    {
        var behind = _relistBehind;
        _relistBehind = 0;
        if (behind > 0 && _log.Count >= behind)
        {
            return Math.Max(_servedUpTo, _log[^behind].Object.ResourceVersion - 1);
        }

        return _pulledUpTo;
    }

    private SortedDictionary<string, StoredObject> StateAt(long rv)
    {
        var state = new SortedDictionary<string, StoredObject>(_initial, StringComparer.Ordinal);
        foreach (var (type, obj) in _log)
        {
            if (obj.ResourceVersion > rv)
            {
                break;
            }

            if (type == ServerEventType.Deleted)
            {
                state.Remove(obj.Key);
            }
            else
            {
                state[obj.Key] = obj;
            }
        }

        return state;
    }

    private static WatchEventType Map(ServerEventType type) => type switch
    {
        ServerEventType.Added => WatchEventType.Added,
        ServerEventType.Modified => WatchEventType.Modified,
        ServerEventType.Deleted => WatchEventType.Deleted,
        _ => WatchEventType.Bookmark,
    };

    private static string Rv(long rv) => rv.ToString(CultureInfo.InvariantCulture);

    private sealed class Stream
    {
        // Not single-reader: only the multi-reader channel can count its items, which quiescence needs.
        public Channel<WatchEvent<T>> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<WatchEvent<T>>(new UnboundedChannelOptions { SingleReader = false });

        public volatile bool ReaderWaiting;

        public Exception? Error { get; set; }

        /// <summary>Over HTTP: the server's count of watch registrations in the namespace before this watch was requested.</summary>
        public long RegistrationsBefore { get; init; }
    }
}
