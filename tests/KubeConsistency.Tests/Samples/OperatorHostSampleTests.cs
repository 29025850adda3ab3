using System.Text.RegularExpressions;
using KubeConsistency.Samples.Hosting;

namespace KubeConsistency.Tests.Samples;

/// <summary>The generic-host operator sample (issue 11) runs against the embedded server, reconciles both kinds and stops.</summary>
[Collection(MetricsScrapeCollection.Name)]
public sealed class OperatorHostSampleTests
{
    [Fact]
    public async Task TheOperatorHostSampleRunsReconcilesAndStops()
    {
        using var output = new StringWriter();
        var exit = await OperatorHostApp.RunAsync(["--urls", "http://127.0.0.1:0", "--run-for", "6"], output);
        var text = output.ToString();
        Assert.Equal(0, exit);
        Assert.Contains("created replicasets/web", text, StringComparison.Ordinal);
        var pods = Regex.Match(text, @"pods: (\d+) \((\d+) succeeded\)");
        Assert.True(pods.Success, text);

        // 3 ReplicaSet pods plus the Job's: at least its 2 parallel ones.
        Assert.True(int.Parse(pods.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 5, text);
        Assert.EndsWith("stopped" + Environment.NewLine, text, StringComparison.Ordinal);
    }
}
