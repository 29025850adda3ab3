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

    public ScenarioFeed(ScenarioInformer definition, ScenarioCase scenario, Func<byte[], T> decode, SharedIndexInformerOptions<T> options)
    {
        Definition = definition;
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
                if (_stream is not { ReaderWaiting: true } s || s.Channel.Reader.Count > 0)
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
                Pull();
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

            Pull();
            var batch = Pending().Take(count <= 0 ? int.MaxValue : count).ToList();
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

            Pull();
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

            _repeatOnResume = repeatLast;
            _stream.Channel.Writer.TryComplete();
            _stream = null;
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
            Pull();
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

    private Dictionary<string, long> StoreState()
    {
        var store = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var obj in _informer.Indexer.List())
        {
            var key = ObjectKeys.MetaNamespaceKey(_accessor.GetNamespace(obj), _accessor.GetName(obj) ?? "");
            store[key] = long.TryParse(_accessor.GetResourceVersion(obj), NumberStyles.None, CultureInfo.InvariantCulture, out var rv) ? rv : -1;
        }

        return store;
    }

    // ------------------------------------------------------------------ IListWatch<T>

    public ValueTask<ListPage<T>> ListAsync(ListOptions options, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            Pull();
            var rv = SnapshotRevision();
            var state = StateAt(rv);
            _servedUpTo = rv;
            _expiredBelow = 0;
            Volatile.Write(ref _relisted, state.ToDictionary(kv => kv.Key, kv => kv.Value.ResourceVersion, StringComparer.Ordinal));
            _case.Signal();
            return ValueTask.FromResult(new ListPage<T> { Items = [.. state.Values.Select(o => _decode(o.Json))], ResourceVersion = Rv(rv) });
        }
    }

    public IAsyncEnumerable<WatchEvent<T>> WatchAsync(WatchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return WatchCoreAsync(options, cancellationToken);
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
            Pull();
            var stream = new Stream();
            if (options.SendInitialEvents == true)
            {
                // Watch-list: the state as of a snapshot as ADDED events, then the initial-events-end bookmark.
                var rv = SnapshotRevision();
                var state = StateAt(rv);
                Volatile.Write(ref _relisted, state.ToDictionary(kv => kv.Key, kv => kv.Value.ResourceVersion, StringComparer.Ordinal));
                foreach (var o in state.Values)
                {
                    stream.Channel.Writer.TryWrite(new WatchEvent<T>(WatchEventType.Added, _decode(o.Json), Rv(o.ResourceVersion)));
                }

                stream.Channel.Writer.TryWrite(new WatchEvent<T>(WatchEventType.Bookmark, null, Rv(rv), isInitialEventsEnd: true));
                _servedUpTo = rv;
                _expiredBelow = 0;
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

    /// <summary>Reads the server's new events of this resource (under the server's lock, with the revision they run up to).</summary>
    private void Pull()
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
    }
}
