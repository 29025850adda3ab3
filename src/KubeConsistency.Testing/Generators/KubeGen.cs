using System.Globalization;
using FsCheck;
using FsCheck.Fluent;

namespace KubeConsistency.Testing;

/// <summary>Options for <see cref="KubeGen.ServerHistory"/>.</summary>
public sealed class ServerHistoryOptions
{
    /// <summary>The namespaces objects live in.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = ["ns-a", "ns-b"];

    /// <summary>The object names to draw from (a small pool makes updates and deletes of existing objects likely).</summary>
    public IReadOnlyList<string> Names { get; init; } = ["a", "b", "c", "d", "e", "f"];

    /// <summary>The label keys and values to draw from.</summary>
    public IReadOnlyList<string> LabelValues { get; init; } = ["x", "y", "z"];

    /// <summary>The maximum number of steps.</summary>
    public int MaxSteps { get; init; } = 30;

    /// <summary>Relative weight of faults against writes (0 = writes only). Default 1 fault per 6 writes.</summary>
    public int FaultWeight { get; init; } = 1;

    /// <summary>Relative weight of writes.</summary>
    public int WriteWeight { get; init; } = 6;

    /// <summary>Whether histories may restart the server (slow: clients reconnect with backoff).</summary>
    public bool IncludeRestarts { get; init; }

    /// <summary>The longest watch lag a <see cref="LagStep"/> may introduce.</summary>
    public TimeSpan MaxLag { get; init; } = TimeSpan.FromMilliseconds(50);
}

/// <summary>
/// FsCheck generators for Kubernetes-shaped data: well-formed resource versions, server-side histories with
/// adversarial faults (watch drops, compactions, lag, failing requests, restarts) to replay against an
/// <see cref="EmbeddedApiServer"/>, and order-preserving interleavings of concurrent sequences.
/// </summary>
public static class KubeGen
{
    /// <summary>Well-formed resource versions (§6.1: digits, no leading zero), up to 40 digits.</summary>
    public static Gen<string> ResourceVersion { get; } =
        from length in Gen.Choose(1, 40)
        from first in Gen.Choose(1, 9)
        from rest in Gen.ArrayOf(Gen.Choose(0, 9), length - 1)
        select first.ToString(CultureInfo.InvariantCulture) + string.Concat(rest);

    /// <summary>Random server histories: upserts and deletes over a small name pool, with faults mixed in.</summary>
    /// <param name="options">Shape of the history; <see langword="null"/> for defaults.</param>
    public static Gen<IReadOnlyList<ServerStep>> ServerHistory(ServerHistoryOptions? options = null)
    {
        options ??= new ServerHistoryOptions();
        var key = from ns in Gen.Elements(options.Namespaces.ToArray()) from name in Gen.Elements(options.Names.ToArray()) select (ns, name);
        var labels = from tier in Gen.Elements(options.LabelValues.ToArray()) from color in Gen.Elements(options.LabelValues.ToArray())
                     select (IReadOnlyDictionary<string, string>)new Dictionary<string, string> { ["tier"] = tier, ["color"] = color };
        var write = Gen.Frequency(
            (3, from k in key from l in labels select (ServerStep)new UpsertStep(k.ns, k.name, l)),
            (1, from k in key select (ServerStep)new DeleteStep(k.ns, k.name)));
        var faults = new List<(int, Gen<ServerStep>)>
        {
            (3, Gen.Choose(1, 4).Select(n => (ServerStep)new DropWatchesStep(n))),
            (2, Gen.Constant((ServerStep)new CompactStep())),
            (2, Gen.Choose(0, (int)options.MaxLag.TotalMilliseconds).Select(ms => (ServerStep)new LagStep(TimeSpan.FromMilliseconds(ms)))),
            (1, from n in Gen.Choose(1, 2) from code in Gen.Elements(500, 503, 429) select (ServerStep)new FailRequestsStep(n, code)),
        };
        if (options.IncludeRestarts)
        {
            faults.Add((1, Gen.Constant((ServerStep)new RestartStep())));
        }

        var step = options.FaultWeight <= 0 ? write : Gen.Frequency((options.WriteWeight, write), (options.FaultWeight, Gen.Frequency(faults)));
        return Gen.Sized(size => Gen.ListOf(step, Math.Clamp(size, 1, options.MaxSteps)).Select(l => (IReadOnlyList<ServerStep>)[.. l]));
    }

    /// <summary>
    /// Every order-preserving interleaving of two sequences is a possible outcome: e.g. a controller's writes
    /// and the informer events they race with. Each element keeps its relative order within its own sequence.
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="first">The first sequence.</param>
    /// <param name="second">The second sequence.</param>
    public static Gen<IReadOnlyList<T>> Interleaving<T>(IReadOnlyList<T> first, IReadOnlyList<T> second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        return Gen.ArrayOf(Gen.Elements(true, false), first.Count + second.Count).Select(choices =>
        {
            var result = new List<T>(first.Count + second.Count);
            int i = 0, j = 0;
            foreach (var takeFirst in choices)
            {
                if ((takeFirst && i < first.Count) || j >= second.Count)
                {
                    result.Add(first[i++]);
                }
                else
                {
                    result.Add(second[j++]);
                }
            }

            return (IReadOnlyList<T>)result;
        });
    }
}
