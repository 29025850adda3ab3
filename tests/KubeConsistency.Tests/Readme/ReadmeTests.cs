namespace KubeConsistency.Tests.Readme;

public sealed class ReadmeTests
{
    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "KubeConsistency.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("KubeConsistency.sln not found above " + AppContext.BaseDirectory);
    }

    private static string Normalize(IEnumerable<string> lines) => string.Join("\n", lines.Select(l => l.Trim()).Where(l => l.Length > 0));

    /// <summary>Each README block after <c>&lt;!-- example: name --&gt;</c> equals the region <c>README-BEGIN name</c> … <c>README-END name</c> of its source file.</summary>
    [Theory]
    [InlineData("kubernetesclient", "ReadmeKubernetesClientExample.cs")]
    [InlineData("cache", "ReadmeExample.cs")]
    [InlineData("informer", "ReadmeInformerExample.cs")]
    [InlineData("property", "ReadmePropertyExample.cs")]
    [InlineData("hosting", "ReadmeHostingExample.cs")]
    public void ReadmeExamples_AreTheCompiledExamples(string name, string file)
    {
        var root = RepositoryRoot();
        var source = File.ReadAllLines(Path.Combine(root, "tests", "KubeConsistency.Tests", "Readme", file));
        var begin = Array.FindIndex(source, l => l.Trim() == "// README-BEGIN " + name);
        var end = Array.FindIndex(source, l => l.Trim() == "// README-END " + name);
        Assert.True(begin >= 0 && end > begin, $"{file} lacks the README-BEGIN/END {name} markers");
        var example = Normalize(source[(begin + 1)..end]);

        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var start = readme.IndexOf($"<!-- example: {name} -->", StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md lacks the <!-- example: {name} --> marker");
        var block = readme[start..].Split("```")[1];
        var blockLines = block.Split('\n').Skip(1).Where(l => !System.Text.RegularExpressions.Regex.IsMatch(l.Trim(), @"^using [A-Za-z0-9_.]+( = [A-Za-z0-9_.]+)?;$"));
        Assert.Equal(example, Normalize(blockLines));
    }

    [Fact]
    public async Task ReadmeHostingExample_Runs_AndReconciles()
    {
        await using var server = await KubeConsistency.Testing.EmbeddedApiServer.StartAsync();
        var kubeconfig = Path.Combine(Path.GetTempPath(), "kc-readme-host-" + Guid.NewGuid().ToString("N") + ".yaml");
        server.WriteKubeconfig(kubeconfig, "default");
        try
        {
            using var host = ReadmeHostingExample.Build(kubeconfig);
            await host.StartAsync();
            server.Objects.Create(KubeConsistency.Testing.ApiResourceDefinition.ReplicaSets, KubeConsistency.Tests.Hosting.OperatorHost.ReplicaSet("readme", 2));
            await KubeConsistency.Tests.Hosting.OperatorHost.WaitUntilAsync(() => KubeConsistency.Tests.Hosting.OperatorHost.LivePods(server, "readme") == 2, TimeSpan.FromSeconds(20), "2 pods");
            await host.StopAsync();
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public async Task ReadmePropertyExample_Runs_AndPasses()
    {
        await using var kit = await KubeConsistency.Tests.Scenarios.SampleScenarioKit.StartAsync();
        var result = ReadmePropertyExample.Run(kit.Server, kit.Kubernetes, cases: 30);
        Assert.True(result.Passed);
        Assert.Equal(30, result.Cases);
    }

    [Fact]
    public async Task ReadmeKubernetesClientExample_Runs_AndCreatesOnePod_EvenWithALaggingPodWatch()
    {
        await using var server = await KubeConsistency.Testing.EmbeddedApiServer.StartAsync();
        var kubeconfig = Path.Combine(Path.GetTempPath(), "kc-readme-" + Guid.NewGuid().ToString("N") + ".yaml");
        server.WriteKubeconfig(kubeconfig, "default");

        // Every pod event reaches the informer 300 ms late: ten back-to-back reconciles all see a cache without the
        // pod just created, and only the gate keeps them from creating more.
        server.Faults.SetWatchDelay("", "pods", TimeSpan.FromMilliseconds(300));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await ReadmeKubernetesClientExample.RunAsync(kubeconfig, stop.Token);
            var pods = server.Objects.List(KubeConsistency.Testing.ApiResourceDefinition.Pods, "default", labelSelector: "owner=web").Items;
            Assert.Single(pods);
            var lease = server.Objects.Get(KubeConsistency.Testing.ApiResourceDefinition.Leases, "default", "my-operator");
            Assert.NotNull(lease);
        }
        finally
        {
            await stop.CancelAsync();
            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public async Task ReadmeInformerExample_Runs_AgainstTheEmbeddedServer_ThroughAKubeconfig()
    {
        await using var server = await KubeConsistency.Testing.EmbeddedApiServer.StartAsync();
        var kubeconfig = Path.Combine(Path.GetTempPath(), "kc-readme-" + Guid.NewGuid().ToString("N") + ".yaml");
        server.WriteKubeconfig(kubeconfig, "default");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            var (informer, created) = await ReadmeInformerExample.RunAsync(kubeconfig, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, stop.Token);
            Assert.True(informer.Indexer.TryGetByKey("default/" + created.Metadata!.Name, out _));
        }
        finally
        {
            await stop.CancelAsync();
            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public async Task ReadmeUsageExample_Runs_AndDetectsTheStaleCache()
    {
        var listed = new[] { TestObjects.Pod("default", "web-1", "1100") };
        var created = TestObjects.Pod("default", "web-2", "1300");
        var stale = await ReadmeExample.RunAsync(listed, "1100", created, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.NotNull(stale); // the store is at the bookmark RV 1200, the write was at 1300
        Assert.Equal("1200", stale.ReadResourceVersion);
        Assert.Equal("1300", stale.WroteResourceVersion);
    }
}
