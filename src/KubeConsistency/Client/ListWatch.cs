namespace KubeConsistency.Client;

/// <summary>
/// Lists and watches one resource (Go: <c>cache.ListerWatcher</c>). This is what the reflector consumes
/// (upstream-semantics.md §5); <see cref="IResourceClient{T}"/> implements it over HTTP, and tests can
/// implement it in memory.
/// </summary>
/// <typeparam name="T">The object type items and watch objects are decoded into.</typeparam>
public interface IListWatch<T>
{
    /// <summary>
    /// Lists one page of objects (Go: <c>List(ctx, metav1.ListOptions)</c>).
    /// </summary>
    /// <param name="options">Resource version, paging and selector options.</param>
    /// <param name="cancellationToken">Cancels the request and the decoding of the body.</param>
    /// <returns>The page: its items, the list's resource version and the continue token.</returns>
    /// <exception cref="KubernetesApiException">The server answered with an error, e.g. <see cref="ResourceExpiredException"/> for an expired continue token or resource version.</exception>
    /// <exception cref="KubernetesTransportException">The connection failed or broke.</exception>
    /// <exception cref="KubernetesDecodeException">The body was not a list the decoder understood.</exception>
    ValueTask<ListPage<T>> ListAsync(ListOptions options, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens a watch and yields its events until the server ends the stream cleanly (Go: <c>Watch(ctx, opts)</c>).
    /// </summary>
    /// <remarks>
    /// A clean end of the stream (the server's <c>timeoutSeconds</c>, a graceful server shutdown) ends the
    /// enumeration; the caller re-watches from the last resource version it saw. A watch <c>ERROR</c> event is
    /// never yielded: it is thrown as a <see cref="KubernetesApiException"/> (410/<c>Expired</c>/<c>Gone</c> as
    /// <see cref="ResourceExpiredException"/>). Malformed input throws <see cref="WatchDecodeException"/>; a
    /// broken connection throws <see cref="KubernetesTransportException"/>; cancellation throws
    /// <see cref="OperationCanceledException"/> promptly, even while the server sends nothing.
    /// </remarks>
    /// <param name="options">Resource version, bookmark, watch-list and selector options.</param>
    /// <param name="cancellationToken">Cancels the watch.</param>
    IAsyncEnumerable<WatchEvent<T>> WatchAsync(WatchOptions options, CancellationToken cancellationToken = default);
}

/// <summary>How a list or watch interprets <c>resourceVersion</c> (Go: <c>metav1.ResourceVersionMatch</c>).</summary>
public enum ResourceVersionMatch
{
    /// <summary><c>NotOlderThan</c>: any state at least as new as the given resource version.</summary>
    NotOlderThan,

    /// <summary><c>Exact</c>: exactly the given resource version (lists only).</summary>
    Exact,
}

/// <summary>Options of a list request (the list subset of Go's <c>metav1.ListOptions</c>).</summary>
public sealed class ListOptions
{
    /// <summary>
    /// <c>resourceVersion</c>: unset means the most recent (consistent) state, <c>"0"</c> any state (served
    /// from the watch cache; the server may then ignore <see cref="Limit"/>).
    /// </summary>
    public string? ResourceVersion { get; init; }

    /// <summary><c>resourceVersionMatch</c>; requires <see cref="ResourceVersion"/> (the server returns 422 otherwise).</summary>
    public ResourceVersionMatch? ResourceVersionMatch { get; init; }

    /// <summary><c>limit</c>: the page size. The server may return more (it ignores the limit for <c>resourceVersion=0</c>).</summary>
    public int? Limit { get; init; }

    /// <summary><c>continue</c>: the token from the previous page. Must not be combined with <see cref="ResourceVersion"/>.</summary>
    public string? Continue { get; init; }

    /// <summary><c>labelSelector</c>, combined (AND) with the client's own selector.</summary>
    public string? LabelSelector { get; init; }

    /// <summary><c>fieldSelector</c>, combined (AND) with the client's own selector.</summary>
    public string? FieldSelector { get; init; }

    /// <summary><c>timeoutSeconds</c>: a server-side limit on the request.</summary>
    public int? TimeoutSeconds { get; init; }
}

/// <summary>One page of a list response.</summary>
/// <typeparam name="T">The item type.</typeparam>
public sealed class ListPage<T>
{
    /// <summary>The items, in the server's order.</summary>
    public required IReadOnlyList<T> Items { get; init; }

    /// <summary>The list's <c>metadata.resourceVersion</c>: the snapshot every page of one list shares; <c>""</c> when absent.</summary>
    public required string ResourceVersion { get; init; }

    /// <summary>The list's <c>metadata.continue</c>; <see langword="null"/> on the last page.</summary>
    public string? Continue { get; init; }

    /// <summary>The list's <c>metadata.remainingItemCount</c>, when the server reported it.</summary>
    public long? RemainingItemCount { get; init; }
}

/// <summary>Options of a watch request (the watch subset of Go's <c>metav1.ListOptions</c>).</summary>
public sealed class WatchOptions
{
    /// <summary><c>resourceVersion</c>: events after this version are delivered; unset or <c>"0"</c> start with synthetic ADDED events.</summary>
    public string? ResourceVersion { get; init; }

    /// <summary><c>resourceVersionMatch</c>; watch-list requires <see cref="Client.ResourceVersionMatch.NotOlderThan"/>.</summary>
    public ResourceVersionMatch? ResourceVersionMatch { get; init; }

    /// <summary><c>allowWatchBookmarks</c>. Always set it for watch-list: without it the server sends no end-of-initial-events bookmark.</summary>
    public bool AllowWatchBookmarks { get; init; }

    /// <summary><c>timeoutSeconds</c>: the server ends the stream cleanly after this long. Always set one (client-go uses 5–10 minutes).</summary>
    public int? TimeoutSeconds { get; init; }

    /// <summary><c>sendInitialEvents</c> (watch-list): stream the current state as ADDED events, then a bookmark marked <see cref="WatchEvent{T}.IsInitialEventsEnd"/>.</summary>
    public bool? SendInitialEvents { get; init; }

    /// <summary><c>labelSelector</c>, combined (AND) with the client's own selector.</summary>
    public string? LabelSelector { get; init; }

    /// <summary><c>fieldSelector</c>, combined (AND) with the client's own selector.</summary>
    public string? FieldSelector { get; init; }
}

/// <summary>The type of a watch event. <c>ERROR</c> events are thrown, never yielded.</summary>
public enum WatchEventType
{
    /// <summary><c>ADDED</c>.</summary>
    Added,

    /// <summary><c>MODIFIED</c>.</summary>
    Modified,

    /// <summary><c>DELETED</c>: the object carries its state at deletion, with the deletion's resource version.</summary>
    Deleted,

    /// <summary><c>BOOKMARK</c>: only the resource version is meaningful.</summary>
    Bookmark,
}

/// <summary>One watch event.</summary>
/// <typeparam name="T">The object type.</typeparam>
public readonly struct WatchEvent<T>
{
    /// <summary>Creates an event (for tests and in-memory <see cref="IListWatch{T}"/> implementations).</summary>
    /// <param name="type">The event type.</param>
    /// <param name="obj">The object; <see langword="null"/> (default) for bookmarks.</param>
    /// <param name="resourceVersion">The object's <c>metadata.resourceVersion</c>.</param>
    /// <param name="isInitialEventsEnd">Whether this is the watch-list bookmark that ends the initial events.</param>
    public WatchEvent(WatchEventType type, T? obj, string resourceVersion, bool isInitialEventsEnd = false)
    {
        Type = type;
        Object = obj;
        ResourceVersion = resourceVersion ?? string.Empty;
        IsInitialEventsEnd = isInitialEventsEnd;
    }

    /// <summary>The event type.</summary>
    public WatchEventType Type { get; }

    /// <summary>The decoded object; <see langword="null"/> (default) for <see cref="WatchEventType.Bookmark"/>.</summary>
    public T? Object { get; }

    /// <summary>The event object's <c>metadata.resourceVersion</c>, read from the JSON; <c>""</c> when absent.</summary>
    public string ResourceVersion { get => field ?? string.Empty; }

    /// <summary>
    /// <see langword="true"/> for the bookmark whose annotation <c>k8s.io/initial-events-end</c> is <c>"true"</c>:
    /// the end of a watch-list's initial events (upstream-semantics.md §5.2).
    /// </summary>
    public bool IsInitialEventsEnd { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        IsInitialEventsEnd ? $"{Type} rv={ResourceVersion} (initial-events-end)" : $"{Type} rv={ResourceVersion}";
}
