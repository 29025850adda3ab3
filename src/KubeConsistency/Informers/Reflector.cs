using System.Runtime.CompilerServices;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Informers;

internal sealed class ReflectorOptions<T>
    where T : class
{
    public required string Name { get; init; }

    public required IListWatch<T> ListWatch { get; init; }

    public required IDeltaQueue<T> Queue { get; init; }

    public required KeyFunc<T> KeyFunction { get; init; }

    public required TimeProvider Time { get; init; }

    public required ILogger Logger { get; init; }

    public TimeSpan MinWatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public bool UseWatchList { get; init; }

    public int PageSize { get; init; } = 500;

    public TimeSpan ResyncCheckPeriod { get; init; }

    public Func<bool>? ShouldResync { get; init; }

    public Func<double> Random { get; init; } = System.Random.Shared.NextDouble;

    public TimeSpan InitialBackoff { get; init; } = ExponentialBackoff.DefaultInitial;

    public TimeSpan MaxBackoff { get; init; } = ExponentialBackoff.DefaultCap;

    /// <summary>The longest a LIST page, or the gap between two initial events of a watch-list, may take.</summary>
    public TimeSpan RequestProgressTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest a watch may deliver nothing (not even a bookmark) before it is abandoned and resumed.</summary>
    public TimeSpan WatchProgressTimeout { get; init; } = TimeSpan.FromMinutes(3);
}

/// <summary>
/// Lists and watches one resource into the informer's queue (Go: <c>Reflector.ListAndWatch</c>,
/// upstream-semantics.md §5). Every wait goes through the <see cref="TimeProvider"/> and honours cancellation.
/// </summary>
internal sealed class Reflector<T>
    where T : class
{
    private const string InitialEventsEndAnnotation = "k8s.io/initial-events-end";
    private static readonly TimeSpan ShortWatch = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan SilenceGrace = TimeSpan.FromSeconds(60);

    private readonly ReflectorOptions<T> _o;
    private readonly ExponentialBackoff _backoff;
    private volatile string _lastSyncResourceVersion = string.Empty;
    private bool _lastSyncResourceVersionUnavailable;
    private bool _paginatedResult;
    private bool _watchListUnsupported;

    // What the current cycle is doing, for the failure log ("list", "watch-list", "watch", "resync").
    private string _phase = "list";

    private long _lists;
    private long _listFailures;
    private long _watchLists;
    private long _watchListFallbacks;
    private long _watches;
    private long _watchFailures;
    private long _expirations;
    private long _events;
    private long _rejectedEvents;
    private long _stalls;
    private long _invalidResourceVersions;

    public Reflector(ReflectorOptions<T> options)
    {
        _o = options;
        _backoff = new ExponentialBackoff(options.Time, options.Random, options.InitialBackoff, options.MaxBackoff);
    }

    /// <summary>The resource version the reflector has received (not necessarily applied; see §4.3).</summary>
    public string LastSyncResourceVersion => _lastSyncResourceVersion;

    public ReflectorStatistics Statistics => new(
        Interlocked.Read(ref _lists),
        Interlocked.Read(ref _listFailures),
        Interlocked.Read(ref _watchLists),
        Interlocked.Read(ref _watchListFallbacks),
        Interlocked.Read(ref _watches),
        Interlocked.Read(ref _watchFailures),
        Interlocked.Read(ref _expirations),
        Interlocked.Read(ref _events),
        Interlocked.Read(ref _rejectedEvents),
        Interlocked.Read(ref _stalls),
        Interlocked.Read(ref _invalidResourceVersions));

    /// <summary>Runs list-and-watch cycles until cancelled, backing off after each failed cycle (Go: <c>BackoffUntil</c>).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await ListAndWatchAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                var delay = _backoff.Next();
                _o.Logger.CycleFailed(_o.Name, _phase, delay, ex);
                if (!await DelayAsync(delay, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                continue;
            }

            // A cycle that returned without error (e.g. the watch expired) is followed by a backoff too, as upstream.
            if (!await DelayAsync(_backoff.Next(), cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    private async Task ListAndWatchAsync(CancellationToken cancellationToken)
    {
        (IAsyncEnumerator<WatchEvent<T>> Stream, WatchCancellation Cancellation)? stream = null;
        if (_o.UseWatchList && !_watchListUnsupported)
        {
            _phase = "watch-list";
            try
            {
                stream = await WatchListAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // As client-go v0.36: fall back to LIST for this cycle only, "because making progress is better than
                // deadlocking"; the next cycle tries watch-list again. Only an explicit rejection turns it off for good.
                Interlocked.Increment(ref _watchListFallbacks);
                _o.Logger.WatchListFallback(_o.Name, ex);
                if (ex is KubernetesApiException { IsBadRequest: true } or KubernetesApiException { IsInvalid: true } or KubernetesApiException { IsNotFound: true } or KubernetesApiException { IsMethodNotSupported: true } or WatchListNotSupportedException)
                {
                    _watchListUnsupported = true;
                    _o.Logger.WatchListUnsupported(_o.Name, ex.Message);
                }
            }
        }

        try
        {
            if (stream is null)
            {
                _phase = "list";
                await ListAsync(cancellationToken).ConfigureAwait(false);
            }

            // A resync that fails ends the watch at once (upstream: resyncerrc), not when the watch ends on its own.
            using var watchStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var resync = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var resyncFailure = new StrongBox<Exception?>();
            var resyncTask = RunResyncAsync(watchStop, resyncFailure, resync.Token);
            try
            {
                // The watch loop owns (and disposes) the watch-list stream from here on.
                var handoff = stream;
                stream = null;
                _phase = "watch";
                await WatchLoopAsync(handoff, watchStop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (resyncFailure.Value is not null && !cancellationToken.IsCancellationRequested)
            {
            }
            finally
            {
                await resync.CancelAsync().ConfigureAwait(false);
                await resyncTask.ConfigureAwait(false);
            }

            if (resyncFailure.Value is { } failure)
            {
                _phase = "resync";
                throw new InvalidOperationException("resync failed: " + failure.Message, failure);
            }
        }
        finally
        {
            if (stream is { } leftover)
            {
                await leftover.Stream.DisposeAsync().ConfigureAwait(false);
                leftover.Cancellation.Dispose();
            }
        }
    }

    /// <summary>§5.1: list (paged) → one <c>Replace</c>; expired or too-large RVs are retried at once from <c>""</c>.</summary>
    private async Task ListAsync(CancellationToken cancellationToken)
    {
        (List<T> Items, string ResourceVersion) result;
        var requested = RelistResourceVersion();
        var transformer = ListTransformer();
        try
        {
            result = await ListAllPagesAsync(requested, transformer, cancellationToken).ConfigureAwait(false);
        }
        catch (KubernetesApiException ex) when (IsExpiredOrTooLarge(ex))
        {
            Interlocked.Increment(ref _expirations);
            _o.Logger.Expired(_o.Name, requested, ex.Reason ?? ex.StatusCode.ToString());
            _lastSyncResourceVersionUnavailable = true;
            result = await ListAllPagesAsync(RelistResourceVersion(), transformer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Interlocked.Increment(ref _listFailures);
            throw;
        }

        if (result.ResourceVersion.Length > 0 && !ResourceVersion.IsWellFormed(result.ResourceVersion))
        {
            // Reused, such an RV would make every later LIST a 400 and the cache stale forever: reject it here and
            // make the next list a consistent read ("") instead. (An empty RV is harmless: the next list asks for "0".)
            Interlocked.Increment(ref _invalidResourceVersions);
            Interlocked.Increment(ref _listFailures);
            _lastSyncResourceVersionUnavailable = true;
            _o.Logger.InvalidListResourceVersion(_o.Name, result.ResourceVersion);
            throw new InvalidResourceVersionException(result.ResourceVersion);
        }

        ReplaceQueue(result.Items, result.ResourceVersion, transformer);
        _lastSyncResourceVersionUnavailable = false;
        _lastSyncResourceVersion = result.ResourceVersion;
        Interlocked.Increment(ref _lists);
        _o.Logger.Listed(_o.Name, result.Items.Count, result.ResourceVersion);
    }

    /// <summary>
    /// The queue's transformer when the reflector applies it to listed objects as they arrive (upstream since
    /// kubernetes#131799 for watch-list; here for LIST pages too), so a relist holds transformed objects only.
    /// </summary>
    private Func<T, T>? ListTransformer() => (_o.Queue as ITransformingQueue<T>)?.Transformer;

    private void ReplaceQueue(IReadOnlyList<T> items, string resourceVersion, Func<T, T>? appliedTransformer)
    {
        if (appliedTransformer is not null)
        {
            ((ITransformingQueue<T>)_o.Queue).ReplaceTransformed(items, resourceVersion);
        }
        else
        {
            _o.Queue.Replace(items, resourceVersion);
        }
    }

    private async Task<(List<T> Items, string ResourceVersion)> ListAllPagesAsync(string resourceVersion, Func<T, T>? transformer, CancellationToken cancellationToken)
    {
        // client-go's pager: page through a consistent ("") or cached ("0") list; a list at a concrete RV is
        // served whole by the watch cache, unless an earlier "0" list came back paginated.
        int? limit = resourceVersion is "" or "0" || _paginatedResult ? _o.PageSize : null;
        var items = new List<T>();
        string? listResourceVersion = null;
        string? continueToken = null;
        var paginated = false;
        while (true)
        {
            (string ResourceVersion, string? Continue) page;
            using var stalled = new CancellationTokenSource(_o.RequestProgressTimeout, _o.Time);
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stalled.Token);
            var options = new ListOptions
            {
                ResourceVersion = continueToken is null ? resourceVersion : null,
                Limit = limit,
                Continue = continueToken,
            };
            try
            {
                page = await ListPageAsync(options, items, transformer, bounded.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (stalled.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref _stalls);
                _o.Logger.RequestStalled(_o.Name, "a LIST page", _o.RequestProgressTimeout);
                throw new TimeoutException($"a LIST page made no progress for {_o.RequestProgressTimeout}", ex);
            }
            catch (ResourceExpiredException) when (continueToken is not null)
            {
                // The continue token expired mid-list: fall back to one unpaginated list (pager FullListIfExpired).
                items.Clear();
                continueToken = null;
                limit = null;
                listResourceVersion = null;
                continue;
            }

            listResourceVersion ??= page.ResourceVersion;
            if (string.IsNullOrEmpty(page.Continue))
            {
                break;
            }

            paginated = true;
            continueToken = page.Continue;
        }

        if (resourceVersion == "0" && paginated)
        {
            _paginatedResult = true;
        }

        return (items, listResourceVersion ?? string.Empty);
    }

    /// <summary>One page, appended to <paramref name="items"/>: item by item as decoded where the list-watch streams.</summary>
    private async ValueTask<(string ResourceVersion, string? Continue)> ListPageAsync(ListOptions options, List<T> items, Func<T, T>? transformer, CancellationToken cancellationToken)
    {
        // Null items pass through untransformed so that the queue's Replace rejects them as it always has.
        Action<T> add = transformer is null ? items.Add : item => items.Add(item is null ? item! : transformer(item));
        if (_o.ListWatch is IStreamingListWatch<T> streaming)
        {
            var (rv, next, _) = await streaming.ListEachAsync(options, add, cancellationToken).ConfigureAwait(false);
            return (rv, next);
        }

        var page = await _o.ListWatch.ListAsync(options, cancellationToken).ConfigureAwait(false);
        foreach (var item in page.Items)
        {
            add(item);
        }

        return (page.ResourceVersion, page.Continue);
    }

    /// <summary>
    /// §5.2: stream the initial state with <c>sendInitialEvents=true</c> into a temporary store, replace the
    /// queue's content at the <c>k8s.io/initial-events-end</c> bookmark, and hand back the same stream.
    /// </summary>
    private async Task<(IAsyncEnumerator<WatchEvent<T>> Stream, WatchCancellation Cancellation)> WatchListAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (await TryWatchListOnceAsync(cancellationToken).ConfigureAwait(false) is { } synced)
            {
                return synced;
            }
        }
    }

    /// <summary>
    /// One watch-list request. Returns the stream once the end bookmark was applied; <see langword="null"/> when the stream
    /// ended cleanly before it (a server timeout during a long initial stream, a graceful apiserver shutdown), which
    /// client-go answers by opening a new watch-list.
    /// </summary>
    private async Task<(IAsyncEnumerator<WatchEvent<T>> Stream, WatchCancellation Cancellation)?> TryWatchListOnceAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _watches);
        var options = new WatchOptions
        {
            ResourceVersion = _lastSyncResourceVersionUnavailable ? string.Empty : _lastSyncResourceVersion,
            ResourceVersionMatch = ResourceVersionMatch.NotOlderThan,
            AllowWatchBookmarks = true,
            SendInitialEvents = true,
            TimeoutSeconds = WatchTimeoutSeconds(),
        };

        // Initial events flow back to back: a gap longer than the request bound is a stall.
        var cancellation = new WatchCancellation(_o.Time, _o.RequestProgressTimeout, cancellationToken);
        var stream = _o.ListWatch.WatchAsync(options, cancellation.Token).GetAsyncEnumerator(cancellation.Token);
        var start = _o.Time.GetTimestamp();
        long events = 0;
        try
        {
            var temporary = new Dictionary<string, T>(StringComparer.Ordinal);
            var capturedResourceVersion = string.Empty;
            var transformer = ListTransformer();
            while (await stream.MoveNextAsync().ConfigureAwait(false))
            {
                var e = stream.Current;
                events++;
                Interlocked.Increment(ref _events);
                cancellation.Pet();
                switch (e.Type)
                {
                    case WatchEventType.Added:
                    case WatchEventType.Modified:
                        // Transformed on arrival, as upstream's temporary store does: the untransformed object dies young.
                        var obj = transformer is null ? e.Object! : transformer(e.Object!);
                        temporary[_o.KeyFunction(obj)] = obj;
                        break;
                    case WatchEventType.Deleted:
                        temporary.Remove(_o.KeyFunction(e.Object!));
                        break;
                }

                // Initial events are not RV-ordered: only non-Added events carry a usable RV (§5.2).
                if (e.Type != WatchEventType.Added)
                {
                    capturedResourceVersion = e.ResourceVersion;
                }

                if (e.Type == WatchEventType.Bookmark)
                {
                    if (!e.IsInitialEventsEnd)
                    {
                        // A server that supports watch-list sends no other bookmark before the end marker.
                        throw new WatchListNotSupportedException("a bookmark without the " + InitialEventsEndAnnotation + " annotation arrived during the initial events");
                    }

                    ReplaceQueue([.. temporary.Values], capturedResourceVersion, transformer);
                    _lastSyncResourceVersionUnavailable = false;
                    _lastSyncResourceVersion = capturedResourceVersion;
                    Interlocked.Increment(ref _watchLists);
                    _o.Logger.Listed(_o.Name, temporary.Count, capturedResourceVersion);

                    // From here on the stream is an ordinary watch with the watch's silence bound.
                    cancellation.ChangeSilenceLimit(WatchSilenceLimit(options.TimeoutSeconds.Value));
                    return (stream, cancellation);
                }
            }

            if (events == 0 && _o.Time.GetElapsedTime(start) < ShortWatch)
            {
                throw new WatchEndedTooSoonException("very short watch-list: the stream ended within a second without an event");
            }

            _o.Logger.WatchListReopened(_o.Name, events);
            await stream.DisposeAsync().ConfigureAwait(false);
            cancellation.Dispose();
            return null;
        }
        catch (Exception ex)
        {
            if (ex is ResourceExpiredException)
            {
                Interlocked.Increment(ref _expirations);
                _lastSyncResourceVersionUnavailable = true;
            }

            await stream.DisposeAsync().ConfigureAwait(false);
            var silent = cancellation.Silent;
            cancellation.Dispose();
            if (silent && !cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref _stalls);
                _o.Logger.RequestStalled(_o.Name, "the watch-list's initial stream", _o.RequestProgressTimeout);
                throw new TimeoutException($"the watch-list stream made no progress for {_o.RequestProgressTimeout}", ex);
            }

            throw;
        }
    }

    /// <summary>A watch is abandoned after the smaller of its progress bound and its server-side timeout plus a grace period.</summary>
    private TimeSpan WatchSilenceLimit(int timeoutSeconds)
    {
        var serverBound = TimeSpan.FromSeconds(timeoutSeconds) + SilenceGrace;
        return _o.WatchProgressTimeout < serverBound ? _o.WatchProgressTimeout : serverBound;
    }

    /// <summary>§5.3: watch from the last RV with bookmarks and a random timeout; re-watch after clean ends.</summary>
    private async Task WatchLoopAsync((IAsyncEnumerator<WatchEvent<T>> Stream, WatchCancellation Cancellation)? continued, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            IAsyncEnumerator<WatchEvent<T>> stream;
            WatchCancellation cancellation;
            bool propagateImmediately;
            if (continued is { } c)
            {
                // Re-using the watch-list stream: its RVs are ordered, propagate at once (§5.3).
                (stream, cancellation) = c;
                continued = null;
                propagateImmediately = true;
            }
            else
            {
                var timeoutSeconds = WatchTimeoutSeconds();
                var startedFrom = _lastSyncResourceVersion;
                cancellation = new WatchCancellation(_o.Time, WatchSilenceLimit(timeoutSeconds), cancellationToken);
                Interlocked.Increment(ref _watches);
                stream = _o.ListWatch.WatchAsync(
                    new WatchOptions { ResourceVersion = startedFrom, AllowWatchBookmarks = true, TimeoutSeconds = timeoutSeconds },
                    cancellation.Token).GetAsyncEnumerator(cancellation.Token);
                propagateImmediately = startedFrom is not ("" or "0");
            }

            var start = _o.Time.GetTimestamp();
            var events = new StrongBox<long>();
            try
            {
                await HandleWatchAsync(stream, propagateImmediately, cancellation, events).ConfigureAwait(false);
                if (events.Value == 0 && _o.Time.GetElapsedTime(start) < ShortWatch)
                {
                    // Upstream's guard against a hot loop on a server that closes watches at once.
                    throw new WatchEndedTooSoonException("very short watch: the watch lasted less than a second and delivered no events");
                }

                _o.Logger.WatchEnded(_o.Name, _lastSyncResourceVersion);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException) when (cancellation.Silent)
            {
                Interlocked.Increment(ref _watchFailures);
                _o.Logger.WatchSilent(_o.Name, cancellation.SilenceLimit);
            }
            catch (ResourceExpiredException ex)
            {
                // Relist from the last RV (not ""): a LIST at an RV returns data at least that fresh (§5.1).
                Interlocked.Increment(ref _expirations);
                Interlocked.Increment(ref _watchFailures);
                _o.Logger.Expired(_o.Name, _lastSyncResourceVersion, ex.Reason ?? "Expired");
                return;
            }
            catch (KubernetesApiException ex) when (ex.IsTooManyRequests)
            {
                Interlocked.Increment(ref _watchFailures);
                var delay = ex.RetryAfter ?? _backoff.Next();
                _o.Logger.WatchThrottled(_o.Name, delay, ex);
                if (!await DelayAsync(delay, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (KubernetesTransportException ex) when (events.Value > 0 || _o.Time.GetElapsedTime(start) >= ShortWatch || IsConnectionRefused(ex))
            {
                // A broken stream after it worked is a closed watch: resume from the last RV without a relist.
                // A refused connection is retried after a backoff (upstream isWatchErrorRetriable).
                Interlocked.Increment(ref _watchFailures);
                if (IsConnectionRefused(ex) && events.Value == 0)
                {
                    var delay = _backoff.Next();
                    _o.Logger.WatchFailed(_o.Name, delay, ex);
                    if (!await DelayAsync(delay, cancellationToken).ConfigureAwait(false))
                    {
                        return;
                    }
                }
                else
                {
                    _o.Logger.WatchEnded(_o.Name, _lastSyncResourceVersion);
                }
            }
            catch (Exception)
            {
                // Decode errors, server errors, Status ERROR events, very short watches, and a cancellation the reflector
                // did not ask for (an HTTP timeout; the caller's and the watchdog's are handled above): relist after a
                // backoff.
                Interlocked.Increment(ref _watchFailures);
                throw;
            }
            finally
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                cancellation.Dispose();
            }
        }

        if (continued is { } unused)
        {
            await unused.Stream.DisposeAsync().ConfigureAwait(false);
            unused.Cancellation.Dispose();
        }
    }

    private async Task HandleWatchAsync(IAsyncEnumerator<WatchEvent<T>> stream, bool propagateImmediately, WatchCancellation cancellation, StrongBox<long> events)
    {
        // Back-to-back events from a stream that never blocks wake the consumer once, not once each (IConsumerWakeBatching).
        var batching = stream is INonBlockingWatchEnumerator ? _o.Queue as IConsumerWakeBatching : null;
        try
        {
            var propagate = propagateImmediately;
            while (true)
            {
                var next = stream.MoveNextAsync();
                if (!next.IsCompleted)
                {
                    batching?.ReleaseConsumerWakes();
                }

                if (!await next.ConfigureAwait(false))
                {
                    return;
                }

                batching?.HoldConsumerWakes();
                propagate = Apply(stream.Current, propagate, cancellation, events);
            }
        }
        finally
        {
            batching?.ReleaseConsumerWakes();
        }
    }

    /// <summary>One watch event into the queue; returns whether the RV now propagates (§5.3).</summary>
    private bool Apply(WatchEvent<T> e, bool propagate, WatchCancellation cancellation, StrongBox<long> events)
    {
        events.Value++;
        Interlocked.Increment(ref _events);
        cancellation.Pet();

        try
        {
            switch (e.Type)
            {
                case WatchEventType.Added:
                    _o.Queue.Add(e.Object!);
                    break;
                case WatchEventType.Modified:
                    _o.Queue.Update(e.Object!);
                    break;
                case WatchEventType.Deleted:
                    _o.Queue.Delete(e.Object!);
                    break;
                case WatchEventType.Bookmark:
                    // Always forwarded, whatever the propagation rule below (§5.3).
                    _o.Queue.Bookmark(e.ResourceVersion);
                    break;
            }
        }
        catch (Exception ex) when (ex is KeyException or ArgumentException)
        {
            Interlocked.Increment(ref _rejectedEvents);
            _o.Logger.EventRejected(_o.Name, e.Type.ToString(), e.ResourceVersion, ex);
        }

        // A watch started from "" or "0" replays synthetic ADDED events out of RV order: do not advance the
        // RV until a non-Added event arrives (§5.3).
        if (e.Type != WatchEventType.Added)
        {
            propagate = true;
        }

        if (propagate)
        {
            _lastSyncResourceVersion = e.ResourceVersion;
        }

        return propagate;
    }

    private async Task RunResyncAsync(CancellationTokenSource watchStop, StrongBox<Exception?> failure, CancellationToken cancellationToken)
    {
        if (_o.ResyncCheckPeriod <= TimeSpan.Zero || _o.ShouldResync is null)
        {
            return;
        }

        while (await DelayAsync(_o.ResyncCheckPeriod, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                if (_o.ShouldResync())
                {
                    _o.Queue.Resync();
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failure.Value = ex;
                _o.Logger.ResyncFailed(_o.Name, ex);
                await watchStop.CancelAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>Go: <c>relistResourceVersion</c> (§5.1).</summary>
    private string RelistResourceVersion() =>
        _lastSyncResourceVersionUnavailable ? string.Empty : _lastSyncResourceVersion.Length == 0 ? "0" : _lastSyncResourceVersion;

    /// <summary>A random timeout in [MinWatchTimeout, 2 × MinWatchTimeout] (§5.3).</summary>
    private int WatchTimeoutSeconds() => (int)(_o.MinWatchTimeout.TotalSeconds * (1 + _o.Random()));

    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _o.Time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static bool IsExpiredOrTooLarge(KubernetesApiException ex) =>
        ex is ResourceExpiredException || (ex.IsServerTimeout && ex.Causes.Any(c => c.Reason == "ResourceVersionTooLarge"));

    private static bool IsConnectionRefused(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused })
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// Cancellation for one watch stream: the caller's token, plus a watchdog on the injected clock that ends a
/// stream that has been silent for longer than its server-side timeout plus a grace period (a dead connection).
/// </summary>
internal sealed class WatchCancellation : IDisposable
{
    private readonly CancellationTokenSource _linked;
    private readonly CancellationTokenSource _watchdog;
    private readonly CancellationTokenRegistration _registration;
    private readonly TimeProvider _time;
    private long _lastPet;

    public WatchCancellation(TimeProvider time, TimeSpan silenceLimit, CancellationToken cancellationToken)
    {
        _time = time;
        SilenceLimit = silenceLimit;
        _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _watchdog = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _registration = _watchdog.Token.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _linked);
        _watchdog.CancelAfter(silenceLimit);
        _lastPet = time.GetTimestamp();
    }

    public CancellationToken Token => _linked.Token;

    public TimeSpan SilenceLimit { get; private set; }

    public bool Silent => _watchdog.IsCancellationRequested;

    /// <summary>Re-arms the watchdog with a new limit (a watch-list stream that became an ordinary watch).</summary>
    public void ChangeSilenceLimit(TimeSpan limit)
    {
        SilenceLimit = limit;
        _watchdog.CancelAfter(limit);
        _lastPet = _time.GetTimestamp();
    }

    /// <summary>Re-arms the watchdog after an event (at most once a second, to keep the event path cheap).</summary>
    public void Pet()
    {
        if (_time.GetElapsedTime(_lastPet) > TimeSpan.FromSeconds(1))
        {
            _watchdog.CancelAfter(SilenceLimit);
            _lastPet = _time.GetTimestamp();
        }
    }

    public void Dispose()
    {
        _registration.Dispose();
        _watchdog.Dispose();
        _linked.Dispose();
    }
}

/// <summary>The server did not complete a watch-list (no <c>k8s.io/initial-events-end</c> bookmark).</summary>
internal sealed class WatchListNotSupportedException(string message) : Exception(message);

/// <summary>A watch ended within a second without delivering an event (upstream's "very short watch").</summary>
internal sealed class WatchEndedTooSoonException(string message) : Exception(message);
