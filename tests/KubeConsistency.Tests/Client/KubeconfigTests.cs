using KubeConsistency.Client;
using KubeConsistency.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Tests.Client;

/// <summary>kubeconfig parsing (Go: clientcmd) without a server.</summary>
public sealed class KubeconfigTests : IDisposable
{
    private const string Base = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: prod
          cluster:
            server: https://prod.example:6443
        - name: dev
          cluster:
            server: dev.example:8443
            insecure-skip-tls-verify: true
            disable-compression: true
        users:
        - name: alice
          user:
            token: alice-token-123
        - name: anon
          user: {}
        contexts:
        - name: prod-ctx
          context:
            cluster: prod
            user: alice
            namespace: payments
        - name: dev-ctx
          context:
            cluster: dev
            user: anon
        current-context: prod-ctx
        preferences: {}
        """;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Current_context_selects_cluster_user_and_namespace()
    {
        var s = Parse(Base);

        Assert.Equal(new Uri("https://prod.example:6443"), s.Server);
        Assert.Equal("payments", s.Namespace);
        Assert.IsType<StaticTokenAuthenticator>(s.Authenticator);
        Assert.Equal("Bearer alice-token-123", s.Authenticator.GetHeader()!.ToString());
        Assert.False(s.InsecureSkipTlsVerify);
        Assert.Null(s.CertificateAuthorities);
        Assert.False(s.DisableCompression);
    }

    [Fact]
    public void Named_context_overrides_current_context()
    {
        var s = Parse(Base, context: "dev-ctx");

        Assert.Equal(new Uri("https://dev.example:8443"), s.Server); // scheme defaults to https, as in client-go
        Assert.Equal("default", s.Namespace);
        Assert.Null(s.Authenticator.GetHeader());
        Assert.True(s.InsecureSkipTlsVerify);
        Assert.True(s.DisableCompression);
    }

    [Fact]
    public void Json_kubeconfig_parses()
    {
        var s = Parse("""{"apiVersion":"v1","kind":"Config","clusters":[{"name":"c","cluster":{"server":"http://127.0.0.1:8080"}}],"contexts":[{"name":"x","context":{"cluster":"c","namespace":"n"}}],"current-context":"x","users":[]}""");

        Assert.Equal(new Uri("http://127.0.0.1:8080"), s.Server);
        Assert.Equal("n", s.Namespace);
    }

    [Fact]
    public void Token_file_is_read_relative_to_the_kubeconfig_directory_and_trimmed()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "creds"));
        File.WriteAllText(Path.Combine(_dir.Path, "creds", "token"), "  file-token\n");
        var s = Parse(Base.Replace("token: alice-token-123", "tokenFile: creds/token", StringComparison.Ordinal));

        Assert.Equal("Bearer file-token", s.Authenticator.GetHeader()!.ToString());
        Assert.Contains(Path.Combine(_dir.Path, "creds", "token"), s.Authenticator.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_file_falls_back_to_the_static_token_when_unreadable()
    {
        var s = Parse(Base.Replace("token: alice-token-123", "token: static-one\n    tokenFile: missing/token", StringComparison.Ordinal));

        Assert.Equal("Bearer static-one", s.Authenticator.GetHeader()!.ToString());
    }

    [Fact]
    public void Unreadable_token_file_without_static_token_is_a_configuration_error()
    {
        var ex = Assert.Throws<KubernetesConfigurationException>(() => Parse(Base.Replace("token: alice-token-123", "tokenFile: missing/token", StringComparison.Ordinal)));

        Assert.Contains("missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Certificate_authority_data_wins_over_the_file()
    {
        using var ca = TestCertificates.CreateCa("data-ca");
        var s = Parse(Base.Replace("server: https://prod.example:6443", $"server: https://prod.example:6443\n    certificate-authority: does/not/exist\n    certificate-authority-data: {TestCertificates.Base64(ca.ExportCertificatePem())}", StringComparison.Ordinal));

        Assert.Equal(ca.Thumbprint, Assert.Single(s.CertificateAuthorities!).Thumbprint);
    }

    [Fact]
    public void Tls_server_name_is_read()
    {
        var s = Parse(Base.Replace("server: https://prod.example:6443", "server: https://10.0.0.1:6443\n    tls-server-name: kubernetes.default.svc", StringComparison.Ordinal));

        Assert.Equal("kubernetes.default.svc", s.TlsServerName);
    }

    [Fact]
    public void Basic_auth_user()
    {
        var s = Parse(Base.Replace("token: alice-token-123", "username: alice\n    password: pw", StringComparison.Ordinal));

        Assert.Equal("Basic " + Convert.ToBase64String("alice:pw"u8), s.Authenticator.GetHeader()!.ToString());
    }

    [Theory]
    [InlineData("current-context: prod-ctx", "current-context: \"\"", "no current-context")]
    [InlineData("current-context: prod-ctx", "current-context: nowhere", "context \"nowhere\" not found")]
    [InlineData("    cluster: prod\n    user: alice", "    cluster: nope\n    user: alice", "cluster \"nope\" of context \"prod-ctx\" not found")]
    [InlineData("    cluster: prod\n    user: alice", "    cluster: prod\n    user: bob", "user \"bob\" of context \"prod-ctx\" not found")]
    [InlineData("server: https://prod.example:6443", "server: \"\"", "has no server")]
    [InlineData("- name: dev\n  cluster:", "- name: prod\n  cluster:", "duplicate name \"prod\" in \"clusters\"")]
    [InlineData("token: alice-token-123", "token: alice-token-123\n    username: alice", "more than one authentication method")]
    [InlineData("server: https://prod.example:6443", "server: https://prod.example:6443\n    insecure-skip-tls-verify: true\n    certificate-authority-data: AAAA", "insecure flag is not allowed")]
    [InlineData("token: alice-token-123", "client-certificate-data: AAAA", "must both be given")]
    [InlineData("token: alice-token-123", "client-certificate-data: not*base64\n    client-key-data: AAAA", "client-certificate-data is not valid base64")]
    public void Inconsistent_kubeconfigs_are_rejected(string find, string replace, string expected)
    {
        var ex = Assert.Throws<KubernetesConfigurationException>(() => Parse(Base.Replace(find, replace, StringComparison.Ordinal)));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("alice-token-123", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Exec_plugin_is_not_supported_and_named()
    {
        var yaml = Base.Replace("    token: alice-token-123", """
                exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: aws
                  args: ["eks", "get-token", "--cluster-name", "prod"]
                  env:
                  - name: AWS_SECRET_ACCESS_KEY
                    value: super-secret-key
            """, StringComparison.Ordinal);

        var ex = Assert.Throws<NotSupportedException>(() => Parse(yaml));

        Assert.Contains("exec credential plugin \"aws\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("user \"alice\"", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("super-secret-key", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Auth_provider_plugin_is_not_supported_and_named()
    {
        var yaml = Base.Replace("    token: alice-token-123", """
                auth-provider:
                  name: oidc
                  config:
                    id-token: eyJhbGciOiJSUzI1NiJ9.secret-id-token
                    refresh-token: secret-refresh
            """, StringComparison.Ordinal);

        var ex = Assert.Throws<NotSupportedException>(() => Parse(yaml));

        Assert.Contains("auth-provider plugin \"oidc\"", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_yaml_reports_the_position_but_not_the_text()
    {
        var ex = Assert.Throws<KubernetesConfigurationException>(() => Parse("users:\n- name: x\n  user:\n    token: \"leaked-token-value\n  broken: [\n"));

        Assert.Contains("not valid YAML (line", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("leaked-token-value", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_file_is_rejected()
    {
        Assert.Throws<KubernetesConfigurationException>(() => Parse(string.Empty));
    }

    [Fact]
    public void Missing_file_is_a_configuration_error()
    {
        var ex = Assert.Throws<KubernetesConfigurationException>(() => KubernetesConnection.FromKubeconfig(Path.Combine(_dir.Path, "nope")));

        Assert.Contains("cannot read kubeconfig", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_path_uses_the_first_kubeconfig_entry_then_home()
    {
        var sep = Path.PathSeparator;
        Assert.Equal("/a/one", Kubeconfig.DefaultPath(name => name == "KUBECONFIG" ? $"{sep}/a/one{sep}/b/two" : null));
        Assert.Equal(Path.Combine("/home/me", ".kube", "config"), Kubeconfig.DefaultPath(name => name == "HOME" ? "/home/me" : null));
        Assert.Equal(Path.Combine("/home/me", ".kube", "config"), Kubeconfig.DefaultPath(name => name == "HOME" ? "/home/me" : name == "KUBECONFIG" ? string.Empty : null));
    }

    [Fact]
    public void Connection_exposes_server_and_namespace_from_the_file()
    {
        var path = Path.Combine(_dir.Path, "config");
        File.WriteAllText(path, Base);

        using var connection = KubernetesConnection.FromKubeconfig(path, "prod-ctx");

        Assert.Equal(new Uri("https://prod.example:6443"), connection.Server);
        Assert.Equal("payments", connection.Namespace);
        Assert.Equal("KubernetesConnection { Server = https://prod.example:6443/, Namespace = payments, Auth = bearer token }", connection.ToString());
    }

    private ConnectionSettings Parse(string yaml, string? context = null) =>
        Kubeconfig.Parse(yaml, _dir.Path, context, "test-config", TimeProvider.System, NullLogger.Instance);
}
