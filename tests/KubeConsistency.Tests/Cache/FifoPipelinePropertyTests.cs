using FsCheck;
using FsCheck.Fluent;
using KubeConsistency.Cache;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Cache;

/// <summary>
/// Random watch/relist/bookmark sequences through the FIFO into a store (upstream-semantics.md §2.5, §3):
/// handlers never observe a half-applied delta or batch, the final store equals a reference model, and the
/// legacy non-atomic mode ends in the same store with the same set of events (client-go TestReplaceEvents).
/// </summary>
public sealed class FifoPipelinePropertyTests
{
    public abstract record Op;

    public sealed record AddOp(string Name, int Rv) : Op;

    public sealed record UpdateOp(string Name, int Rv) : Op;

    public sealed record DeleteOp(string Name, int Rv) : Op;

    public sealed record ReplaceOp(IReadOnlyList<string> Names, int Rv) : Op;

    public sealed record BookmarkOp(int Rv) : Op;

    public sealed record DrainOp(int Units) : Op;

    private static readonly Gen<string> Names = Gen.Elements("a", "b", "c", "d", "e", "f");

    private static Gen<IReadOnlyList<Op>> Histories => Gen.Sized(size =>
        from kinds in Gen.ListOf(Gen.Frequency(
            (4, Gen.Constant(0)), (3, Gen.Constant(1)), (2, Gen.Constant(2)), (1, Gen.Constant(3)), (1, Gen.Constant(4)), (3, Gen.Constant(5))), Math.Max(1, size))
        from names in Gen.ArrayOf(Names, kinds.Count)
        from lists in Gen.ArrayOf(Gen.SubListOf(["a", "b", "c", "d", "e", "f"]), kinds.Count)
        from drains in Gen.ArrayOf(Gen.Choose(1, 4), kinds.Count)
        select (IReadOnlyList<Op>)kinds.Select((k, i) => (Op)(k switch
        {
            0 => new AddOp(names[i], i + 1),
            1 => new UpdateOp(names[i], i + 1),
            2 => new DeleteOp(names[i], i + 1),
            3 => new ReplaceOp([.. lists[i]], i + 1),
            4 => new BookmarkOp(i + 1),
            _ => new DrainOp(drains[i]),
        })).ToList());

    private static string Rv(int rv) => rv.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed class Run
    {
        public required IIndexer<TestPod> Store { get; init; }

        public required IDeltaQueue<TestPod> Fifo { get; init; }

        public required RecordingHandler Handler { get; init; }

        public List<string> Violations { get; } = [];
    }

    private static Run NewRun(bool atomic)
    {
        var store = NewIndexer(trackResourceVersion: atomic);
        var fifo = atomic
            ? RealFifo.Create(new RealFifoOptions<TestPod> { EmitDeltaTypeBookmark = true, UnlockWhileProcessing = true })
            : RealFifo.Create(new RealFifoOptions<TestPod> { AtomicEvents = false, KnownObjects = store });
        return new Run { Store = store, Fifo = fifo, Handler = new RecordingHandler(store) };
    }

    private static void Push(Run run, Op op)
    {
        switch (op)
        {
            case AddOp a:
                run.Fifo.Add(Pod("ns", a.Name, Rv(a.Rv)));
                break;
            case UpdateOp u:
                run.Fifo.Update(Pod("ns", u.Name, Rv(u.Rv)));
                break;
            case DeleteOp d:
                run.Fifo.Delete(Pod("ns", d.Name, Rv(d.Rv)));
                break;
            case ReplaceOp r:
                run.Fifo.Replace(r.Names.Select(n => Pod("ns", n, Rv(r.Rv))).ToList(), Rv(r.Rv));
                break;
            case BookmarkOp b:
                run.Fifo.Bookmark(Rv(b.Rv));
                break;
        }
    }

    /// <summary>Applies one popped unit to a dictionary model, the way the store must end up.</summary>
    private static void ApplyToModel(Dictionary<string, string?> model, ReadOnlySpan<Delta<TestPod>> deltas)
    {
        foreach (var d in deltas)
        {
            switch (d.Object)
            {
                case ReplacedAllInfo<TestPod> r:
                    model.Clear();
                    foreach (var p in r.Objects)
                    {
                        model[KeyOrPayload(p)] = p.Metadata!.ResourceVersion;
                    }

                    break;
                case DeletedFinalStateUnknown<TestPod> t:
                    model.Remove(t.Key);
                    break;
                case TestPod p when d.Type == DeltaType.Deleted:
                    model.Remove(KeyOrPayload(p));
                    break;
                case TestPod p:
                    model[KeyOrPayload(p)] = p.Metadata!.ResourceVersion;
                    break;
            }
        }
    }

    private static async Task PopUnitAsync(Run run)
    {
        // Each unit (single delta or batch) must be fully applied before any of its callbacks runs.
        Dictionary<string, string?>? expected = null;
        var before = run.Handler.Observations.Count;
        void Check()
        {
            for (var i = before; i < run.Handler.Observations.Count; i++)
            {
                var o = run.Handler.Observations[i];
                if (!o.Content.OrderBy(kv => kv.Key).SequenceEqual(expected!.OrderBy(kv => kv.Key)))
                {
                    run.Violations.Add($"'{o.Event}' observed {{{string.Join(",", o.Content.Select(kv => kv.Key + "@" + kv.Value))}}} but the unit's result is {{{string.Join(",", expected.Select(kv => kv.Key + "@" + kv.Value))}}}");
                }
            }
        }

        await run.Fifo.PopBatchAsync(
            (batch, initial) =>
            {
                expected = run.Store.List().ToDictionary(KeyOrPayload, p => p.Metadata?.ResourceVersion);
                ApplyToModel(expected, batch);
                DeltaProcessor.ProcessBatch(run.Store, run.Handler, batch, initial);
                Check();
            },
            (delta, initial) =>
            {
                expected = run.Store.List().ToDictionary(KeyOrPayload, p => p.Metadata?.ResourceVersion);
                ApplyToModel(expected, [delta]);
                DeltaProcessor.Process(run.Store, run.Handler, delta, initial);
                Check();
            });
    }

    private static async Task<Run> ExecuteAsync(IReadOnlyList<Op> ops, bool atomic)
    {
        var run = NewRun(atomic);
        foreach (var op in ops)
        {
            if (op is DrainOp drain)
            {
                for (var i = 0; i < drain.Units && run.Fifo.Count > 0; i++)
                {
                    await PopUnitAsync(run);
                }
            }
            else
            {
                Push(run, op);
            }
        }

        while (run.Fifo.Count > 0)
        {
            await PopUnitAsync(run);
        }

        return run;
    }

    /// <summary>The reference model: the state the ops describe, independent of any queue.</summary>
    private static (Dictionary<string, string?> Content, string Rv) Reference(IReadOnlyList<Op> ops)
    {
        var model = new Dictionary<string, string?>();
        var rv = "";
        foreach (var op in ops)
        {
            switch (op)
            {
                case AddOp a:
                    model["ns/" + a.Name] = rv = Rv(a.Rv);
                    break;
                case UpdateOp u:
                    model["ns/" + u.Name] = rv = Rv(u.Rv);
                    break;
                case DeleteOp d:
                    model.Remove("ns/" + d.Name);
                    rv = Rv(d.Rv);
                    break;
                case ReplaceOp r:
                    model = r.Names.ToDictionary(n => "ns/" + n, _ => (string?)Rv(r.Rv));
                    rv = Rv(r.Rv);
                    break;
                case BookmarkOp b:
                    rv = Rv(b.Rv);
                    break;
            }
        }

        return (model, rv);
    }

    private static Dictionary<string, string?> Content(IStore<TestPod> store) => store.List().ToDictionary(KeyOrPayload, p => p.Metadata?.ResourceVersion);

    [Fact]
    public void Property_Section2_5_Atomic_HandlersNeverSeeAHalfAppliedUnit_AndTheStoreMatchesTheModel()
    {
        Prop.ForAll(Arb.From(Histories), ops =>
        {
            var run = ExecuteAsync(ops, atomic: true).GetAwaiter().GetResult();
            var (content, rv) = Reference(ops);
            return (run.Violations.Count == 0).Label(string.Join("\n", run.Violations))
                .And(Content(run.Store).OrderBy(kv => kv.Key).SequenceEqual(content.OrderBy(kv => kv.Key)).Label("final store equals the model"))
                .And((run.Store.LastStoreSyncResourceVersion == rv).Label($"store RV {run.Store.LastStoreSyncResourceVersion} equals the model RV {rv}"));
        }).QuietCheckThrowOnFailure();
    }

    [Fact]
    public void Property_Section3_3_LegacyMode_EndsInTheSameStore_WithTheSameEvents()
    {
        Prop.ForAll(Arb.From(Histories), ops =>
        {
            var atomic = ExecuteAsync(ops, atomic: true).GetAwaiter().GetResult();
            var legacy = ExecuteAsync(ops, atomic: false).GetAwaiter().GetResult();
            var sameStore = Content(atomic.Store).OrderBy(kv => kv.Key).SequenceEqual(Content(legacy.Store).OrderBy(kv => kv.Key));
            var atomicEvents = atomic.Handler.Events.Select(e => e.Replace("initial=True", "initial=?", StringComparison.Ordinal).Replace("initial=False", "initial=?", StringComparison.Ordinal)).Order().ToList();
            var legacyEvents = legacy.Handler.Events.Select(e => e.Replace("initial=True", "initial=?", StringComparison.Ordinal).Replace("initial=False", "initial=?", StringComparison.Ordinal)).Order().ToList();
            return sameStore.Label("same final store")
                .And(atomicEvents.SequenceEqual(legacyEvents).Label($"same events\natomic: {string.Join("; ", atomicEvents)}\nlegacy: {string.Join("; ", legacyEvents)}"))
                .And((legacy.Store.LastStoreSyncResourceVersion == "").Label("legacy mode reports no store RV (§4.3)"));
        }).QuietCheckThrowOnFailure();
    }
}
