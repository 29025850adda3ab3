using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>
/// One watch response: HTTP 200, chunked, one JSON event per line. Initial ADDED events (or history replay),
/// then live events from the watcher's queue, BOOKMARKs on a <see cref="TimeProvider"/> timer, a clean end at
/// <c>timeoutSeconds</c>, and the fault hooks (delay, drop after N events).
/// </summary>
internal sealed class WatchStream
{
    private const int FlushThreshold = 64 * 1024;

    private readonly RequestHandler _handler;
    private readonly HttpContext _context;
    private readonly ResourceState _state;
    private readonly string? _namespace;
    private readonly Representation _representation;
    private readonly bool _allowBookmarks;
    private readonly bool? _sendInitialEvents;
    private readonly long? _timeoutSeconds;
    private readonly Watcher _watcher;
    private readonly TimeProvider _time;
    private IBufferWriter<byte> _writer = null!;
    private PerFlushGzipBody? _gzip;
    private ITimer? _timer;
    private DateTimeOffset? _deadline;
    private DateTimeOffset? _preTimeoutBookmark;
    private DateTimeOffset _nextBookmark = DateTimeOffset.MaxValue;
    private long _startRevision;
    private int _delivered;
    private bool _tableColumnsSent;
    private int _unflushed;

    public WatchStream(RequestHandler handler, HttpContext context, ResourceState state, string? ns, LabelSelector labels, FieldSelector fields,
        Representation representation, bool allowBookmarks, bool? sendInitialEvents, long? timeoutSeconds)
    {
        _handler = handler;
        _context = context;
        _state = state;
        _namespace = ns;
        // A watch's events are single objects: PartialObjectMetadataList cannot describe them, and kube-apiserver's
        // watchEmbeddedEncoder then sends each object untransformed (handlers/response.go doEncode).
        _representation = representation == Representation.PartialMetadataList ? Representation.Json : representation;
        _allowBookmarks = allowBookmarks;
        _sendInitialEvents = sendInitialEvents;
        _timeoutSeconds = timeoutSeconds;
        _time = handler.Options.TimeProvider;
        _watcher = new Watcher(state, ns, labels, fields, Math.Max(16, handler.Options.WatchBufferSize));
    }

    private ApiResourceDefinition Definition => _state.Definition;

    public async Task RunAsync(string rvParam)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_context.RequestAborted, _handler.Stopping, _handler.Faults.EndToken(Definition.Group, Definition.Plural));
        var ct = linked.Token;
        var store = _handler.Store;
        bool fromSnapshot;
        long fromRevision = 0;
        WatchRegistration registration;
        try
        {
            if (_sendInitialEvents == true)
            {
                // Watch-list: the initial state must be at least as new as the requested revision (the watch cache waits ~3 s).
                fromSnapshot = true;
                if (rvParam is not ("" or "0"))
                {
                    await _handler.EnsureRevisionAsync(QueryParams.ParseResourceVersion(rvParam), ct).ConfigureAwait(false);
                }
            }
            else if (rvParam is "" or "0")
            {
                fromSnapshot = _sendInitialEvents is null;
                fromRevision = store.Revision;
            }
            else
            {
                // A future revision is fine for a plain watch: it simply starts there (events up to it are skipped).
                fromSnapshot = false;
                fromRevision = QueryParams.ParseResourceVersion(rvParam);
            }

            registration = store.RegisterWatch(_watcher, fromSnapshot, fromRevision);
        }
        catch (ApiServerStatusException e) when (e.StatusCode is 410 or 504)
        {
            // Once the request is valid, watch errors are HTTP 200 with a single ERROR event
            // (wire: pods-watch-410-after-restart.ndjson), like the watch cache's error watcher.
            await StartAsync(ct).ConfigureAwait(false);
            var line = StoredEvent.BuildLine(WatchEventType.Error, GoJson.Serialize(e.StatusNode));
            _writer.Write(line);
            _unflushed += line.Length;
            await FlushAsync(ct).ConfigureAwait(false);
            return;
        }

        _handler.Faults.WatchersChanged();
        try
        {
            await StartAsync(ct).ConfigureAwait(false);
            _startRevision = registration.StartRevision;
            SetupTimer();
            var reason = await StreamAsync(registration, ct).ConfigureAwait(false);
            await FlushAsync(ct).ConfigureAwait(false);
            Log.WatchEnded(_handler.Logger, Definition.QualifiedResource, reason);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionResetException or ObjectDisposedException
            || _context.RequestAborted.IsCancellationRequested)
        {
            // Client gone or server stopping: end the body cleanly if the connection still allows it. Once the client
            // has gone, Kestrel resets the response's chunk buffer on its connection thread while this loop may be in
            // the middle of a write, which surfaces as whatever the writer throws then (an ArgumentOutOfRangeException
            // from Advance was seen): none of it matters for a response nobody reads.
            Log.WatchEnded(_handler.Logger, Definition.QualifiedResource, "client gone: " + e.GetType().Name);
        }
        finally
        {
            if (_timer is not null)
            {
                await _timer.DisposeAsync().ConfigureAwait(false);
            }

            store.Unregister(_watcher);
            _handler.Faults.WatchersChanged();
        }
    }

    private async Task StartAsync(CancellationToken ct)
    {
        var response = _context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";

        // kube-apiserver v1.37 (handlers/watch.go BeginStream): only a watch-list request — sendInitialEvents=true with
        // bookmarks, its isListWatchRequest — is gzipped, whatever its size, when WatchListCompression is on and the
        // client accepts gzip; APIResponseCompression plays no part, and plain watches never are.
        var gzip = _handler.Options.WatchListCompression && _sendInitialEvents == true && _allowBookmarks
            && ResponseCompression.AcceptsGzip(_context.Request);
        if (gzip)
        {
            ResponseCompression.MarkGzip(response, _handler.Compression);
        }

        await response.StartAsync(ct).ConfigureAwait(false);
        await response.BodyWriter.FlushAsync(ct).ConfigureAwait(false);
        if (gzip)
        {
            _gzip = new PerFlushGzipBody(response.Body);
            _writer = _gzip;
        }
        else
        {
            _writer = response.BodyWriter;
        }
    }

    private void SetupTimer()
    {
        var now = _time.GetUtcNow();
        if (_timeoutSeconds is > 0)
        {
            var timeout = TimeSpan.FromSeconds(_timeoutSeconds.Value);
            _deadline = now + timeout;
            if (_allowBookmarks)
            {
                var lead = TimeSpan.FromTicks(Math.Min(_handler.Options.BookmarkBeforeTimeout.Ticks, timeout.Ticks / 2));
                _preTimeoutBookmark = _deadline - lead;
            }
        }

        if (_allowBookmarks)
        {
            _nextBookmark = NextBookmark(now);
        }

        if (_deadline is null && !_allowBookmarks)
        {
            return;
        }

        _timer = _time.CreateTimer(static s => ((Watcher)s!).Tick(), _watcher, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Schedule(now);
    }

    private DateTimeOffset NextBookmark(DateTimeOffset now)
    {
        var interval = _handler.Options.BookmarkInterval;
        var next = interval > TimeSpan.Zero ? now + interval : DateTimeOffset.MaxValue;
        if (_preTimeoutBookmark is { } pre && now < pre && pre < next)
        {
            next = pre;
        }

        return next;
    }

    private void Schedule(DateTimeOffset now)
    {
        var due = _allowBookmarks ? _nextBookmark : DateTimeOffset.MaxValue;
        if (_deadline is { } d && d < due)
        {
            due = d;
        }

        if (due == DateTimeOffset.MaxValue)
        {
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        var wait = due - now;
        _timer?.Change(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, Timeout.InfiniteTimeSpan);
    }

    private bool DeadlinePassed(DateTimeOffset now) => _deadline is { } d && now >= d;

    /// <summary>Streams until the end; returns why it ended.</summary>
    private async Task<string> StreamAsync(WatchRegistration registration, CancellationToken ct)
    {
        if (registration.InitialItems is { } items)
        {
            var begin = 0;
            var end = items.Count;
            if (_namespace is not null)
            {
                begin = LowerBound(items, _namespace + "/");
                end = LowerBound(items, _namespace + "0");
            }

            for (var i = begin; i < end; i++)
            {
                var o = items[i];
                if (_watcher.Matches(o) && !await WriteEventAsync(WatchEventType.Added, o, null, ct).ConfigureAwait(false))
                {
                    return "dropped by fault injection";
                }
            }

            if (_sendInitialEvents == true && _allowBookmarks)
            {
                await WriteBookmarkAsync(_startRevision, initialEventsEnd: true, ct).ConfigureAwait(false);
            }
        }

        foreach (var e in registration.History)
        {
            if (_watcher.Translate(e) is { } item && !await DeliverAsync(item, ct).ConfigureAwait(false))
            {
                return "ended during history replay";
            }
        }

        var reader = _watcher.Reader;
        while (true)
        {
            if (!reader.TryRead(out var item))
            {
                await FlushAsync(ct).ConfigureAwait(false);
                if (!await reader.WaitToReadAsync(ct).ConfigureAwait(false))
                {
                    return _watcher.Overflowed ? "the client fell too far behind" : "queue closed";
                }

                continue;
            }

            if (item.IsTick)
            {
                if (!await OnTickAsync(ct).ConfigureAwait(false))
                {
                    return "timeout";
                }

                continue;
            }

            if (!await DeliverAsync(item, ct).ConfigureAwait(false))
            {
                return "ended";
            }
        }
    }

    private async Task<bool> OnTickAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        if (DeadlinePassed(now))
        {
            return false;
        }

        if (_allowBookmarks && now >= _nextBookmark)
        {
            var rv = _handler.Store.Revision;
            if (_watcher.Reader.TryPeek(out var next) && !next.IsTick)
            {
                rv = Math.Min(rv, next.ResourceVersion - 1);
            }

            // Like the watch cache: a bookmark only when it moves past where the watch started.
            if (rv > _startRevision)
            {
                await WriteBookmarkAsync(rv, initialEventsEnd: false, ct).ConfigureAwait(false);
                await FlushAsync(ct).ConfigureAwait(false);
            }

            _nextBookmark = NextBookmark(now);
        }

        Schedule(now);
        return true;
    }

    /// <summary>Delivers a live event, honouring the injected watch delay; false when the stream must end.</summary>
    private async Task<bool> DeliverAsync(WatchItem item, CancellationToken ct)
    {
        var faults = _handler.Faults;

        // A held resource: wait until the event is released (a test decides delivery), waking on every change of the faults.
        while (item.Source is not null)
        {
            var changed = faults.DelayChanged;
            if (faults.ReleasedThrough(Definition.Group, Definition.Plural) is not { } released || item.ResourceVersion <= released)
            {
                break;
            }

            await FlushAsync(ct).ConfigureAwait(false);
            faults.DelayedStreamChanged(+1);
            try
            {
                await changed.WaitAsync(ct).ConfigureAwait(false);
            }
            finally
            {
                faults.DelayedStreamChanged(-1);
            }
        }

        while (item.Source is not null)
        {
            var changed = faults.DelayChanged;
            var delay = faults.GetWatchDelay(Definition.Group, Definition.Plural);
            if (delay <= TimeSpan.Zero)
            {
                break;
            }

            var now = _time.GetUtcNow();
            var due = item.Source.Time + delay;
            if (due <= now)
            {
                break;
            }

            if (DeadlinePassed(now))
            {
                return false;
            }

            await FlushAsync(ct).ConfigureAwait(false);
            var wait = due - now;
            if (_deadline is { } d && d - now < wait)
            {
                wait = d - now;
            }

            // Wake when the delay is due or when the injected delay changes (then re-evaluate).
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var delayTask = Task.Delay(wait, _time, timer.Token);
            faults.DelayedStreamChanged(+1);
            try
            {
                await Task.WhenAny(delayTask, changed).ConfigureAwait(false);
            }
            finally
            {
                faults.DelayedStreamChanged(-1);
            }

            await timer.CancelAsync().ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();

            if (DeadlinePassed(_time.GetUtcNow()))
            {
                return false;
            }
        }

        return await WriteEventAsync(item.Type, item.Object!, item, ct).ConfigureAwait(false);
    }

    private async Task<bool> WriteEventAsync(WatchEventType type, StoredObject obj, WatchItem? item, CancellationToken ct)
    {
        // A drop rule added while the stream was open ends it before the next event.
        if (_handler.Faults.WatchDropLimit(Definition.Group, Definition.Plural) is { } before && _delivered >= before)
        {
            await FlushAsync(ct).ConfigureAwait(false);
            _handler.Faults.RecordDroppedWatch();
            Log.WatchDropped(_handler.Logger, Definition.QualifiedResource, _delivered);
            return false;
        }

        byte[] line;
        if (_representation == Representation.Table)
        {
            line = TableLine(type, obj);
        }
        else if (_representation == Representation.PartialMetadata)
        {
            line = StoredEvent.BuildLine(type, obj.PartialMetadataJson());
        }
        else
        {
            line = item is { } i ? i.Line : StoredEvent.BuildLine(type, obj.Json);
        }

        ct.ThrowIfCancellationRequested();
        _writer.Write(line);
        _unflushed += line.Length;
        _delivered++;
        if (_handler.Faults.WatchDropLimit(Definition.Group, Definition.Plural) is { } limit && _delivered >= limit)
        {
            await FlushAsync(ct).ConfigureAwait(false);
            _handler.Faults.RecordDroppedWatch();
            Log.WatchDropped(_handler.Logger, Definition.QualifiedResource, _delivered);
            return false;
        }

        if (_unflushed >= FlushThreshold)
        {
            await FlushAsync(ct).ConfigureAwait(false);
        }

        return true;
    }

    private async Task FlushAsync(CancellationToken ct)
    {
        if (_unflushed > 0)
        {
            _unflushed = 0;
            if (_gzip is { } gzip)
            {
                // One gzip member per flushed batch, so the client can decode every event sent so far.
                await gzip.FlushAsync(ct).ConfigureAwait(false);
            }
            else
            {
                await _context.Response.BodyWriter.FlushAsync(ct).ConfigureAwait(false);
            }
        }
    }

    private byte[] TableLine(WatchEventType type, StoredObject obj)
    {
        var table = new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = obj.ResourceVersion.ToString(CultureInfo.InvariantCulture) },
            ["columnDefinitions"] = _tableColumnsSent ? null : Tables.ColumnDefinitions(Definition),
            ["rows"] = new JsonArray { Tables.Row(Definition, obj.ToNode(), _time.GetUtcNow(), QueryParams.String(_context.Request.Query, "includeObject") ?? "Metadata") },
        };
        _tableColumnsSent = true;
        return StoredEvent.BuildLine(type, GoJson.Serialize(table));
    }

    private async Task WriteBookmarkAsync(long rv, bool initialEventsEnd, CancellationToken ct)
    {
        var rvText = rv.ToString(CultureInfo.InvariantCulture);
        byte[] obj;
        if (_representation == Representation.Table)
        {
            obj = GoJson.Serialize(new JsonObject
            {
                ["kind"] = "Table",
                ["apiVersion"] = "meta.k8s.io/v1",
                ["metadata"] = new JsonObject { ["resourceVersion"] = rvText },
                ["columnDefinitions"] = null,
                ["rows"] = null,
            });
        }
        else
        {
            var metadataOnly = _representation == Representation.PartialMetadata;
            var sb = new StringBuilder(256);
            sb.Append("{\"kind\":\"").Append(metadataOnly ? "PartialObjectMetadata" : Definition.Kind)
                .Append("\",\"apiVersion\":\"").Append(metadataOnly ? "meta.k8s.io/v1" : Definition.ApiVersion)
                .Append("\",\"metadata\":{\"resourceVersion\":\"").Append(rvText).Append('"');
            if (metadataOnly || !_state.Behavior.Unstructured)
            {
                // PartialObjectMetadata is typed ObjectMeta even for custom resources: its zero time encodes as null.
                sb.Append(",\"creationTimestamp\":null");
            }

            if (initialEventsEnd)
            {
                // For as=PartialObjectMetadata the blueprint is transformed too (watchListTransformer.transformInitialEventsListBlueprint).
                var blueprint = Convert.ToBase64String(Encoding.UTF8.GetBytes(metadataOnly
                    ? "{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{},\"items\":null}\n"
                    : "{\"kind\":\"" + Definition.Kind + "List\",\"apiVersion\":\"" + Definition.ApiVersion + "\",\"metadata\":{},\"items\":null}\n"));
                sb.Append(",\"annotations\":{\"k8s.io/initial-events-end\":\"true\",\"kubernetes.io/initial-events-list-blueprint\":\"")
                    .Append(blueprint).Append("\"}");
            }

            sb.Append('}').Append(metadataOnly ? "" : _state.Behavior.EmptyBody).Append('}');
            obj = Encoding.UTF8.GetBytes(sb.ToString());
        }

        var line = StoredEvent.BuildLine(WatchEventType.Bookmark, obj);
        ct.ThrowIfCancellationRequested();
        _writer.Write(line);
        _unflushed += line.Length;
        if (initialEventsEnd)
        {
            await FlushAsync(ct).ConfigureAwait(false);
        }
    }

    private static int LowerBound(System.Collections.Immutable.ImmutableList<StoredObject> items, string key)
    {
        var i = items.BinarySearch(StoredObject.Probe(key), StoredObject.KeyComparer);
        return i >= 0 ? i : ~i;
    }
}
