using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;
using KubeConsistency.Cache;
using KubeConsistency.Informers;
using KubeConsistency.Samples.Models;
using KubeConsistency.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Samples.Kubelet;

/// <summary>Options for <see cref="SimulatedKubelet"/>.</summary>
public sealed class SimulatedKubeletOptions
{
    /// <summary>The server whose pods the kubelet runs; status is written server-side through <see cref="EmbeddedApiServer.Objects"/>.</summary>
    public required EmbeddedApiServer Server { get; init; }

    /// <summary>A pod informer (e.g. the controllers' shared one): the kubelet sees pods as a watcher would, lag included.</summary>
    public required ISharedIndexInformer<V1Pod> PodInformer { get; init; }

    /// <summary>The range a pod's start delay (Pending → Running and ready) is drawn from. Default 20–80 ms.</summary>
    public (TimeSpan Min, TimeSpan Max) StartDelay { get; init; } = (TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(80));

    /// <summary>The range a Job pod's run time (Running → Succeeded) is drawn from. Default 50–250 ms.</summary>
    public (TimeSpan Min, TimeSpan Max) RunDuration { get; init; } = (TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(250));

    /// <summary>The probability that a Job pod ends <c>Failed</c> instead of <c>Succeeded</c>. Default 0.</summary>
    public double FailureRate { get; init; }

    /// <summary>The seed of the random durations: with the same seed, the n-th pod observed gets the same delays.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>The clock of every delay.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logging; <see langword="null"/> logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>
/// A stand-in for the kubelets of an <see cref="EmbeddedApiServer"/>: it watches pods through an informer and, after a
/// seeded random delay on the injected <see cref="TimeProvider"/>, moves each new pod from <c>Pending</c> to
/// <c>Running</c> with a true <c>Ready</c> condition; pods controlled by a Job then end <c>Succeeded</c> (or
/// <c>Failed</c>, see <see cref="SimulatedKubeletOptions.FailureRate"/>) after a random run time. Pods deleted in the
/// meantime are skipped.
/// </summary>
public sealed partial class SimulatedKubelet
{
    private readonly SimulatedKubeletOptions _options;
    private readonly ConcurrentDictionary<string, byte> _started = new(StringComparer.Ordinal);
    private readonly Random _random;
    private readonly Lock _randomLock = new();
    private readonly ILogger _logger;
    private readonly List<Task> _inFlight = [];
    private CancellationToken _stopping;
    private long _transitions;

    /// <summary>Creates the kubelet; <see cref="Start"/> registers it on the informer.</summary>
    public SimulatedKubelet(SimulatedKubeletOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _random = new Random(options.Seed);
        _logger = options.LoggerFactory?.CreateLogger<SimulatedKubelet>() ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Status transitions written so far.</summary>
    public long Transitions => Interlocked.Read(ref _transitions);

    /// <summary>Starts reacting to pods until <paramref name="stopping"/> is cancelled.</summary>
    public IEventHandlerRegistration Start(CancellationToken stopping)
    {
        _stopping = stopping;
        return _options.PodInformer.AddEventHandler(new ResourceEventHandler<V1Pod>
        {
            OnAdd = (pod, _) => Observe(pod),
            OnUpdate = (_, pod) => Observe(pod),
            OnDelete = deleted =>
            {
                if (DeletedFinalStateUnknown.Unwrap<V1Pod>(deleted)?.Metadata?.Uid is { } uid)
                {
                    _started.TryRemove(uid, out _);
                }
            },
        });
    }

    /// <summary>Waits for the transitions in flight after the stop was requested.</summary>
    public Task StoppedAsync()
    {
        lock (_inFlight)
        {
            return Task.WhenAll(_inFlight);
        }
    }

    private void Observe(V1Pod pod)
    {
        if (pod.Metadata?.Uid is not { } uid || pod.Metadata.Name is not { } name || pod.IsDeleting() || pod.Status?.Phase is not ("Pending" or null) || !_started.TryAdd(uid, 0))
        {
            return;
        }

        var isJobPod = pod.GetController()?.Kind == "Job";
        TimeSpan start, run;
        bool fail;
        lock (_randomLock)
        {
            start = Draw(_options.StartDelay);
            run = Draw(_options.RunDuration);
            fail = isJobPod && _random.NextDouble() < _options.FailureRate;
        }

        var task = RunPodAsync(pod.Metadata.NamespaceProperty ?? string.Empty, name, uid, isJobPod, start, run, fail);
        lock (_inFlight)
        {
            _inFlight.RemoveAll(static t => t.IsCompleted);
            _inFlight.Add(task);
        }
    }

    private TimeSpan Draw((TimeSpan Min, TimeSpan Max) range) =>
        range.Max <= range.Min ? range.Min : range.Min + TimeSpan.FromTicks((long)(_random.NextDouble() * (range.Max - range.Min).Ticks));

    private async Task RunPodAsync(string ns, string name, string uid, bool isJobPod, TimeSpan start, TimeSpan run, bool fail)
    {
        try
        {
            await DelayAsync(start).ConfigureAwait(false);
            var now = _options.TimeProvider.GetUtcNow();
            if (!Patch(ns, name, uid, "Running", ready: true, now))
            {
                return;
            }

            if (!isJobPod)
            {
                return;
            }

            await DelayAsync(run).ConfigureAwait(false);
            Patch(ns, name, uid, fail ? "Failed" : "Succeeded", ready: false, _options.TimeProvider.GetUtcNow());
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private Task DelayAsync(TimeSpan delay) => delay <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(delay, _options.TimeProvider, _stopping);

    private bool Patch(string ns, string name, string uid, string phase, bool ready, DateTimeOffset now)
    {
        _stopping.ThrowIfCancellationRequested();
        var time = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", CultureInfo.InvariantCulture);
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["uid"] = uid },
            ["status"] = new JsonObject
            {
                ["phase"] = phase,
                ["startTime"] = time,
                ["conditions"] = new JsonArray(
                    new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False", ["lastTransitionTime"] = time },
                    new JsonObject { ["type"] = "ContainersReady", ["status"] = ready ? "True" : "False", ["lastTransitionTime"] = time }),
            },
        };
        try
        {
            _options.Server.Objects.Patch(ApiResourceDefinition.Pods, ns, name, patch.ToJsonString(), ApiPatchType.Merge, status: true, fieldManager: "kubelet");
            Interlocked.Increment(ref _transitions);
            return true;
        }
        catch (ApiServerStatusException ex) when (ex.StatusCode is 404 or 409)
        {
            // Deleted (or replaced under the same name) in the meantime.
            LogPodGone(_logger, ns, name, ex.Message);
            return false;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Pod {Namespace}/{Name} is gone: {Message}")]
    private static partial void LogPodGone(ILogger logger, string @namespace, string name, string message);
}
