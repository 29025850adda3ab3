namespace KubeConsistency;

/// <summary>
/// Defaults for the client-go v1.36 feature gates this library honours (upstream-semantics.md §1.1).
/// </summary>
/// <remarks>
/// Each gate is an option on the component it affects (so tests and applications can mix settings);
/// these values are only the defaults. As in client-go, a default can be overridden for the whole process
/// with an environment variable <c>KUBE_FEATURE_&lt;Gate&gt;=true|false</c>, read once at start-up.
/// </remarks>
public static class FeatureGates
{
    /// <summary>
    /// <c>AtomicFIFO</c> (beta, default on): a relist is one <c>ReplacedAll</c> delta, resync one <c>SyncAll</c>,
    /// bookmarks flow through the queue, and stores report <c>LastStoreSyncResourceVersion</c> (else <c>""</c>).
    /// </summary>
    public static bool AtomicFifo { get; } = Read("AtomicFIFO", true);

    /// <summary><c>UnlockWhileProcessingFIFO</c> (beta, default on): the FIFO lock is released while a popped delta is processed.</summary>
    public static bool UnlockWhileProcessingFifo { get; } = Read("UnlockWhileProcessingFIFO", true);

    /// <summary><c>InOrderInformersBatchProcess</c> (beta, default on): the informer consumes the FIFO in batches.</summary>
    public static bool InOrderInformersBatchProcess { get; } = Read("InOrderInformersBatchProcess", true);

    /// <summary><c>WatchListClient</c> (beta, default on): the reflector prefers the streaming watch-list.</summary>
    public static bool WatchListClient { get; } = Read("WatchListClient", true);

    private static bool Read(string gate, bool defaultValue) =>
        Environment.GetEnvironmentVariable("KUBE_FEATURE_" + gate) is { } value && bool.TryParse(value.Trim(), out var parsed) ? parsed : defaultValue;
}
