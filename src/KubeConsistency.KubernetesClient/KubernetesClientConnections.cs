using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using KubeConsistency.Http;

namespace KubeConsistency.KubernetesClient;

/// <summary>
/// One <see cref="KubernetesConnection"/> per <see cref="Kubernetes"/> client: KubeConsistency's list/watch decoder over
/// that client's own HTTP pipeline (its TLS, client certificate, delegating handlers) with its credentials added per
/// request — so exec plugins, token refresh, in-cluster rotation and <c>$KUBECONFIG</c> merging are KubernetesClient's.
/// </summary>
internal static class KubernetesClientConnections
{
    private static readonly ConditionalWeakTable<Kubernetes, KubernetesConnection> s_connections = [];

    /// <summary>KubernetesClient's process-wide serializer options (the ones its own watches use), so decoded objects are identical.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = CaptureJsonOptions();

    public static KubernetesConnection For(IKubernetes client)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (client is not Kubernetes kubernetes)
        {
            throw new ArgumentException(
                $"KubeConsistency reads through a k8s.Kubernetes client's HttpClient, BaseUri and Credentials; {client.GetType()} is another IKubernetes. Create the informer from the k8s.Kubernetes it wraps.",
                nameof(client));
        }

        return s_connections.GetValue(kubernetes, static k => KubernetesConnection.FromHttpClient(
            k.HttpClient,
            k.BaseUri,
            k.Credentials is { } credentials ? (request, cancellationToken) => credentials.ProcessHttpRequestAsync(request, cancellationToken) : null));
    }

    private static JsonSerializerOptions CaptureJsonOptions()
    {
        // AddJsonOptions hands its callback the live options instance; nothing is changed here.
        JsonSerializerOptions? captured = null;
        KubernetesJson.AddJsonOptions(options => captured = options);
        return captured ?? throw new InvalidOperationException("KubernetesJson.AddJsonOptions did not expose KubernetesClient's serializer options.");
    }
}
