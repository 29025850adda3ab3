using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace KubeConsistency.Http;

/// <summary>
/// Loads a kubeconfig (Go: <c>clientcmd</c>) into <see cref="ConnectionSettings"/>. Error messages name files,
/// contexts, clusters and users, never credentials.
/// </summary>
internal static class Kubeconfig
{
    /// <summary>
    /// The default kubeconfig path: the first entry of <c>$KUBECONFIG</c>, else <c>~/.kube/config</c>.
    /// (client-go merges every <c>$KUBECONFIG</c> entry; see docs/compatibility.md.)
    /// </summary>
    /// <param name="getEnvironmentVariable">Reads an environment variable (injectable for tests).</param>
    public static string DefaultPath(Func<string, string?> getEnvironmentVariable)
    {
        if (getEnvironmentVariable("KUBECONFIG") is { Length: > 0 } list)
        {
            foreach (var entry in list.Split(Path.PathSeparator))
            {
                if (entry.Trim() is { Length: > 0 } path)
                {
                    return path;
                }
            }
        }

        var home = getEnvironmentVariable("HOME");
        if (string.IsNullOrEmpty(home))
        {
            home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        }

        return Path.Combine(home, ".kube", "config");
    }

    /// <summary>Loads a kubeconfig file.</summary>
    public static ConnectionSettings Load(string path, string? context, TimeProvider time, ILogger logger)
    {
        string yaml;
        try
        {
            yaml = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KubernetesConfigurationException($"cannot read kubeconfig {path}: {ex.Message}");
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Directory.GetCurrentDirectory();
        return Parse(yaml, directory, context, path, time, logger);
    }

    /// <summary>Parses kubeconfig YAML; relative file paths resolve against <paramref name="baseDirectory"/>.</summary>
    public static ConnectionSettings Parse(string yaml, string baseDirectory, string? context, string origin, TimeProvider time, ILogger logger)
    {
        var root = LoadRoot(yaml, origin);
        var clusters = NamedList(root, "clusters", "cluster", origin);
        var users = NamedList(root, "users", "user", origin);
        var contexts = NamedList(root, "contexts", "context", origin);

        var contextName = string.IsNullOrEmpty(context) ? Scalar(root, "current-context") : context;
        if (string.IsNullOrEmpty(contextName))
        {
            throw new KubernetesConfigurationException($"kubeconfig {origin} has no current-context and no context was named");
        }

        if (!contexts.TryGetValue(contextName, out var ctx))
        {
            throw new KubernetesConfigurationException($"context \"{contextName}\" not found in kubeconfig {origin}");
        }

        var clusterName = Scalar(ctx, "cluster");
        if (string.IsNullOrEmpty(clusterName) || !clusters.TryGetValue(clusterName, out var cluster))
        {
            throw new KubernetesConfigurationException($"cluster \"{clusterName}\" of context \"{contextName}\" not found in kubeconfig {origin}");
        }

        YamlMappingNode? user = null;
        var userName = Scalar(ctx, "user");
        if (!string.IsNullOrEmpty(userName) && !users.TryGetValue(userName, out user))
        {
            throw new KubernetesConfigurationException($"user \"{userName}\" of context \"{contextName}\" not found in kubeconfig {origin}");
        }

        var where = $"cluster \"{clusterName}\" in kubeconfig {origin}";
        var serverText = Scalar(cluster, "server");
        if (string.IsNullOrEmpty(serverText))
        {
            throw new KubernetesConfigurationException($"{where} has no server");
        }

        if (!serverText.Contains("://", StringComparison.Ordinal))
        {
            serverText = "https://" + serverText;
        }

        if (!Uri.TryCreate(serverText, UriKind.Absolute, out var server) || (server.Scheme != Uri.UriSchemeHttps && server.Scheme != Uri.UriSchemeHttp))
        {
            throw new KubernetesConfigurationException($"{where} has an invalid server URL");
        }

        var insecure = Bool(cluster, "insecure-skip-tls-verify");
        var caPem = PemFromDataOrFile(cluster, "certificate-authority-data", "certificate-authority", baseDirectory, where);
        if (insecure && caPem is not null)
        {
            throw new KubernetesConfigurationException($"{where}: specifying a root certificates file with the insecure flag is not allowed");
        }

        var settings = new ConnectionSettings
        {
            Server = server,
            Namespace = Scalar(ctx, "namespace") is { Length: > 0 } ns ? ns : "default",
            InsecureSkipTlsVerify = insecure,
            TlsServerName = Scalar(cluster, "tls-server-name") is { Length: > 0 } sn ? sn : null,
            CertificateAuthorities = caPem is null ? null : LoadCertificateAuthorities(caPem, where),
            DisableCompression = Bool(cluster, "disable-compression"),
        };

        if (user is null)
        {
            return settings;
        }

        return WithUser(settings, user, $"user \"{userName}\" in kubeconfig {origin}", baseDirectory, time, logger);
    }

    /// <summary>Loads PEM certificates (one or more) to trust.</summary>
    internal static X509Certificate2Collection LoadCertificateAuthorities(string pem, string where)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new KubernetesConfigurationException($"{where}: the certificate authority is not valid PEM: {ex.Message}");
        }

        if (collection.Count == 0)
        {
            throw new KubernetesConfigurationException($"{where}: the certificate authority holds no certificate");
        }

        return collection;
    }

    /// <summary>Loads a PEM client certificate and its RSA or EC private key.</summary>
    internal static X509Certificate2 LoadClientCertificate(string certPem, string keyPem, string where)
    {
        try
        {
            var certificate = X509Certificate2.CreateFromPem(certPem, keyPem);
            if (!OperatingSystem.IsWindows())
            {
                return certificate;
            }

            // SChannel cannot use ephemeral keys for client authentication.
            using (certificate)
            {
                return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
            }
        }
        catch (CryptographicException)
        {
            // The cryptography message could in principle quote key material; say only what failed.
            throw new KubernetesConfigurationException($"{where}: the client certificate or key is not valid PEM, or the key does not match the certificate");
        }
        catch (ArgumentException)
        {
            throw new KubernetesConfigurationException($"{where}: the client certificate or key is not valid PEM");
        }
    }

    private static ConnectionSettings WithUser(ConnectionSettings settings, YamlMappingNode user, string where, string baseDirectory, TimeProvider time, ILogger logger)
    {
        if (Child(user, "exec") is YamlMappingNode exec)
        {
            var command = Scalar(exec, "command");
            throw new NotSupportedException(
                $"{where} uses the exec credential plugin \"{command}\", which KubeConsistency does not run. " +
                "Use a token, tokenFile or client certificate, or obtain a token from the plugin yourself.");
        }

        if (Child(user, "auth-provider") is YamlMappingNode provider)
        {
            throw new NotSupportedException(
                $"{where} uses the auth-provider plugin \"{Scalar(provider, "name")}\", which KubeConsistency does not support. " +
                "Use a token, tokenFile or client certificate.");
        }

        var token = Scalar(user, "token");
        var tokenFile = Scalar(user, "tokenFile");
        var username = Scalar(user, "username");
        var password = Scalar(user, "password");
        var hasToken = !string.IsNullOrEmpty(token) || !string.IsNullOrEmpty(tokenFile);
        var hasBasic = !string.IsNullOrEmpty(username) || !string.IsNullOrEmpty(password);
        if (hasToken && hasBasic)
        {
            throw new KubernetesConfigurationException($"more than one authentication method found for {where}; found token and basicAuth, only one is allowed");
        }

        var certPem = PemFromDataOrFile(user, "client-certificate-data", "client-certificate", baseDirectory, where);
        var keyPem = PemFromDataOrFile(user, "client-key-data", "client-key", baseDirectory, where);
        if ((certPem is null) != (keyPem is null))
        {
            throw new KubernetesConfigurationException($"{where}: client certificate and client key must both be given");
        }

        Authenticator authenticator;
        if (!string.IsNullOrEmpty(tokenFile))
        {
            authenticator = new FileTokenAuthenticator(Resolve(baseDirectory, tokenFile), token, time, logger);
        }
        else if (!string.IsNullOrEmpty(token))
        {
            authenticator = new StaticTokenAuthenticator(token);
        }
        else if (hasBasic)
        {
            authenticator = new BasicAuthenticator(username ?? string.Empty, password ?? string.Empty);
        }
        else
        {
            authenticator = AnonymousAuthenticator.Instance;
        }

        return new ConnectionSettings
        {
            Server = settings.Server,
            Namespace = settings.Namespace,
            InsecureSkipTlsVerify = settings.InsecureSkipTlsVerify,
            TlsServerName = settings.TlsServerName,
            CertificateAuthorities = settings.CertificateAuthorities,
            DisableCompression = settings.DisableCompression,
            ClientCertificate = certPem is null ? null : LoadClientCertificate(certPem, keyPem!, where),
            Authenticator = authenticator,
        };
    }

    private static YamlMappingNode LoadRoot(string yaml, string origin)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            // YamlDotNet messages can quote the offending text, which may be a credential: report the position only.
            throw new KubernetesConfigurationException($"kubeconfig {origin} is not valid YAML (line {ex.Start.Line}, column {ex.Start.Column})");
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new KubernetesConfigurationException($"kubeconfig {origin} is empty or not a mapping");
        }

        return root;
    }

    private static Dictionary<string, YamlMappingNode> NamedList(YamlMappingNode root, string listKey, string itemKey, string origin)
    {
        var result = new Dictionary<string, YamlMappingNode>(StringComparer.Ordinal);
        if (Child(root, listKey) is not YamlSequenceNode sequence)
        {
            return result;
        }

        foreach (var item in sequence.Children)
        {
            if (item is not YamlMappingNode entry || Scalar(entry, "name") is not { Length: > 0 } name)
            {
                throw new KubernetesConfigurationException($"kubeconfig {origin}: an entry of \"{listKey}\" has no name");
            }

            if (!result.TryAdd(name, Child(entry, itemKey) as YamlMappingNode ?? new YamlMappingNode()))
            {
                throw new KubernetesConfigurationException($"kubeconfig {origin}: duplicate name \"{name}\" in \"{listKey}\"");
            }
        }

        return result;
    }

    private static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    private static string? Scalar(YamlMappingNode node, string key) =>
        Child(node, key) is YamlScalarNode { Value: { } value } scalar && !(scalar.Style == ScalarStyle.Plain && value is "~" or "null") ? value : null;

    private static bool Bool(YamlMappingNode node, string key) =>
        Scalar(node, key)?.ToUpperInvariant() is "TRUE" or "YES" or "ON";

    private static string Resolve(string baseDirectory, string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));

    /// <summary>PEM text from a base64 <c>*-data</c> field (which wins, as in client-go) or a file.</summary>
    private static string? PemFromDataOrFile(YamlMappingNode node, string dataKey, string fileKey, string baseDirectory, string where)
    {
        if (Scalar(node, dataKey) is { Length: > 0 } data)
        {
            try
            {
                return Encoding.UTF8.GetString(Convert.FromBase64String(data));
            }
            catch (FormatException)
            {
                throw new KubernetesConfigurationException($"{where}: {dataKey} is not valid base64");
            }
        }

        if (Scalar(node, fileKey) is { Length: > 0 } file)
        {
            var path = Resolve(baseDirectory, file);
            try
            {
                return File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new KubernetesConfigurationException($"{where}: cannot read {fileKey} {path}: {ex.Message}");
            }
        }

        return null;
    }
}
