using System.Threading.Tasks.Sources;

namespace KubeConsistency.Controllers;

internal sealed partial class WorkQueueCore<T>
{
    /// <summary>
    /// A parked <see cref="GetAsync"/>: a reusable <see cref="IValueTaskSource{TResult}"/>, so a getter that has to
    /// wait allocates nothing once the pool is warm.
    /// </summary>
    private sealed class Waiter : IValueTaskSource<WorkQueueItem<T>>
    {
        private static readonly Action<object?> s_onCancel = static state => ((Waiter)state!).OnCancel();

        private readonly WorkQueueCore<T> _owner;
        private ManualResetValueTaskSourceCore<WorkQueueItem<T>> _core;
        private CancellationToken _cancellationToken;
        private CancellationTokenRegistration _registration;

        public Waiter(WorkQueueCore<T> owner)
        {
            _owner = owner;

            // Completions happen under the queue's lock: never run the getter's continuation inline.
            _core.RunContinuationsAsynchronously = true;
        }

        /// <summary>The neighbours in the line of parked getters, or the next free waiter in the pool.</summary>
        public Waiter? Previous { get; set; }

        /// <summary>The next parked getter, or the next free waiter in the pool.</summary>
        public Waiter? Next { get; set; }

        /// <summary>Whether the waiter is in the line of parked getters (guarded by the queue's lock).</summary>
        public bool Linked { get; set; }

        /// <summary>Called after the waiter was linked, outside the lock.</summary>
        public ValueTask<WorkQueueItem<T>> Start(CancellationToken cancellationToken)
        {
            var version = _core.Version;
            if (cancellationToken.CanBeCanceled)
            {
                _cancellationToken = cancellationToken;
                _registration = cancellationToken.UnsafeRegister(s_onCancel, this);
            }

            return new ValueTask<WorkQueueItem<T>>(this, version);
        }

        public void SetItem(T item) => _core.SetResult(new WorkQueueItem<T>(item));

        public void SetShutdown() => _core.SetResult(WorkQueueItem<T>.ShutdownResult);

        public WorkQueueItem<T> GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                // Dispose waits for a running cancellation callback, so nothing can touch this waiter once pooled.
                _registration.Dispose();
                _registration = default;
                _cancellationToken = default;
                _core.Reset();
                _owner.ReturnWaiter(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);

        private void OnCancel()
        {
            // Only a getter still in line is cancelled; one that was already handed a key keeps it, so no key is lost.
            if (_owner.TryCancelWaiter(this))
            {
                _core.SetException(new OperationCanceledException(_cancellationToken));
            }
        }
    }
}
