using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using KubeConsistency.Client;
using KubeConsistency.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace KubeConsistency.Tests.Client;

/// <summary>HTTPS against Kestrel with a CA, server and client certificates generated in-test.</summary>
public sealed class TlsTests : IDisposable
{
    private const string PodJson = "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\",\"resourceVersion\":\"3\"}}";

    private readonly X509Certificate2 _ca = TestCertificates.CreateCa("test-cluster-ca");
    private readonly X509Certificate2 _otherCa = TestCertificates.CreateCa("some-other-ca");
    private readonly X509Certificate2 _clientCa = TestCertificates.CreateCa("test-client-ca");
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
        _clientCa.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Custom_ca_validates_the_server()
    {
        using var serverCert = TestCertificates.CreateServer(_ca, true, "localhost");
        await using var server = await StartHttpsAsync(serverCert);
        using var connection = KubernetesConnection.FromKubeconfig(WriteKubeconfig(server.BaseUri, Cluster($"certificate-authority-data: {TestCertificates.Base64(_ca.ExportCertificatePem())}"), "token: t0k3n"));

        var pod = await connection.Resource(Pods()).GetAsync(null, "a");

        Assert.Equal("3", pod.Metadata!.ResourceVersion);
        var request = Assert.Single(server.Requests);
        Assert.Equal("Bearer t0k3n", request.Header("Authorization"));
        Assert.Equal("/api/v1/namespaces/ns/pods/a", request.PathAndQuery);
    }

    [Fact]
    public async Task Wrong_ca_fails_the_handshake()
    {
        using var serverCert = TestCertificates.CreateServer(_ca, true, "localhost");
        await using var server = await StartHttpsAsync(serverCert);
        using var connection = KubernetesConnection.FromKubeconfig(WriteKubeconfig(server.BaseUri, Cluster($"certificate-authority-data: {TestCertificates.Base64(_otherCa.ExportCertificatePem())}")));

        var ex = await Assert.ThrowsAsync<KubernetesTransportException>(() => connection.Resource(Pods()).GetAsync(null, "a").AsTask());

        Assert.IsType<AuthenticationException>(ex.InnerException?.InnerException);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Custom_ca_is_the_only_trust_anchor_and_the_system_store_rejects_a_private_ca()
    {
        using var serverCert = TestCertificates.CreateServer(_ca, true, "localhost");
        await using var server = await StartHttpsAsync(serverCert);
        using var connection = KubernetesConnection.ForServer(server.BaseUri);

        await Assert.ThrowsAsync<KubernetesTransportException>(() => connection.Resource(Pods()).GetAsync("ns", "a").AsTask());
    }

    [Fact]
    public async Task Insecure_skip_tls_verify_accepts_any_certificate()
    {
        using var serverCert = TestCertificates.CreateServer(_otherCa, false, "elsewhere.example");
        await using var server = await StartHttpsAsync(serverCert);
        using var connection = KubernetesConnection.FromKubeconfig(WriteKubeconfig(server.BaseUri, Cluster("insecure-skip-tls-verify: true")));

        var pod = await connection.Resource(Pods()).GetAsync(null, "a");

        Assert.Equal("a", pod.Metadata!.Name);
        Assert.Contains("TLS verification OFF", connection.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Certificate_file_path_is_resolved_relative_to_the_kubeconfig()
    {
        using var serverCert = TestCertificates.CreateServer(_ca, true, "localhost");
        await using var server = await StartHttpsAsync(serverCert);
        Directory.CreateDirectory(Path.Combine(_dir.Path, "pki"));
        File.WriteAllText(Path.Combine(_dir.Path, "pki", "ca.crt"), _otherCa.ExportCertificatePem() + "\n" + _ca.ExportCertificatePem() + "\n");
        using var connection = KubernetesConnection.FromKubeconfig(WriteKubeconfig(server.BaseUri, Cluster("certificate-authority: pki/ca.crt")));

        Assert.Equal("a", (await connection.Resource(Pods()).GetAsync(null, "a")).Metadata!.Name);
    }

    [Fact]
    public async Task Tls_server_name_replaces_the_url_host_for_verification()
    {
        using var serverCert = TestCertificates.CreateServer(_ca, false, "kubernetes.default.svc");
        await using var server = await StartHttpsAsync(serverCert);
        var ca = $"certificate-authority-data: {TestCertificates.Base64(_ca.ExportCertificatePem())}";
        using var withName = KubernetesConnection.FromKubeconfig(WriteKubeconfig(server.BaseUri, Cluster(ca, "tls-server-name: kubernetes.default.svc"), file: "with.yaml"));
        using var withoutName = KubernetesConnection.FromKubeconfig(WriteKubeconfig(server.BaseUri, Cluster(ca), file: "without.yaml"));

        Assert.Equal("a", (await withName.Resource(Pods()).GetAsync(null, "a")).Metadata!.Name);
        await Assert.ThrowsAsync<KubernetesTransportException>(() => withoutName.Resource(Pods()).GetAsync(null, "a").AsTask());
    }

    [Theory]
    [InlineData(KeyKind.RsaPkcs1, true)]
    [InlineData(KeyKind.RsaPkcs8, false)]
    [InlineData(KeyKind.EcSec1, true)]
    [InlineData(KeyKind.EcPkcs8, false)]
    public async Task Client_certificate_authenticates(KeyKind kind, bool inlineData)
    {
        using var serverCert = TestCertificates.CreateServer(_ca, true, "localhost");
        var (clientCert, certPem, keyPem) = TestCertificates.CreateClient(_clientCa, "admin", kind);
        using var _ = clientCert;
        string? seenSubject = null;
        await using var server = await LoopbackServer.StartAsync(
            (ctx, _) =>
            {
                seenSubject = ctx.Connection.ClientCertificate?.Subject;
                return Respond.Json(ctx, 200, PodJson);
            },
            https =>
            {
                https.ServerCertificate = serverCert;
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                https.ClientCertificateValidation = (cert, _, _) => cert.Issuer == _clientCa.Subject && cert.Verify() is var _;
            });
        string user;
        if (inlineData)
        {
            user = $"client-certificate-data: {TestCertificates.Base64(certPem)}\n    client-key-data: {TestCertificates.Base64(keyPem)}";
        }
        else
        {
            File.WriteAllText(Path.Combine(_dir.Path, "client.crt"), certPem);
            File.WriteAllText(Path.Combine(_dir.Path, "client.key"), keyPem);
            user = "client-certificate: client.crt\n    client-key: ./client.key";
        }

        using var connection = KubernetesConnection.FromKubeconfig(WriteKubeconfig(server.BaseUri, Cluster($"certificate-authority-data: {TestCertificates.Base64(_ca.ExportCertificatePem())}"), user));

        Assert.Equal("a", (await connection.Resource(Pods()).GetAsync(null, "a")).Metadata!.Name);
        Assert.Equal("CN=admin, O=system:masters", seenSubject);
        Assert.Null(Assert.Single(server.Requests).Header("Authorization"));
        Assert.Contains("Auth = client certificate", connection.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_client_certificate_is_refused_by_a_server_that_requires_one()
    {
        using var serverCert = TestCertificates.CreateServer(_ca, true, "localhost");
        await using var server = await LoopbackServer.StartAsync(
            (ctx, _) => Respond.Json(ctx, 200, PodJson),
            https =>
            {
                https.ServerCertificate = serverCert;
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            });
        using var connection = KubernetesConnection.FromKubeconfig(
            WriteKubeconfig(server.BaseUri, Cluster($"certificate-authority-data: {TestCertificates.Base64(_ca.ExportCertificatePem())}")),
            options: new KubernetesConnectionOptions { MaxRetries = 0 });

        await Assert.ThrowsAsync<KubernetesTransportException>(() => connection.Resource(Pods()).GetAsync(null, "a").AsTask());
    }

    [Fact]
    public async Task Basic_auth_is_sent()
    {
        using var serverCert = TestCertificates.CreateServer(_ca, true, "localhost");
        await using var server = await StartHttpsAsync(serverCert);
        using var connection = KubernetesConnection.FromKubeconfig(WriteKubeconfig(server.BaseUri, Cluster($"certificate-authority-data: {TestCertificates.Base64(_ca.ExportCertificatePem())}"), "username: alice\n    password: s3cret-pw"));

        await connection.Resource(Pods()).GetAsync(null, "a");

        Assert.Equal("Basic " + Convert.ToBase64String("alice:s3cret-pw"u8), Assert.Single(server.Requests).Header("Authorization"));
    }

    internal static Task<LoopbackServer> StartHttpsAsync(X509Certificate2 serverCert) =>
        LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, PodJson), https => https.ServerCertificate = serverCert);

    private static ResourceClientOptions<TestPod> Pods() => new() { Resource = GroupVersionResource.Pods, Kind = "Pod" };

    private static string Cluster(params string[] lines) => string.Join("\n    ", lines);

    private string WriteKubeconfig(Uri server, string cluster, string user = "{}", string file = "config")
    {
        var userBlock = user == "{}" ? "  user: {}" : "  user:\n    " + user;
        var yaml = $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: test
              cluster:
                server: {server.GetLeftPart(UriPartial.Authority)}
                {cluster}
            users:
            - name: me
            {userBlock}
            contexts:
            - name: ctx
              context:
                cluster: test
                user: me
                namespace: ns
            current-context: ctx
            """;
        var path = Path.Combine(_dir.Path, file);
        File.WriteAllText(path, yaml);
        return path;
    }
}

/// <summary>A unique temporary directory, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("kc-client-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
