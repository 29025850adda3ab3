namespace KubeConsistency.Tests.Samples;

/// <summary>
/// Tests that scrape OpenTelemetry's Prometheus exporter run alone: the exporter listens to every meter named
/// <c>KubeConsistency</c> in the process, so a test running beside them would add its series to the scrape.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsScrapeCollection
{
    /// <summary>The collection name.</summary>
    public const string Name = "metrics scrape";
}
