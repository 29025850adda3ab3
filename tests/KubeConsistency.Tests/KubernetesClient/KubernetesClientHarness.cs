using k8s;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.KubernetesClient;

/// <summary>
/// An embedded API server and a KubernetesClient <see cref="Kubernetes"/> client configured the way a user configures one:
/// from the kubeconfig the server writes, through <see cref="KubernetesClientConfiguration.BuildConfigFromConfigFile(string, string, string, bool)"/>.
/// </summary>
internal sealed class KubernetesClientHarness : IAsyncDisposable
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly string _directory;

    private KubernetesClientHarness(EmbeddedApiServer server, string directory, Kubernetes client, KubernetesClientConfiguration configuration)
    {
        Server = server;
        _directory = directory;
        Client = client;
        Configuration = configuration;
    }

    public EmbeddedApiServer Server { get; }

    public Kubernetes Client { get; }

    public KubernetesClientConfiguration Configuration { get; }

    public static async Task<KubernetesClientHarness> StartAsync(Action<EmbeddedApiServerOptions>? configure = null)
    {
        var options = new EmbeddedApiServerOptions();
        configure?.Invoke(options);
        var server = await EmbeddedApiServer.StartAsync(options).WaitAsync(Guard);
        var directory = Directory.CreateTempSubdirectory("kc-").FullName;
        var path = server.WriteKubeconfig(Path.Combine(directory, "config"));
        var configuration = KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
        return new KubernetesClientHarness(server, directory, new Kubernetes(configuration, new ConsistencyRecordingHandler()), configuration);
    }

    /// <summary>Another client over the same server (a second replica of an operator).</summary>
    public Kubernetes NewClient() => new(Configuration, new ConsistencyRecordingHandler());

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
