using System.Collections.Immutable;
using System.Threading.Channels;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>Storage of one resource: the current objects (persistent sorted list), its event history and its watchers. Mutated only under the store lock.</summary>
internal sealed class ResourceState
{
    private const int SnapshotCacheSize = 8;
    private readonly List<StoredEvent> _log = [];
    private readonly LinkedList<(long Rv, ImmutableList<StoredObject> Items)> _snapshots = new();
    private int _logHead;

    public ResourceState(ApiResourceDefinition definition)
    {
        Definition = definition;
        Behavior = ResourceBehavior.For(definition);
    }

    public ApiResourceDefinition Definition { get; }

    public ResourceBehavior Behavior { get; }

    /// <summary>Current objects sorted by key; replaced (never mutated) on each write, so readers can take it without a lock.</summary>
    public ImmutableList<StoredObject> Items { get; set; } = ImmutableList<StoredObject>.Empty;

    public List<Watcher> Watchers { get; } = [];

    public int Find(string key) => Items.BinarySearch(StoredObject.Probe(key), StoredObject.KeyComparer);

    public StoredObject? Get(string key)
    {
        var items = Items;
        var i = items.BinarySearch(StoredObject.Probe(key), StoredObject.KeyComparer);
        return i >= 0 ? items[i] : null;
    }

    public void Append(StoredEvent e) => _log.Add(e);

    /// <summary>Drops the oldest event (the global history evicts in revision order, so it is always this log's head).</summary>
    public void DropOldest()
    {
        _log[_logHead] = null!;
        _logHead++;
        if (_logHead > 1024 && _logHead * 2 > _log.Count)
        {
            _log.RemoveRange(0, _logHead);
            _logHead = 0;
        }
    }

    public void ClearHistory()
    {
        _log.Clear();
        _logHead = 0;
        _snapshots.Clear();
    }

    /// <summary>Events with a revision greater than <paramref name="rv"/>, oldest first.</summary>
    public List<StoredEvent> EventsAfter(long rv)
    {
        int lo = _logHead, hi = _log.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_log[mid].ResourceVersion <= rv)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return _log.GetRange(lo, _log.Count - lo);
    }

    public ImmutableList<StoredObject>? CachedSnapshot(long rv)
    {
        for (var node = _snapshots.First; node is not null; node = node.Next)
        {
            if (node.Value.Rv == rv)
            {
                _snapshots.Remove(node);
                _snapshots.AddFirst(node);
                return node.Value.Items;
            }
        }

        return null;
    }

    public void CacheSnapshot(long rv, ImmutableList<StoredObject> items)
    {
        if (CachedSnapshot(rv) is not null)
        {
            return;
        }

        _snapshots.AddFirst((rv, items));
        while (_snapshots.Count > SnapshotCacheSize)
        {
            _snapshots.RemoveLast();
        }
    }

    public void DropSnapshotsBefore(long rv)
    {
        for (var node = _snapshots.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Rv < rv)
            {
                _snapshots.Remove(node);
            }

            node = next;
        }
    }
}

/// <summary>An item queued to a watch stream: an event (possibly re-typed for a selector transition) or a timer tick.</summary>
internal readonly record struct WatchItem(WatchEventType Type, StoredObject? Object, StoredEvent? Source)
{
    public bool IsTick => Object is null;

    public long ResourceVersion => Object?.ResourceVersion ?? 0;

    public byte[] Line => Source is not null && Source.Type == Type && ReferenceEquals(Source.Object, Object)
        ? Source.Line
        : StoredEvent.BuildLine(Type, Object!.Json);
}

/// <summary>A registered watch: namespace and selector filter plus a bounded queue. Offered events under the store lock; never blocks.</summary>
internal sealed class Watcher
{
    private readonly Channel<WatchItem> _channel;

    public Watcher(ResourceState resource, string? ns, LabelSelector labels, FieldSelector fields, int capacity)
    {
        Resource = resource;
        Namespace = ns;
        Labels = labels;
        Fields = fields;
        _channel = Channel.CreateBounded<WatchItem>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    public ResourceState Resource { get; }

    public string? Namespace { get; }

    public LabelSelector Labels { get; }

    public FieldSelector Fields { get; }

    public ChannelReader<WatchItem> Reader => _channel.Reader;

    /// <summary>Set when the queue overflowed and the stream must end.</summary>
    public bool Overflowed { get; private set; }

    public bool Matches(StoredObject o)
        => (Namespace is null || o.Namespace == Namespace) && Labels.Matches(o.Labels) && Fields.Matches(o);

    /// <summary>Translates a committed event for this watcher (selector transitions like the watch cache) and queues it. Returns false once the watcher is dead.</summary>
    public bool Offer(StoredEvent e)
    {
        if (Overflowed)
        {
            return false;
        }

        var item = Translate(e);
        if (item is null)
        {
            return true;
        }

        if (_channel.Writer.TryWrite(item.Value))
        {
            return true;
        }

        Overflowed = true;
        _channel.Writer.TryComplete();
        return false;
    }

    /// <summary>Events at or below this revision are not for this watcher (a watch from a future resourceVersion).</summary>
    public long StartAfter { get; set; }

    public WatchItem? Translate(StoredEvent e)
    {
        if (e.ResourceVersion <= StartAfter)
        {
            return null;
        }

        switch (e.Type)
        {
            case WatchEventType.Added:
                return Matches(e.Object) ? new WatchItem(WatchEventType.Added, e.Object, e) : null;
            case WatchEventType.Deleted:
                return Matches(e.Object) ? new WatchItem(WatchEventType.Deleted, e.Object, e) : null;
            default:
                var now = Matches(e.Object);
                var before = e.Previous is not null && Matches(e.Previous);
                return (now, before) switch
                {
                    (true, true) => new WatchItem(WatchEventType.Modified, e.Object, e),
                    (true, false) => new WatchItem(WatchEventType.Added, e.Object, e),
                    (false, true) => new WatchItem(WatchEventType.Deleted, e.PreviousAtEventRevision, e),
                    _ => null,
                };
        }
    }

    public void Tick() => _channel.Writer.TryWrite(new WatchItem(WatchEventType.Bookmark, null, null));

    public void Complete() => _channel.Writer.TryComplete();
}
