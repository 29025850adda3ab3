using System.Diagnostics.Metrics;
using System.Reflection;

namespace KubeConsistency.Metrics;

/// <summary>
/// The meter every KubeConsistency instrument is created on, and the instrument names.
/// </summary>
/// <remarks>
/// Names are chosen so that the OpenTelemetry Prometheus exporter's rules (ecosystem.md §8) produce exactly
/// the names kube-controller-manager and client-go export: <c>informer.store_resource_version</c> becomes
/// <c>informer_store_resource_version</c>, the counter <c>replicaset_controller.stale_sync_skips</c> becomes
/// <c>replicaset_controller_stale_sync_skips_total</c>, histograms with unit <c>s</c> gain <c>_seconds</c>.
/// Tag keys are upstream's label names verbatim (<c>name</c>, <c>group</c>, <c>version</c>, <c>resource</c>).
/// </remarks>
public static class KubeConsistencyMeter
{
    /// <summary>The meter name: <c>KubeConsistency</c>.</summary>
    public const string Name = "KubeConsistency";

    private static readonly Lazy<Meter> s_shared = new(() => new Meter(Name, Version));

    /// <summary>The library version reported on the meter (informational version without build metadata).</summary>
    public static string? Version { get; } = typeof(KubeConsistencyMeter).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0];

    /// <summary>
    /// The meter to create instruments on: from <paramref name="meterFactory"/> when given (the factory owns
    /// and disposes it), else one process-wide static meter.
    /// </summary>
    /// <param name="meterFactory">The application's meter factory, or <see langword="null"/>.</param>
    public static Meter Get(IMeterFactory? meterFactory) =>
        meterFactory is null ? s_shared.Value : meterFactory.Create(new MeterOptions(Name) { Version = Version });
}
