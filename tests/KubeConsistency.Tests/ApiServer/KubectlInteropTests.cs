using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>A fact that runs only when <c>kubectl</c> is on PATH (xunit 2 has no dynamic skip).</summary>
public sealed class KubectlFactAttribute : FactAttribute
{
    public KubectlFactAttribute()
    {
        if (KubectlInteropTests.KubectlPath is null)
        {
            Skip = "kubectl is not on PATH; the kubectl interop tests need a kubectl 1.32 binary.";
        }
    }
}

/// <summary>The real kubectl against the embedded server: get, -o json, create, delete, apply, label and get -w.</summary>
public sealed class KubectlInteropTests : IDisposable
{
    private static readonly TimeSpan s_kubectlGuard = TimeSpan.FromSeconds(90);
    private readonly string _dir = Directory.CreateTempSubdirectory("kubectl-interop-").FullName;

    internal static string? KubectlPath { get; } = FindKubectl();

    private static string? FindKubectl()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, OperatingSystem.IsWindows() ? "kubectl.exe" : "kubectl");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }

    private ProcessStartInfo StartInfo(EmbeddedApiServer server, IEnumerable<string> args)
    {
        var kubeconfig = server.WriteKubeconfig(Path.Combine(_dir, "kubeconfig"));
        var psi = new ProcessStartInfo(KubectlPath!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _dir,
        };
        foreach (var a in new[] { "--kubeconfig", kubeconfig, "--server", server.BaseAddress.GetLeftPart(UriPartial.Authority), "--cache-dir", Path.Combine(_dir, "cache") }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["HOME"] = _dir;
        psi.Environment.Remove("KUBECONFIG");
        return psi;
    }

    private async Task<(int Exit, string Stdout, string Stderr)> KubectlAsync(EmbeddedApiServer server, params string[] args)
    {
        using var process = Process.Start(StartInfo(server, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(s_kubectlGuard);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    [KubectlFact]
    public async Task Get_pods_prints_the_server_side_table()
    {
        await using var server = await TestApi.StartAsync();
        var (exit, stdout, stderr) = await KubectlAsync(server, "get", "pods");
        Assert.Equal(0, exit);
        Assert.Equal("", stdout);
        Assert.Contains("No resources found in default namespace.", stderr, StringComparison.Ordinal);

        TestApi.SeedPods(server, "default", "alpha", "beta");
        (exit, stdout, stderr) = await KubectlAsync(server, "get", "pods");
        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["NAME", "READY", "STATUS", "RESTARTS", "AGE"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["alpha", "0/1", "Pending", "0"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[..4]);
        Assert.Equal(["beta", "0/1", "Pending", "0"], lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries)[..4]);
        Assert.Equal(3, lines.Length);

        (exit, stdout, _) = await KubectlAsync(server, "get", "namespaces");
        Assert.Equal(0, exit);
        Assert.Contains(stdout.Split('\n'), l => l.StartsWith("kube-system ", StringComparison.Ordinal) && l.Contains("Active", StringComparison.Ordinal));
    }

    [KubectlFact]
    public async Task Get_nodes_daemonsets_and_statefulsets_by_name_and_short_name()
    {
        await using var server = await TestApi.StartAsync(o => o.AdditionalResources = ApiResourceDefinition.Workloads);
        server.Objects.Create(ApiResourceDefinition.Nodes, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "node-a" } });
        var template = new JsonObject
        {
            ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = "x" } },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray { new JsonObject { ["name"] = "c", ["image"] = "i" } } },
        };
        server.Objects.Create(ApiResourceDefinition.DaemonSets, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "agent", ["namespace"] = "default" },
            ["spec"] = new JsonObject { ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "x" } }, ["template"] = template.DeepClone() },
        });
        server.Objects.Create(ApiResourceDefinition.StatefulSets, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "db", ["namespace"] = "default" },
            ["spec"] = new JsonObject { ["replicas"] = 2, ["serviceName"] = "db", ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "x" } }, ["template"] = template.DeepClone() },
        });

        var (exit, stdout, stderr) = await KubectlAsync(server, "get", "no");
        Assert.True(exit == 0, stderr);
        Assert.Contains(stdout.Split('\n'), l => l.StartsWith("node-a ", StringComparison.Ordinal));
        (exit, stdout, stderr) = await KubectlAsync(server, "get", "ds", "agent", "-o", "json");
        Assert.True(exit == 0, stderr);
        var ds = JsonNode.Parse(stdout)!;
        Assert.Equal(("apps/v1", "DaemonSet"), (ds["apiVersion"]!.GetValue<string>(), ds["kind"]!.GetValue<string>()));
        Assert.Equal("RollingUpdate", ds["spec"]!["updateStrategy"]!["type"]!.GetValue<string>());
        Assert.Equal(0, ds["status"]!["desiredNumberScheduled"]!.GetValue<int>());
        (exit, stdout, stderr) = await KubectlAsync(server, "get", "sts");
        Assert.True(exit == 0, stderr);
        Assert.Contains(stdout.Split('\n'), l => l.StartsWith("db ", StringComparison.Ordinal));
        (exit, stdout, stderr) = await KubectlAsync(server, "scale", "statefulset", "db", "--replicas=3");
        Assert.True(exit == 0, stderr);
        Assert.Equal(3, server.Objects.Get(ApiResourceDefinition.StatefulSets, "default", "db")!["spec"]!["replicas"]!.GetValue<int>());
    }

    [KubectlFact]
    public async Task Get_pods_as_json_returns_the_objects()
    {
        await using var server = await TestApi.StartAsync();
        TestApi.SeedPods(server, "default", "alpha");
        var (exit, stdout, stderr) = await KubectlAsync(server, "get", "pods", "-o", "json");
        Assert.True(exit == 0, stderr);
        var list = TestApi.Parse(stdout);
        Assert.Equal("List", list["kind"]!.GetValue<string>());
        var item = Assert.Single(list["items"]!.AsArray())!;
        Assert.Equal("Pod", item["kind"]!.GetValue<string>());
        Assert.Equal("alpha", item["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal(server.Objects.Get(ApiResourceDefinition.Pods, "default", "alpha")!["metadata"]!["uid"]!.GetValue<string>(), item["metadata"]!["uid"]!.GetValue<string>());

        (exit, stdout, _) = await KubectlAsync(server, "get", "pod", "alpha", "-o", "json");
        Assert.Equal(0, exit);
        Assert.Equal("Pending", TestApi.Parse(stdout)["status"]!["phase"]!.GetValue<string>());
    }

    [KubectlFact]
    public async Task Get_a_big_list_reads_gzipped_pages_and_tables()
    {
        // kubectl (Go's transport) sends Accept-Encoding: gzip; 500-pod pages (its --chunk-size) are well over 128 KiB.
        await using var server = await TestApi.StartAsync();
        for (var i = 0; i < 1100; i++)
        {
            server.Objects.Create(ApiResourceDefinition.Pods, TestApi.Pod($"pod-{i:D4}", "default", new() { ["app"] = "demo" }));
        }

        var (exit, stdout, stderr) = await KubectlAsync(server, "get", "pods", "-o", "json");
        Assert.True(exit == 0, stderr);
        var names = TestApi.Parse(stdout)["items"]!.AsArray().Select(p => p!["metadata"]!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(Enumerable.Range(0, 1100).Select(i => $"pod-{i:D4}"), names);
        var afterJson = server.GzippedResponses;
        Assert.True(afterJson >= 2, $"gzipped responses: {afterJson}"); // at least the two full pages

        (exit, stdout, stderr) = await KubectlAsync(server, "get", "pods", "--chunk-size=0");
        Assert.True(exit == 0, stderr);
        Assert.Equal(1101, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // header and a row per pod
        Assert.True(server.GzippedResponses > afterJson, "the Table must have been gzipped");
    }

    [KubectlFact]
    public async Task Create_and_delete_a_pod_from_a_file()
    {
        await using var server = await TestApi.StartAsync();
        var file = Path.Combine(_dir, "pod.yaml");
        await File.WriteAllTextAsync(file, """
            apiVersion: v1
            kind: Pod
            metadata:
              name: kc-pod
              labels:
                app: kc
            spec:
              containers:
              - name: c
                image: busybox:1.36
                command: ["sleep", "3600"]
            """);
        var (exit, stdout, stderr) = await KubectlAsync(server, "create", "-f", file);
        Assert.True(exit == 0, stderr);
        Assert.Equal("pod/kc-pod created\n", stdout);
        var created = server.Objects.Get(ApiResourceDefinition.Pods, "default", "kc-pod")!;
        Assert.Equal("kubectl-create", created["metadata"]!["managedFields"]![0]!["manager"]!.GetValue<string>());
        Assert.Equal("kc", created["metadata"]!["labels"]!["app"]!.GetValue<string>());

        (exit, stdout, stderr) = await KubectlAsync(server, "create", "-f", file);
        Assert.NotEqual(0, exit);
        Assert.Contains("pods \"kc-pod\" already exists", stderr, StringComparison.Ordinal);

        (exit, stdout, stderr) = await KubectlAsync(server, "delete", "pod", "kc-pod");
        Assert.True(exit == 0, stderr);
        Assert.Equal("pod \"kc-pod\" deleted\n", stdout);
        Assert.Null(server.Objects.Get(ApiResourceDefinition.Pods, "default", "kc-pod"));
    }

    [KubectlFact]
    public async Task Apply_and_label_patch_the_object()
    {
        await using var server = await TestApi.StartAsync();
        var file = Path.Combine(_dir, "apply.yaml");
        const string manifest = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
              labels:
                tier: TIER
            data:
              key: value
            """;
        await File.WriteAllTextAsync(file, manifest.Replace("TIER", "fe", StringComparison.Ordinal));
        var (exit, stdout, stderr) = await KubectlAsync(server, "apply", "-f", file);
        Assert.True(exit == 0, stderr);
        Assert.Equal("configmap/settings created\n", stdout);
        await File.WriteAllTextAsync(file, manifest.Replace("TIER", "be", StringComparison.Ordinal));
        (exit, stdout, stderr) = await KubectlAsync(server, "apply", "-f", file);
        Assert.True(exit == 0, stderr);
        Assert.Equal("configmap/settings configured\n", stdout);
        (exit, stdout, stderr) = await KubectlAsync(server, "label", "configmap", "settings", "extra=yes");
        Assert.True(exit == 0, stderr);

        var cm = server.Objects.Get(ApiResourceDefinition.ConfigMaps, "default", "settings")!;
        Assert.Equal("be", cm["metadata"]!["labels"]!["tier"]!.GetValue<string>());
        Assert.Equal("yes", cm["metadata"]!["labels"]!["extra"]!.GetValue<string>());
        Assert.NotNull(cm["metadata"]!["annotations"]!["kubectl.kubernetes.io/last-applied-configuration"]);
    }

    [KubectlFact]
    public async Task Get_pods_watch_prints_a_row_per_event()
    {
        await using var server = await TestApi.StartAsync();
        TestApi.SeedPods(server, "default", "alpha");
        using var process = Process.Start(StartInfo(server, ["get", "pods", "-w"]))!;
        var lines = Channel.CreateUnbounded<string>();
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        var pump = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                await lines.Writer.WriteAsync(line);
            }

            lines.Writer.Complete();
        });

        async Task<string[]> NextRowAsync(string name)
        {
            while (true)
            {
                string line;
                try
                {
                    line = await lines.Reader.ReadAsync().AsTask().WaitAsync(s_kubectlGuard);
                }
                catch (ChannelClosedException)
                {
                    lock (stderr)
                    {
                        throw new Xunit.Sdk.XunitException("kubectl get -w exited: " + stderr);
                    }
                }

                var cells = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (cells.Length > 0 && cells[0] == name)
                {
                    return cells;
                }
            }
        }

        try
        {
            Assert.Equal("Pending", (await NextRowAsync("alpha"))[2]);

            // The watch resumes from the list's resourceVersion, so objects created now always show up.
            TestApi.SeedPods(server, "default", "zeta");
            Assert.Equal("Pending", (await NextRowAsync("zeta"))[2]);
            server.Objects.Delete(ApiResourceDefinition.Pods, "default", "zeta");
            Assert.Equal("Terminating", (await NextRowAsync("zeta"))[2]);
            Assert.Equal("Terminating", (await NextRowAsync("zeta"))[2]);
            Assert.True(server.Faults.GetOpenWatchCount("", "pods") >= 1);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(s_kubectlGuard);
            await pump.WaitAsync(s_kubectlGuard);
        }

        var watches = server.Faults.GetRequestCount("watch", "", "pods");
        Assert.Equal(1, watches);
    }
}
