using System.Globalization;
using FsCheck;
using FsCheck.Fluent;

namespace KubeConsistency.Testing.Scenarios;

/// <summary>Options for <see cref="ScenarioGen.Schedules"/>; copied and validated when the generator is made.</summary>
public sealed record ScheduleOptions
{
    /// <summary>The informers the schedule delivers to, by name (those of the runner).</summary>
    public required IReadOnlyList<string> Informers { get; init; }

    /// <summary>
    /// A history of other clients' writes every schedule contains, in this order (e.g. "create the ReplicaSet", "scale it to 5"),
    /// interleaved with the generated steps; shrinking may drop some.
    /// </summary>
    public IReadOnlyList<ClusterOperation> History { get; init; } = [];

    /// <summary>Random other-client writes mixed in (e.g. deleting a pod, finishing one); <see langword="null"/> for none.</summary>
    public Gen<ClusterOperation>? Operations { get; init; }

    /// <summary>The most generated steps (besides the history); FsCheck's size grows up to it.</summary>
    public int MaxSteps { get; init; } = 30;

    /// <summary>The longest clock advance of one <see cref="TickStep"/> (default 2 s).</summary>
    public TimeSpan MaxTick { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Whether informers use watch-list: <see langword="null"/> (default) lets the generator choose per case.</summary>
    public bool? UseWatchList { get; init; }

    /// <summary>Relative weights of the step kinds: deliveries, bookmarks, disconnects, relists, clock ticks, other-client writes.</summary>
    public (int Deliver, int Bookmark, int Disconnect, int Relist, int Tick, int Write) Weights { get; init; } = (8, 1, 1, 1, 3, 2);

    internal void Validate()
    {
        if (Informers is null || Informers.Count == 0 || Informers.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException($"{nameof(ScheduleOptions)}.{nameof(Informers)} needs at least one informer name.", nameof(Informers));
        }

        ArgumentNullException.ThrowIfNull(History, nameof(History));
        if (MaxSteps < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, $"{nameof(ScheduleOptions)}.{nameof(MaxSteps)} must not be negative.");
        }

        if (MaxTick <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTick), MaxTick, $"{nameof(ScheduleOptions)}.{nameof(MaxTick)} must be positive.");
        }

        var w = Weights;
        if (new[] { w.Deliver, w.Bookmark, w.Disconnect, w.Relist, w.Tick, w.Write }.Any(x => x < 0) || w.Deliver + w.Bookmark + w.Disconnect + w.Relist + w.Tick + w.Write == 0)
        {
            throw new ArgumentException($"{nameof(ScheduleOptions)}.{nameof(Weights)} must be non-negative and not all zero.", nameof(Weights));
        }
    }
}

/// <summary>
/// FsCheck generators for scenario testing: resource-version sequences, other-client histories and delivery schedules
/// (per-informer lag, bookmarks, disconnect and resume with a repeated event, 410 and relist, a relist racing writes,
/// watch-list initial events, owner and owned caches lagging independently, the clock), with a shrinker that yields short,
/// readable counterexamples.
/// </summary>
public static class ScenarioGen
{
    /// <summary>Strictly increasing well-formed resource versions (§6.1), as a server hands them out.</summary>
    /// <param name="maxLength">The longest sequence.</param>
    public static Gen<IReadOnlyList<string>> ResourceVersions(int maxLength = 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        return from start in Gen.Choose(1, 1_000_000)
               from gaps in Gen.ListOf(Gen.Choose(1, 50), maxLength).Select(l => l.Take(maxLength).ToArray())
               select (IReadOnlyList<string>)gaps.Aggregate(new List<long> { start }, (acc, gap) =>
               {
                   acc.Add(acc[^1] + gap);
                   return acc;
               }).Select(v => v.ToString(CultureInfo.InvariantCulture)).ToList();
    }

    /// <summary>A history of up to <paramref name="maxLength"/> other-client writes drawn from <paramref name="operation"/>.</summary>
    /// <param name="operation">One write.</param>
    /// <param name="maxLength">The longest history.</param>
    public static Gen<IReadOnlyList<ClusterOperation>> History(Gen<ClusterOperation> operation, int maxLength = 10)
    {
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        return Gen.Sized(size => Gen.ListOf(operation, Math.Clamp(size, 0, maxLength)).Select(l => (IReadOnlyList<ClusterOperation>)[.. l]));
    }

    /// <summary>Delivery schedules: the history in order, interleaved with generated deliveries, faults, ticks and writes.</summary>
    /// <param name="options">What to generate.</param>
    public static Gen<ScenarioSchedule> Schedules(ScheduleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var o = options with { Informers = [.. options.Informers], History = [.. options.History] };
        var informer = Gen.Elements(o.Informers.ToArray());
        var w = o.Weights;
        var kinds = new List<(int, Gen<ScenarioStep>)>
        {
            (w.Deliver, from i in informer from count in Gen.Frequency((3, Gen.Constant(0)), (2, Gen.Choose(1, 3))) select (ScenarioStep)new DeliverStep(i, count)),
            (w.Bookmark, informer.Select(i => (ScenarioStep)new BookmarkStep(i))),
            (w.Disconnect, from i in informer from repeat in Gen.Elements(false, true) select (ScenarioStep)new DisconnectStep(i, repeat)),
            (w.Relist, from i in informer from behind in Gen.Frequency((2, Gen.Constant(0)), (1, Gen.Choose(1, 3))) select (ScenarioStep)new RelistStep(i, behind)),
            (w.Tick, Gen.Choose(1, (int)Math.Max(1, o.MaxTick.TotalMilliseconds)).Select(ms => (ScenarioStep)new TickStep(TimeSpan.FromMilliseconds(ms)))),
        };
        if (o.Operations is not null)
        {
            kinds.Add((w.Write, o.Operations.Select(op => (ScenarioStep)new ApplyStep(op))));
        }

        var step = Gen.Frequency(kinds.Where(k => k.Item1 > 0).ToArray());
        var history = o.History.Select(op => (ScenarioStep)new ApplyStep(op)).ToList();
        var watchList = o.UseWatchList is { } fixedChoice ? Gen.Constant(fixedChoice) : Gen.Elements(false, true);
        return from generated in Gen.Sized(size => Gen.ListOf(step, Math.Clamp(size, 1, Math.Max(1, o.MaxSteps))))
               from steps in KubeGen.Interleaving(history, [.. generated])
               from useWatchList in watchList
               select new ScenarioSchedule(steps, useWatchList);
    }

    /// <summary>
    /// Smaller schedules that may still fail: halves and runs of steps removed, single steps removed, then each step made
    /// simpler (deliver all, no repeat, no race, shorter tick, LIST+WATCH).
    /// </summary>
    /// <param name="schedule">The failing schedule.</param>
    public static IEnumerable<ScenarioSchedule> Shrink(ScenarioSchedule schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var steps = schedule.Steps;
        for (var chunk = steps.Count / 2; chunk >= 1; chunk /= 2)
        {
            for (var start = 0; start + chunk <= steps.Count; start += chunk)
            {
                yield return schedule with { Steps = [.. steps.Take(start), .. steps.Skip(start + chunk)] };
            }
        }

        if (schedule.UseWatchList)
        {
            yield return schedule with { UseWatchList = false };
        }

        for (var i = 0; i < steps.Count; i++)
        {
            if (Simpler(steps[i]) is { } simpler)
            {
                yield return schedule with { Steps = [.. steps.Take(i), simpler, .. steps.Skip(i + 1)] };
            }
        }
    }

    /// <summary>Schedules with <see cref="Shrink"/> as FsCheck's shrinker.</summary>
    /// <param name="options">What to generate.</param>
    public static Arbitrary<ScenarioSchedule> Arbitrary(ScheduleOptions options) => Arb.From(Schedules(options), Shrink);

    private static ScenarioStep? Simpler(ScenarioStep step) => step switch
    {
        DeliverStep { Count: > 0 } d => d with { Count = 0 },
        DisconnectStep { RepeatLast: true } d => d with { RepeatLast = false },
        RelistStep { Behind: > 0 } r => r with { Behind = 0 },
        TickStep { Duration.TotalMilliseconds: > 1 } t => new TickStep(TimeSpan.FromMilliseconds(Math.Floor(t.Duration.TotalMilliseconds / 2))),
        _ => null,
    };
}
