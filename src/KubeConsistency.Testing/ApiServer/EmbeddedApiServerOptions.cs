using Microsoft.Extensions.Logging;

namespace KubeConsistency.Testing;

/// <summary>Options for <see cref="EmbeddedApiServer.StartAsync"/>.</summary>
public sealed class EmbeddedApiServerOptions
{
    /// <summary>Clock for timestamps, bookmarks, watch timeouts, watch delays and every other wait. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>TCP port on 127.0.0.1; 0 (the default) picks a free ephemeral port.</summary>
    public int Port { get; set; }

    /// <summary>Number of watch events kept in history before the oldest are compacted away (watches and lists at compacted revisions get 410 Expired). Default 100,000.</summary>
    public int WatchHistoryLimit { get; set; } = 100_000;

    /// <summary>Period of BOOKMARK events on watches with <c>allowWatchBookmarks=true</c>. Default 60 s, as in kube-apiserver.</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long before <c>timeoutSeconds</c> ends a watch its last BOOKMARK is sent (capped at half the timeout). Default 2 s, as in kube-apiserver.</summary>
    public TimeSpan BookmarkBeforeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a LIST or WATCH at a resourceVersion newer than the current one waits before 504 <c>ResourceVersionTooLarge</c> (kube-apiserver: about 3 s). Default 500 ms.</summary>
    public TimeSpan FutureResourceVersionWait { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Events a watcher may have queued before the server ends its stream (a slow client never stalls writers). Default 100,000.</summary>
    public int WatchBufferSize { get; set; } = 100_000;

    /// <summary>Whether <see cref="EmbeddedApiServer.RestartAsync"/> moves the watch window to the current revision, as a kube-apiserver restart does (older watches get 410). Default <see langword="true"/>.</summary>
    public bool CompactOnRestart { get; set; } = true;

    /// <summary>Whether the namespaces <c>default</c>, <c>kube-system</c>, <c>kube-public</c> and <c>kube-node-lease</c> are created at start. Default <see langword="true"/>.</summary>
    public bool CreateDefaultNamespaces { get; set; } = true;

    /// <summary>Whether writes record a <c>managedFields</c> entry per field manager (a simplified field set). Default <see langword="true"/>.</summary>
    public bool RecordManagedFields { get; set; } = true;

    /// <summary>
    /// Whether creating an object in a namespace that does not exist fails with 404, and in one being deleted with 403,
    /// as kube-apiserver's NamespaceLifecycle admission does (default <see langword="true"/>). Turn it off to write into
    /// any namespace without creating it first.
    /// </summary>
    public bool EnforceNamespaceLifecycle { get; set; } = true;

    /// <summary>
    /// Whether a DELETE answered with a <c>Status</c> (an object of a resource without graceful deletion, removed at once)
    /// carries the resource version of the deletion in <c>metadata.resourceVersion</c>, as kube-apiserver does from v1.38
    /// (docs/upstream-after-1.36.md §1.5). Default <see langword="false"/>: the v1.36 answer, with no resource version. A
    /// DELETE that returns the object (pods, finalizers, graceful deletion) carries its resource version either way.
    /// </summary>
    public bool DeleteStatusResourceVersion { get; set; }

    /// <summary>
    /// Whether responses are gzipped for clients that send <c>Accept-Encoding: gzip</c>, as with kube-apiserver's
    /// <c>APIResponseCompression</c> feature (on by default). Like kube-apiserver, only bodies larger than 128 KiB are
    /// compressed (big LISTs, mostly), at gzip level 1, with <c>Content-Encoding: gzip</c> and <c>Vary: Accept-Encoding</c>;
    /// watches are never compressed unless <see cref="WatchListCompression"/> says so. Default <see langword="true"/>.
    /// </summary>
    public bool ResponseCompression { get; set; } = true;

    /// <summary>
    /// Whether a watch-list stream (a watch with <c>sendInitialEvents=true</c> and <c>allowWatchBookmarks=true</c>) is
    /// gzipped for clients that send <c>Accept-Encoding: gzip</c>, as kube-apiserver does from v1.37 (its
    /// <c>WatchListCompression</c> feature): the whole stream, whatever its size, one gzip member per flushed batch of
    /// events. Plain watches are never compressed. Default <see langword="false"/>: the v1.36 behaviour, no compressed
    /// watches. Independent of <see cref="ResponseCompression"/>, as the two feature gates are.
    /// </summary>
    public bool WatchListCompression { get; set; }

    /// <summary>Largest accepted request body in bytes. Default 3 MiB (kube-apiserver's object size limit is about 3 MB).</summary>
    public int MaxRequestBodySize { get; set; } = 3 * 1024 * 1024;

    /// <summary>Logger factory; default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Custom resources served in addition to <see cref="ApiResourceDefinition.BuiltIn"/>.</summary>
    public IEnumerable<ApiResourceDefinition> AdditionalResources { get; set; } = [];
}
