using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Http;

/// <summary>Options shared by every way of creating a <see cref="KubernetesConnection"/>.</summary>
public sealed class KubernetesConnectionOptions
{
    /// <summary>The clock for retry waits and token-file re-reads (default <see cref="TimeProvider.System"/>).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where the client logs; <see langword="null"/> logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>How often a request the server asked to retry (429, 5xx with <c>Retry-After</c>) is retried before its error is thrown (client-go default 10).</summary>
    public int MaxRetries { get; init; } = 10;

    /// <summary>The <c>User-Agent</c>; <see langword="null"/> sends <c>KubeConsistency/&lt;version&gt;</c>.</summary>
    public string? UserAgent { get; init; }
}

/// <summary>Where an in-cluster configuration comes from (defaults: the pod's environment and service account mount).</summary>
public sealed class InClusterOptions
{
    /// <summary>The default service account mount.</summary>
    public const string DefaultServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>The directory with <c>token</c>, <c>ca.crt</c> and <c>namespace</c>.</summary>
    public string ServiceAccountDirectory { get; init; } = DefaultServiceAccountDirectory;

    /// <summary>The API server host; <see langword="null"/> reads <c>KUBERNETES_SERVICE_HOST</c>.</summary>
    public string? Host { get; init; }

    /// <summary>The API server port; <see langword="null"/> reads <c>KUBERNETES_SERVICE_PORT</c>.</summary>
    public int? Port { get; init; }

    /// <summary>The namespace; <see langword="null"/> reads <c>POD_NAMESPACE</c>, then the <c>namespace</c> file, else <c>default</c>.</summary>
    public string? Namespace { get; init; }
}

/// <summary>
/// A connection to one Kubernetes API server (one pooled <see cref="HttpClient"/>), from a kubeconfig, the pod's
/// service account, or a plain URL. Creates <see cref="IResourceClient{T}"/>s for any resource.
/// </summary>
/// <remarks>
/// TLS verification is on unless the kubeconfig says <c>insecure-skip-tls-verify</c>; a configured CA is the only
/// trust anchor. Credentials never appear in <see cref="ToString"/>, logs or exception messages. Exec and
/// auth-provider credential plugins are not supported (<see cref="NotSupportedException"/>).
/// </remarks>
public sealed class KubernetesConnection : IDisposable
{
    private readonly ApiTransport _transport;

    private KubernetesConnection(ConnectionSettings settings, KubernetesConnectionOptions options, ILogger logger)
        : this(new ApiTransport(settings, options, logger))
    {
    }

    private KubernetesConnection(ApiTransport transport)
    {
        _transport = transport;
        Namespace = transport.Settings.Namespace;
    }

    /// <summary>The API server URL.</summary>
    public Uri Server => _transport.Settings.Server;

    /// <summary>The default namespace: the kubeconfig context's (else <c>default</c>), the pod's in-cluster, <see langword="null"/> for <see cref="ForServer"/>.</summary>
    public string? Namespace { get; }

    /// <summary>
    /// Connects with a kubeconfig file (Go: <c>clientcmd.BuildConfigFromFlags</c>).
    /// </summary>
    /// <param name="path">The file; <see langword="null"/> uses the first entry of <c>$KUBECONFIG</c>, else <c>~/.kube/config</c>.</param>
    /// <param name="context">The context; <see langword="null"/> uses <c>current-context</c>.</param>
    /// <param name="options">Clock, logging and retry options.</param>
    /// <exception cref="KubernetesConfigurationException">The file is missing, malformed or inconsistent.</exception>
    /// <exception cref="NotSupportedException">The user authenticates with an exec or auth-provider plugin.</exception>
    public static KubernetesConnection FromKubeconfig(string? path = null, string? context = null, KubernetesConnectionOptions? options = null)
    {
        options ??= new KubernetesConnectionOptions();
        var logger = CreateLogger(options);
        var settings = Kubeconfig.Load(path ?? Kubeconfig.DefaultPath(Environment.GetEnvironmentVariable), context, options.TimeProvider, logger);
        return new KubernetesConnection(settings, options, logger);
    }

    /// <summary>
    /// Connects from inside a pod (Go: <c>rest.InClusterConfig</c>): <c>https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT</c>,
    /// the service account token (re-read as it rotates, at most once a minute) and CA.
    /// </summary>
    /// <param name="inCluster">Overrides of the environment and mount paths (for tests); <see langword="null"/> uses the defaults.</param>
    /// <param name="options">Clock, logging and retry options.</param>
    /// <exception cref="KubernetesConfigurationException">Not in a cluster (no <c>KUBERNETES_SERVICE_HOST</c>/<c>PORT</c>), or the token cannot be read.</exception>
    public static KubernetesConnection InCluster(InClusterOptions? inCluster = null, KubernetesConnectionOptions? options = null)
    {
        inCluster ??= new InClusterOptions();
        options ??= new KubernetesConnectionOptions();
        var logger = CreateLogger(options);
        var host = inCluster.Host ?? Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST");
        var port = inCluster.Port?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_PORT");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
        {
            throw new KubernetesConfigurationException("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined");
        }

        var hostPart = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? "[" + host + "]" : host;
        if (!Uri.TryCreate($"https://{hostPart}:{port}", UriKind.Absolute, out var server))
        {
            throw new KubernetesConfigurationException("unable to load in-cluster configuration: KUBERNETES_SERVICE_HOST/PORT do not form a valid URL");
        }

        var directory = inCluster.ServiceAccountDirectory;
        var authenticator = new FileTokenAuthenticator(Path.Combine(directory, "token"), null, options.TimeProvider, logger);

        var caPath = Path.Combine(directory, "ca.crt");
        System.Security.Cryptography.X509Certificates.X509Certificate2Collection? ca = null;
        try
        {
            ca = Kubeconfig.LoadCertificateAuthorities(File.ReadAllText(caPath), caPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or KubernetesConfigurationException)
        {
            // client-go logs and continues with the system roots.
            Log.InClusterCaUnavailable(logger, caPath, ex.Message);
        }

        var ns = inCluster.Namespace ?? Environment.GetEnvironmentVariable("POD_NAMESPACE");
        if (string.IsNullOrEmpty(ns))
        {
            try
            {
                ns = File.ReadAllText(Path.Combine(directory, "namespace")).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ns = null;
            }
        }

        var settings = new ConnectionSettings
        {
            Server = server,
            Namespace = string.IsNullOrEmpty(ns) ? "default" : ns,
            CertificateAuthorities = ca,
            Authenticator = authenticator,
        };
        return new KubernetesConnection(settings, options, logger);
    }

    /// <summary>
    /// Connects from inside a pod when <c>KUBERNETES_SERVICE_HOST</c> is set and no kubeconfig exists at the
    /// default path; otherwise from the default kubeconfig.
    /// </summary>
    /// <param name="options">Clock, logging and retry options.</param>
    public static KubernetesConnection FromDefault(KubernetesConnectionOptions? options = null)
    {
        var path = Kubeconfig.DefaultPath(Environment.GetEnvironmentVariable);
        return !File.Exists(path) && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"))
            ? InCluster(null, options)
            : FromKubeconfig(path, null, options);
    }

    /// <summary>
    /// Connects to a URL without credentials: plain <c>http://</c> (e.g. an embedded test API server), or
    /// <c>https://</c> verified against the system trust store.
    /// </summary>
    /// <param name="server">The API server URL.</param>
    /// <param name="options">Clock, logging and retry options.</param>
    public static KubernetesConnection ForServer(Uri server, KubernetesConnectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (!server.IsAbsoluteUri || (server.Scheme != Uri.UriSchemeHttp && server.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException("The server must be an absolute http:// or https:// URL.", nameof(server));
        }

        options ??= new KubernetesConnectionOptions();
        return new KubernetesConnection(new ConnectionSettings { Server = server }, options, CreateLogger(options));
    }

    /// <summary>
    /// Connects through a caller's <see cref="HttpClient"/>: an <c>IHttpClientFactory</c> client, or KubernetesClient's
    /// (<c>KubeConsistency.KubernetesClient</c> does this for a <c>k8s.Kubernetes</c>). TLS and client certificates are
    /// the client handler's; <paramref name="prepareRequest"/> adds per-request credentials (e.g. a bearer token) and
    /// runs before every attempt. The connection never disposes <paramref name="httpClient"/>.
    /// </summary>
    /// <param name="httpClient">The client; its <see cref="HttpClient.Timeout"/> should be infinite, as watches are long-lived.</param>
    /// <param name="server">The API server URL (a path prefix is kept).</param>
    /// <param name="prepareRequest">Adds credentials to a request, or <see langword="null"/>.</param>
    /// <param name="defaultNamespace">The namespace for writes and reads that give none.</param>
    /// <param name="options">Clock, logging and retry options.</param>
    public static KubernetesConnection FromHttpClient(
        HttpClient httpClient,
        Uri server,
        Func<HttpRequestMessage, CancellationToken, Task>? prepareRequest = null,
        string? defaultNamespace = null,
        KubernetesConnectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(server);
        if (!server.IsAbsoluteUri || (server.Scheme != Uri.UriSchemeHttp && server.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException("The server must be an absolute http:// or https:// URL.", nameof(server));
        }

        options ??= new KubernetesConnectionOptions();
        var settings = new ConnectionSettings
        {
            Server = server,
            Namespace = defaultNamespace,
            Authenticator = new AnonymousAuthenticator(prepareRequest is null ? "the HTTP client's" : "the HTTP client's, per request"),
        };
        return new KubernetesConnection(new ApiTransport(settings, options, CreateLogger(options), httpClient, ownsHttp: false, prepareRequest));
    }

    /// <summary>Creates a client for one resource. Clients are cheap, thread-safe, and share this connection.</summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="options">The resource and how its JSON maps to <typeparamref name="T"/>.</param>
    public IResourceClient<T> Resource<T>(ResourceClientOptions<T> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new HttpResourceClient<T>(_transport, options, Namespace);
    }

    /// <summary>Closes the connection pool. Clients created from this connection stop working.</summary>
    public void Dispose() => _transport.Dispose();

    /// <summary>Describes the connection without credentials.</summary>
    public override string ToString()
    {
        var settings = _transport.Settings;
        var auth = settings.Authenticator.Description;
        if (settings.ClientCertificate is not null)
        {
            auth = settings.Authenticator is AnonymousAuthenticator ? "client certificate" : auth + " + client certificate";
        }

        var tls = settings.InsecureSkipTlsVerify ? ", TLS verification OFF" : string.Empty;

        // Never echo user info a server URL might carry.
        var server = Server.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        return $"KubernetesConnection {{ Server = {server}, Namespace = {Namespace ?? "<none>"}, Auth = {auth}{tls} }}";
    }

    private static ILogger CreateLogger(KubernetesConnectionOptions options) =>
        options.LoggerFactory?.CreateLogger("KubeConsistency.Client") ?? NullLogger.Instance;
}
