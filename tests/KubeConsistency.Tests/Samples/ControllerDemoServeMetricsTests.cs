using System.Text;
using System.Text.RegularExpressions;
using KubeConsistency.Samples.Demo;
using KubeConsistency.Samples.Scenario;

namespace KubeConsistency.Tests.Samples;

/// <summary>
/// <c>--serve-metrics</c>: after the run the demo keeps <c>/metrics</c> up, printing its URL, until it is cancelled
/// (Ctrl-C). In the scrape collection: the exporter would otherwise pick up the series of tests running beside it.
/// </summary>
[Collection(MetricsScrapeCollection.Name)]
public sealed partial class ControllerDemoServeMetricsTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task With_serve_metrics_the_endpoint_stays_up_after_the_run_until_cancelled()
    {
        var output = new WatchingWriter("until Ctrl-C.");
        using var stop = new CancellationTokenSource();
        var run = ControllerDemoApp.RunAsync(
            ["--replicasets", "2", "--replicas", "1", "--jobs", "1", "--completions", "1", "--metrics-port", "0", "--serve-metrics"],
            ControllerDemoApp.CreatePlainConsole(output),
            output,
            output,
            interactive: false,
            stop.Token);

        var line = await output.Seen.WaitAsync(Guard);
        Assert.Contains("Summary", output.ToString(), StringComparison.Ordinal);
        var url = MetricsUrl().Match(line);
        Assert.True(url.Success, line);
        Assert.False(run.IsCompleted, "the demo exited instead of serving");

        // Scraped after the run: the series of the finished run are there, with upstream's names.
        using var http = new HttpClient();
        var text = await http.GetStringAsync(url.Value).WaitAsync(Guard);
        Assert.Contains("workqueue_adds_total{name=\"replicaset\"} ", text, StringComparison.Ordinal);
        Assert.Contains($"informer_store_resource_version{{group=\"\",name=\"{ControllerScenario.InformerName}\",resource=\"pods\",version=\"v1\"}} ", text, StringComparison.Ordinal);

        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(Guard));
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(url.Value).WaitAsync(Guard));
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/metrics")]
    private static partial Regex MetricsUrl();

    /// <summary>Collects what is written and completes <see cref="Seen"/> with the first line that contains the marker.</summary>
    private sealed class WatchingWriter(string marker) : TextWriter
    {
        private readonly StringBuilder _text = new();
        private readonly TaskCompletionSource<string> _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<string> Seen => _seen.Task;

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => Write(value.ToString());

        public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

        public override void Write(string? value)
        {
            lock (_text)
            {
                _text.Append(value);
                if (!_seen.Task.IsCompleted && _text.ToString() is var all && all.IndexOf(marker, StringComparison.Ordinal) is >= 0 and var at && all.IndexOf('\n', at) >= 0)
                {
                    var start = all.LastIndexOf('\n', at) + 1;
                    _seen.TrySetResult(all[start..all.IndexOf('\n', at)]);
                }
            }
        }

        public override string ToString()
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }
}
