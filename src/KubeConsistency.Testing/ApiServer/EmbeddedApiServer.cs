using System.Globalization;
using System.Net;
using System.Text;
using KubeConsistency.Testing.ApiServer;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace KubeConsistency.Testing;

/// <summary>
/// An in-process Kubernetes API server on 127.0.0.1 that speaks the real HTTP protocol of kube-apiserver 1.32
/// (discovery, list with paging and continue tokens, watch with bookmarks and watch-list, 410 Expired, Status
/// errors, Tables, patches, finalizers, garbage collection). Both KubeConsistency's client and the real
/// <c>kubectl</c> work against it. State lives in memory in an etcd-like MVCC store with one global revision.
/// </summary>
/// <remarks>
/// Start one per test with <see cref="StartAsync"/>; it binds an ephemeral port, so tests can run in parallel.
/// <see cref="Faults"/> injects lagging watches, dropped streams, compaction and failing requests;
/// <see cref="Objects"/> reads and writes objects without HTTP.
/// </remarks>
public sealed class EmbeddedApiServer : IAsyncDisposable
{
    private readonly EmbeddedApiServerOptions _options;
    private readonly ApiStore _store;
    private readonly RequestHandler _handler;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private KestrelServer? _server;
    private ServiceProvider? _services;
    private CancellationTokenSource _stopping = new();
    private int _port;
    private bool _disposed;

    private EmbeddedApiServer(EmbeddedApiServerOptions options)
    {
        _options = options;
        _loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger("KubeConsistency.Testing.EmbeddedApiServer");
        _store = new ApiStore(options, _logger);
        foreach (var def in ApiResourceDefinition.BuiltIn.Concat(options.AdditionalResources))
        {
            _store.Register(def);
        }

        Faults = new ApiServerFaults(_store);
        Objects = new ApiObjectStore(_store);
        var discovery = new Discovery(_store, () => "127.0.0.1:" + _port.ToString(CultureInfo.InvariantCulture));
        _handler = new RequestHandler(_store, Faults, discovery, options, _logger, () => Volatile.Read(ref _stopping).Token);
        if (options.CreateDefaultNamespaces)
        {
            foreach (var ns in (string[])["default", "kube-node-lease", "kube-public", "kube-system"])
            {
                _store.Seed(ApiResourceDefinition.Namespaces, ns);
            }
        }
    }

    /// <summary>Starts a server on 127.0.0.1 (an ephemeral port unless <see cref="EmbeddedApiServerOptions.Port"/> is set).</summary>
    /// <param name="options">Options; default values when null.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<EmbeddedApiServer> StartAsync(EmbeddedApiServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new EmbeddedApiServerOptions();
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Port, 0);
        var copy = new EmbeddedApiServerOptions
        {
            TimeProvider = options.TimeProvider,
            Port = options.Port,
            WatchHistoryLimit = options.WatchHistoryLimit,
            BookmarkInterval = options.BookmarkInterval,
            BookmarkBeforeTimeout = options.BookmarkBeforeTimeout,
            FutureResourceVersionWait = options.FutureResourceVersionWait,
            WatchBufferSize = options.WatchBufferSize,
            CompactOnRestart = options.CompactOnRestart,
            CreateDefaultNamespaces = options.CreateDefaultNamespaces,
            RecordManagedFields = options.RecordManagedFields,
            EnforceNamespaceLifecycle = options.EnforceNamespaceLifecycle,
            DeleteStatusResourceVersion = options.DeleteStatusResourceVersion,
            ResponseCompression = options.ResponseCompression,
            WatchListCompression = options.WatchListCompression,
            MaxRequestBodySize = options.MaxRequestBodySize,
            LoggerFactory = options.LoggerFactory,
            AdditionalResources = options.AdditionalResources.ToList(),
        };
        var server = new EmbeddedApiServer(copy) { _port = options.Port };
        await server.ListenAsync(cancellationToken).ConfigureAwait(false);
        return server;
    }

    /// <summary>The server's root URL, <c>http://127.0.0.1:PORT/</c>; unchanged by <see cref="StopAsync"/> and <see cref="RestartAsync"/>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Whether the server is listening.</summary>
    public bool IsRunning => _server is not null;

    /// <summary>Runs after open watches were ended and before Kestrel stops (tests send a request in that window).</summary>
    internal Func<Task>? TestHookBeforeKestrelStop { get; set; }

    /// <summary>Whether the last stop had to abort connections after its grace period (tests: a stop must end every watch cleanly).</summary>
    internal bool LastStopNeededAbort { get; private set; }

    /// <summary>Fault injection and request counters.</summary>
    public ApiServerFaults Faults { get; }

    /// <summary>Server-side object access without HTTP.</summary>
    public ApiObjectStore Objects { get; }

    /// <summary>How many responses went out gzipped (tests: a client really read compressed bodies).</summary>
    internal long GzippedResponses => _handler.Compression.Gzipped;

    /// <summary>The store behind <see cref="Objects"/>, for the scenario runner's straight-to-informer feeds.</summary>
    internal ApiStore Store => _store;

    /// <summary>The global revision (etcd revision) as a string: the resourceVersion of the latest write.</summary>
    public string CurrentResourceVersion => _store.Revision.ToString(CultureInfo.InvariantCulture);

    /// <summary>The resources served, built-in and custom.</summary>
    public IReadOnlyList<ApiResourceDefinition> Resources => _store.Resources.Select(r => r.Definition).ToList();

    /// <summary>Adds a custom resource at run time; it shows up in discovery at once. One version per group.</summary>
    /// <param name="resource">The resource definition.</param>
    /// <exception cref="InvalidOperationException">The resource (group and plural) is already registered, or its group is served at another version.</exception>
    public void RegisterResource(ApiResourceDefinition resource) => _store.Register(resource);

    /// <summary>The placeholder bearer token <see cref="WriteKubeconfig"/> writes; the server accepts any request.</summary>
    public const string KubeconfigToken = "embedded-api-server";

    /// <summary>
    /// Writes a kubeconfig whose only cluster is this server, for kubectl, KubernetesClient's
    /// <c>KubernetesClientConfiguration.BuildConfigFromConfigFile</c> or any real-cluster code path. The user carries a
    /// placeholder bearer token (<see cref="KubeconfigToken"/>): the server authenticates nobody, but clients that refuse
    /// a user without credentials (KubernetesClient) accept it.
    /// </summary>
    /// <param name="path">File to write (overwritten).</param>
    /// <param name="namespace">Default namespace of the context; <c>default</c> when null.</param>
    /// <returns>The path written.</returns>
    public string WriteKubeconfig(string path, string? @namespace = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var yaml = new StringBuilder()
            .Append("apiVersion: v1\n")
            .Append("kind: Config\n")
            .Append("clusters:\n")
            .Append("- name: embedded\n")
            .Append("  cluster:\n")
            .Append("    server: ").Append(BaseAddress.GetLeftPart(UriPartial.Authority)).Append('\n')
            .Append("contexts:\n")
            .Append("- name: embedded\n")
            .Append("  context:\n")
            .Append("    cluster: embedded\n")
            .Append("    user: embedded\n")
            .Append("    namespace: ").Append(@namespace ?? "default").Append('\n')
            .Append("current-context: embedded\n")
            .Append("users:\n")
            .Append("- name: embedded\n")
            .Append("  user:\n")
            .Append("    token: ").Append(KubeconfigToken).Append('\n')
            .Append("preferences: {}\n");
        File.WriteAllText(path, yaml.ToString());
        return path;
    }

    /// <summary>Stops listening: open watches end cleanly (chunked body terminated, no ERROR event), every connection is closed; all data is kept.</summary>
    /// <param name="cancellationToken">Cancels waiting for connections to close (they are then aborted).</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Listens again on the same port with the same data. Like a kube-apiserver restart (and unless
    /// <see cref="EmbeddedApiServerOptions.CompactOnRestart"/> is false), the watch window moves to the current
    /// revision, so watches from older resourceVersions get 410 Expired.
    /// </summary>
    /// <param name="cancellationToken">Cancels the restart.</param>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await StopCoreAsync(cancellationToken).ConfigureAwait(false);
            if (_options.CompactOnRestart)
            {
                _store.Compact();
            }

            await ListenCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops the server (see <see cref="StopAsync"/>) and releases it.</summary>
    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await StopCoreAsync(CancellationToken.None).ConfigureAwait(false);
            _stopping.Dispose();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ListenCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task ListenCoreAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            return;
        }

        var services = new ServiceCollection().AddLogging().BuildServiceProvider();
        var kestrelOptions = new KestrelServerOptions
        {
            AddServerHeader = false,
            ApplicationServices = services,
        };
        kestrelOptions.Limits.MaxRequestBodySize = null;

        // A watch client that stops reading must not be aborted by Kestrel's data-rate guard: the API server ends slow
        // watches itself (WatchBufferSize), and Go's server has no such limit.
        kestrelOptions.Limits.MinResponseDataRate = null;
        kestrelOptions.Limits.MinRequestBodyDataRate = null;
        kestrelOptions.Listen(IPAddress.Loopback, _port, listen => listen.Protocols = HttpProtocols.Http1);
        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions()), _loggerFactory);
        var server = new KestrelServer(Options.Create(kestrelOptions), transport, _loggerFactory);
        try
        {
            await server.StartAsync(new HttpApplication(_handler), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            server.Dispose();
            await services.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel did not report its address.");
        var uri = new Uri(address);
        _port = uri.Port;
        BaseAddress = new Uri($"http://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}/");
        _server = server;
        _services = services;
        Log.Listening(_logger, BaseAddress);
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        var server = _server;
        if (server is null)
        {
            return;
        }

        _server = null;

        // End open watches first so that their responses finish cleanly instead of being aborted. The token stays
        // cancelled until the next listen: a client that re-watches on a kept-alive connection during the shutdown
        // gets a watch that ends at once (and `Connection: close`), so Kestrel never waits out its grace period.
        var stopping = _stopping;
        await stopping.CancelAsync().ConfigureAwait(false);
        if (TestHookBeforeKestrelStop is { } hook)
        {
            await hook().ConfigureAwait(false);
        }

        // Kestrel's graceful shutdown is bounded in real time: it is network I/O, not simulated time.
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5), TimeProvider.System);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(grace.Token, cancellationToken);
        try
        {
            await server.StopAsync(linked.Token).ConfigureAwait(false);
        }
        finally
        {
            LastStopNeededAbort = grace.IsCancellationRequested;
            server.Dispose();
            Volatile.Write(ref _stopping, new CancellationTokenSource());
            stopping.Dispose();
            if (_services is { } services)
            {
                _services = null;
                await services.DisposeAsync().ConfigureAwait(false);
            }
        }

        Log.Stopped(_logger, BaseAddress);
    }
}
