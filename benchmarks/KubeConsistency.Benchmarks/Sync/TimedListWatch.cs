using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using KubeConsistency.Client;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>
/// Wraps the resource client to split the sync's wall time: time inside the client (HTTP read + decode) versus
/// time in the reflector between events, and when the list (or the initial-events-end bookmark) arrived.
/// Adds two timestamp reads per event; used only with <c>--breakdown</c>.
/// </summary>
internal sealed class TimedListWatch<T>(IListWatch<T> inner) : IListWatch<T>
{
    private long _listTicks;
    private long _lists;
    private long _items;
    private long _insideTicks;
    private long _outsideTicks;
    private long _events;

    public long ListReturnedAt { get; private set; }

    public long InitialEventsEndAt { get; private set; }

    public long FirstResponseAt { get; private set; }

    public async ValueTask<ListPage<T>> ListAsync(ListOptions options, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        var page = await inner.ListAsync(options, cancellationToken);
        var end = Stopwatch.GetTimestamp();
        _listTicks += end - start;
        _lists++;
        _items += page.Items.Count;
        ListReturnedAt = end;
        return page;
    }

    public async IAsyncEnumerable<WatchEvent<T>> WatchAsync(WatchOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var e = inner.WatchAsync(options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            var before = Stopwatch.GetTimestamp();
            var more = await e.MoveNextAsync();
            var after = Stopwatch.GetTimestamp();
            _insideTicks += after - before;
            if (!more)
            {
                yield break;
            }

            if (FirstResponseAt == 0)
            {
                FirstResponseAt = after;
            }

            var evt = e.Current;
            _events++;
            if (evt.IsInitialEventsEnd)
            {
                InitialEventsEndAt = after;
            }

            yield return evt;
            _outsideTicks += Stopwatch.GetTimestamp() - after;
        }
    }

    public JsonObject Describe(long start, long synced)
    {
        var o = new JsonObject
        {
            ["listCalls"] = _lists,
            ["listItems"] = _items,
            ["listMs"] = Ms(_listTicks),
            ["watchEvents"] = _events,
            ["watchInsideClientMs"] = Ms(_insideTicks),
            ["watchInReflectorMs"] = Ms(_outsideTicks),
        };
        if (ListReturnedAt != 0)
        {
            o["startToListReturnedMs"] = Ms(ListReturnedAt - start);
            o["listReturnedToSyncedMs"] = Ms(synced - ListReturnedAt);
        }

        if (FirstResponseAt != 0)
        {
            o["startToFirstEventMs"] = Ms(FirstResponseAt - start);
        }

        if (InitialEventsEndAt != 0)
        {
            o["startToInitialEventsEndMs"] = Ms(InitialEventsEndAt - start);
            o["initialEventsEndToSyncedMs"] = Ms(synced - InitialEventsEndAt);
        }

        return o;
    }

    private static double Ms(long ticks) => Math.Round(ticks * 1000.0 / Stopwatch.Frequency, 1);
}
