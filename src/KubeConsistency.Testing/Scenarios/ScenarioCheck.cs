using System.Diagnostics;
using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace KubeConsistency.Testing.Scenarios;

/// <summary>Options for <see cref="ScenarioCheck.Run"/>.</summary>
public sealed record ScenarioCheckOptions
{
    /// <summary>How many generated cases (default 100).</summary>
    public int Cases { get; init; } = 100;

    /// <summary>The seed; <see langword="null"/> picks one (printed with any failure, so it can be replayed here).</summary>
    public ulong? Seed { get; init; }

    /// <summary>The most shrink attempts after a failure (default 2000).</summary>
    public int MaxShrinks { get; init; } = 2000;
}

/// <summary>The outcome of <see cref="ScenarioCheck.Run"/>.</summary>
public sealed class ScenarioCheckResult
{
    internal ScenarioCheckResult(ulong seed, int cases, int shrinks, TimeSpan elapsed, ScenarioResult? original, ScenarioResult? shrunk)
    {
        Seed = seed;
        Cases = cases;
        Shrinks = shrinks;
        Elapsed = elapsed;
        Original = original;
        Counterexample = shrunk;
    }

    /// <summary>The seed the cases were generated from: pass it as <see cref="ScenarioCheckOptions.Seed"/> to replay.</summary>
    public ulong Seed { get; }

    /// <summary>How many cases ran (generated ones, then shrink attempts).</summary>
    public int Cases { get; }

    /// <summary>How many shrink attempts failed too (each a smaller counterexample).</summary>
    public int Shrinks { get; }

    /// <summary>Wall time of the whole check.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Cases per second.</summary>
    public double CasesPerSecond => Cases / Math.Max(Elapsed.TotalSeconds, 1e-9);

    /// <summary>The first failing case as generated, or <see langword="null"/>.</summary>
    public ScenarioResult? Original { get; }

    /// <summary>The smallest failing case shrinking found, or <see langword="null"/> when every case passed.</summary>
    public ScenarioResult? Counterexample { get; }

    /// <summary>Whether every case passed.</summary>
    public bool Passed => Counterexample is null;

    /// <inheritdoc/>
    public override string ToString() => Passed
        ? $"passed {Cases.ToString(CultureInfo.InvariantCulture)} case(s) (seed {Seed.ToString(CultureInfo.InvariantCulture)}), {CasesPerSecond.ToString("0.#", CultureInfo.InvariantCulture)} cases/s"
        : $"failed (seed {Seed.ToString(CultureInfo.InvariantCulture)}; replay with ScenarioCheckOptions.Seed = {Seed.ToString(CultureInfo.InvariantCulture)}), shrunk {Shrinks.ToString(CultureInfo.InvariantCulture)} time(s) from {Original!.Schedule.Steps.Count.ToString(CultureInfo.InvariantCulture)} to {Counterexample!.Schedule.Steps.Count.ToString(CultureInfo.InvariantCulture)} step(s):{Environment.NewLine}{Counterexample}";
}

/// <summary>A scenario property test failed; the message carries the seed and the shrunk schedule.</summary>
public sealed class ScenarioFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="result">The failed check.</param>
    public ScenarioFailedException(ScenarioCheckResult result)
        : base((result ?? throw new ArgumentNullException(nameof(result))).ToString()) => Result = result;

    /// <summary>The failed check.</summary>
    public ScenarioCheckResult Result { get; }
}

/// <summary>
/// Runs a <see cref="ScenarioRunner"/> over FsCheck-generated schedules with shrinking: the property "every invariant holds",
/// as one call. FsCheck's own <c>Prop.ForAll(ScenarioGen.Arbitrary(...), s =&gt; runner.Run(s).Passed)</c> works too.
/// </summary>
public static class ScenarioCheck
{
    /// <summary>Checks <paramref name="schedules"/> cases against <paramref name="runner"/>; shrinks the first failure.</summary>
    /// <param name="runner">The runner.</param>
    /// <param name="schedules">The schedules (e.g. <see cref="ScenarioGen.Arbitrary"/>).</param>
    /// <param name="options">How many cases, the seed.</param>
    public static ScenarioCheckResult Run(ScenarioRunner runner, Arbitrary<ScenarioSchedule> schedules, ScenarioCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(schedules);
        options ??= new ScenarioCheckOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Cases, 1, nameof(options));
        var seed = options.Seed ?? (ulong)System.Random.Shared.NextInt64(1, long.MaxValue);
        var cases = 0;
        var failures = 0;
        ScenarioResult? first = null, last = null;
        var started = Stopwatch.GetTimestamp();
        var property = Prop.ForAll(schedules, schedule =>
        {
            cases++;
            if (failures > options.MaxShrinks)
            {
                return true;
            }

            var result = runner.Run(schedule);
            if (!result.Passed)
            {
                failures++;
                first ??= result;
                last = result;
            }

            return result.Passed;
        });
        var config = Config.Quick
            .WithMaxTest(options.Cases)
            .WithQuietOnSuccess(true)
            .WithRunner(new SilentRunner())
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed), FSharpOption<int>.None)));
        Check.One(config, property);
        return new ScenarioCheckResult(seed, cases, Math.Max(0, failures - 1), Stopwatch.GetElapsedTime(started), first, last);
    }

    /// <summary>Like <see cref="Run"/>, and throws <see cref="ScenarioFailedException"/> (seed and shrunk schedule in the message) on failure.</summary>
    /// <param name="runner">The runner.</param>
    /// <param name="schedules">The schedules.</param>
    /// <param name="options">How many cases, the seed.</param>
    public static ScenarioCheckResult Assert(ScenarioRunner runner, Arbitrary<ScenarioSchedule> schedules, ScenarioCheckOptions? options = null)
    {
        var result = Run(runner, schedules, options);
        return result.Passed ? result : throw new ScenarioFailedException(result);
    }

    /// <summary>FsCheck's runner interface, quiet: the result is reported by <see cref="ScenarioCheckResult"/>.</summary>
    private sealed class SilentRunner : IRunner
    {
        public void OnStartFixture(Type t)
        {
        }

        public void OnArguments(int ntest, FSharpList<object> args, FSharpFunc<int, FSharpFunc<FSharpList<object>, string>> every)
        {
        }

        public void OnShrink(FSharpList<object> args, FSharpFunc<FSharpList<object>, string> everyShrink)
        {
        }

        public void OnFinished(string name, TestResult testResult)
        {
        }
    }
}
