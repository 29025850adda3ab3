using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KubeConsistency.Http;

/// <summary>Everything needed to reach one API server: the resolved kubeconfig / in-cluster configuration.</summary>
internal sealed class ConnectionSettings
{
    private static readonly Oid s_serverAuth = new("1.3.6.1.5.5.7.3.1", "Server Authentication");

    public required Uri Server { get; init; }

    public string? Namespace { get; init; }

    /// <summary>The only roots to trust (Go: <c>tls.Config.RootCAs</c>); <see langword="null"/> trusts the system store.</summary>
    public X509Certificate2Collection? CertificateAuthorities { get; init; }

    public bool InsecureSkipTlsVerify { get; init; }

    /// <summary>The name to verify the server certificate against instead of the URL host (kubeconfig <c>tls-server-name</c>).</summary>
    public string? TlsServerName { get; init; }

    public X509Certificate2? ClientCertificate { get; init; }

    public Authenticator Authenticator { get; init; } = AnonymousAuthenticator.Instance;

    public bool DisableCompression { get; init; }

    /// <summary>Creates the handler: TLS verification on unless configured off, HTTP/2 keep-alive pings like client-go's.</summary>
    public SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler
        {
            // client-go: dial timeout 30 s, idle connections 90 s, HTTP/2 read-idle health check 30 s + ping timeout 15 s.
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(15),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
            AllowAutoRedirect = false,
            AutomaticDecompression = DisableCompression ? DecompressionMethods.None : DecompressionMethods.GZip,
            UseCookies = false,
        };

        if (string.Equals(Server.Scheme, Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase))
        {
            var client = ClientCertificate;
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => ValidateServerCertificate(certificate, chain, errors),
                ClientCertificates = client is null ? null : new X509CertificateCollection { client },
                LocalCertificateSelectionCallback = client is null ? null : (_, _, _, _, _) => client,
            };
        }

        return handler;
    }

    internal bool ValidateServerCertificate(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (InsecureSkipTlsVerify)
        {
            return true;
        }

        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return false;
        }

        using var owned = certificate is X509Certificate2 ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        var leaf = owned ?? (X509Certificate2)certificate;

        // Go verifies subject alternative names only (no common-name fallback).
        var nameOk = TlsServerName is { Length: > 0 } serverName
            ? leaf.MatchesHostname(serverName, allowWildcards: true, allowCommonName: false)
            : (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
        if (!nameOk)
        {
            return false;
        }

        if (CertificateAuthorities is null)
        {
            return (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0;
        }

        // A configured CA is the only trust anchor (Go: RootCAs replaces the system pool).
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(CertificateAuthorities);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.ApplicationPolicy.Add(s_serverAuth);
        if (chain is not null)
        {
            // Intermediates the server presented.
            custom.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
            for (var i = 1; i < chain.ChainElements.Count; i++)
            {
                custom.ChainPolicy.ExtraStore.Add(chain.ChainElements[i].Certificate);
            }
        }

        return custom.Build(leaf);
    }
}
