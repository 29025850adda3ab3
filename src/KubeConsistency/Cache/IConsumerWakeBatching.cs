namespace KubeConsistency.Cache;

/// <summary>
/// A queue whose producer can hold the waiting consumer's wake-up while it has more deltas ready to add, so that the
/// consumer wakes once for a run of deltas instead of once per delta.
/// </summary>
/// <remarks>
/// Why: upstream's FIFO wakes its consumer on every add, which costs little for a goroutine. A .NET consumer woken per
/// delta is a thread-pool work item per watch event, and the idle worker spins before it sleeps: in the watch benchmark
/// that was 1.55 work items and about half the client CPU per event. Holding changes when the consumer wakes, never what
/// it pops or in which order; a held wake is released when the producer is about to wait for input, when
/// <see cref="MaxHeld"/> deltas are held, and by anything that is not a single add (replace, resync, close).
/// </remarks>
internal interface IConsumerWakeBatching
{
    /// <summary>How many adds may go without waking a waiting consumer.</summary>
    const int MaxHeld = 64;

    /// <summary>From now on, adds do not wake a waiting consumer (up to <see cref="MaxHeld"/> of them). Producer thread only.</summary>
    void HoldConsumerWakes();

    /// <summary>Wakes the consumer if an add was held, and stops holding. Producer thread only.</summary>
    void ReleaseConsumerWakes();
}
