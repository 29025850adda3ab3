using System.Security.Cryptography.X509Certificates;
using KubeConsistency.Client;
using KubeConsistency.Http;
using KubeConsistency.Testing;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Tests.Client;

/// <summary>In-cluster configuration (service account token rotation, CA, namespace) and secret hygiene.</summary>
public sealed class InClusterAndSecretsTests : IDisposable
{
    private const string PodJson = "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\",\"namespace\":\"team\",\"resourceVersion\":\"3\"}}";

    private readonly X509Certificate2 _ca = TestCertificates.CreateCa("in-cluster-ca");
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Service_account_token_is_re_read_when_it_rotates_at_most_every_minute()
    {
        using var serverCert = TestCertificates.CreateServer(_ca, true, "localhost");
        await using var server = await TlsTests.StartHttpsAsync(serverCert);
        WriteServiceAccount("token-one", "team");
        var time = new ManualTimeProvider();
        using var connection = KubernetesConnection.InCluster(
            new InClusterOptions { ServiceAccountDirectory = _dir.Path, Host = "127.0.0.1", Port = server.BaseUri.Port },
            new KubernetesConnectionOptions { TimeProvider = time });
        var pods = connection.Resource(new ResourceClientOptions<TestPod> { Resource = GroupVersionResource.Pods });

        await pods.GetAsync(null, "a");
        File.WriteAllText(Path.Combine(_dir.Path, "token"), "token-two\n");
        time.Advance(TimeSpan.FromSeconds(45));
        await pods.GetAsync(null, "a");
        time.Advance(TimeSpan.FromSeconds(20));
        await pods.GetAsync(null, "a");

        Assert.Equal(["Bearer token-one", "Bearer token-one", "Bearer token-two"], server.Requests.Select(r => r.Header("Authorization")));
        Assert.Equal("/api/v1/namespaces/team/pods/a", server.Requests[0].PathAndQuery);
        Assert.Equal("team", connection.Namespace);
        Assert.Equal(new Uri($"https://127.0.0.1:{server.BaseUri.Port}/"), connection.Server);
    }

    [Fact]
    public async Task Unauthorized_forces_a_token_re_read_on_the_next_request()
    {
        using var serverCert = TestCertificates.CreateServer(_ca, true, "localhost");
        var calls = 0;
        await using var server = await LoopbackServer.StartAsync(
            (ctx, _) => Interlocked.Increment(ref calls) == 1
                ? Respond.Json(ctx, 401, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}")
                : Respond.Json(ctx, 200, PodJson),
            https => https.ServerCertificate = serverCert);
        WriteServiceAccount("expired-token", null);
        var time = new ManualTimeProvider();
        using var connection = KubernetesConnection.InCluster(
            new InClusterOptions { ServiceAccountDirectory = _dir.Path, Host = "127.0.0.1", Port = server.BaseUri.Port, Namespace = "explicit" },
            new KubernetesConnectionOptions { TimeProvider = time });
        var pods = connection.Resource(new ResourceClientOptions<TestPod> { Resource = GroupVersionResource.Pods });
        time.Advance(TimeSpan.FromSeconds(1));

        var ex = await Assert.ThrowsAsync<KubernetesApiException>(() => pods.GetAsync(null, "a").AsTask());
        Assert.True(ex.IsUnauthorized);
        File.WriteAllText(Path.Combine(_dir.Path, "token"), "fresh-token");
        await pods.GetAsync(null, "a");

        Assert.Equal(["Bearer expired-token", "Bearer fresh-token"], server.Requests.Select(r => r.Header("Authorization")));
        Assert.Equal("explicit", connection.Namespace);
        Assert.DoesNotContain("token", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Missing_environment_is_not_in_cluster()
    {
        var ex = Assert.Throws<KubernetesConfigurationException>(() => KubernetesConnection.InCluster(new InClusterOptions { ServiceAccountDirectory = _dir.Path, Host = string.Empty, Port = 443 }));

        Assert.Contains("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_token_is_a_configuration_error_and_missing_ca_and_namespace_fall_back()
    {
        Assert.Throws<KubernetesConfigurationException>(() => KubernetesConnection.InCluster(new InClusterOptions { ServiceAccountDirectory = _dir.Path, Host = "10.96.0.1", Port = 443 }));

        File.WriteAllText(Path.Combine(_dir.Path, "token"), "t");
        using var logs = new FakeLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        using var connection = KubernetesConnection.InCluster(
            new InClusterOptions { ServiceAccountDirectory = _dir.Path, Host = "fd00::1", Port = 6443 },
            new KubernetesConnectionOptions { LoggerFactory = factory });

        Assert.Equal(new Uri("https://[fd00::1]:6443/"), connection.Server);
        Assert.True(connection.Namespace is "default" || connection.Namespace == Environment.GetEnvironmentVariable("POD_NAMESPACE"));
        Assert.Contains(logs.Collector.GetSnapshot(), r => r.Message.Contains("ca.crt", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Secrets_never_appear_in_to_string_logs_or_exception_messages()
    {
        const string token = "SECRET-TOKEN-7f3a9c";
        const string password = "SECRET-PASSWORD-11b2";
        var (clientCert, certPem, keyPem) = TestCertificates.CreateClient(_ca, "admin", KeyKind.EcSec1);
        using var _ = clientCert;
        var keyBody = keyPem.Split('\n')[1];
        using var logs = new FakeLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var time = new ManualTimeProvider();
        var options = new KubernetesConnectionOptions { LoggerFactory = factory, TimeProvider = time, MaxRetries = 1 };
        var exceptions = new List<Exception>();
        var strings = new List<string>();

        var calls = 0;
        await using var server = await LoopbackServer.StartAsync((ctx, _) =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 1)
            {
                ctx.Response.Headers.RetryAfter = "1";
                return Respond.Json(ctx, 429, "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"slow down\",\"reason\":\"TooManyRequests\",\"code\":429}");
            }

            return Respond.Json(ctx, 401, "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}");
        });

        // Token from a file that then disappears (a logged re-read failure), basic auth, client certificate data.
        var tokenFile = Path.Combine(_dir.Path, "tok");
        File.WriteAllText(tokenFile, token);
        var tokenConfig = Write("token.yaml", server.BaseUri, $"tokenFile: {tokenFile}");
        var basicConfig = Write("basic.yaml", server.BaseUri, $"username: bob\n    password: {password}");
        var certConfig = Write("cert.yaml", server.BaseUri, $"client-certificate-data: {TestCertificates.Base64(certPem)}\n    client-key-data: {TestCertificates.Base64(keyPem)}");
        using (var connection = KubernetesConnection.FromKubeconfig(tokenConfig, options: options))
        {
            strings.Add(connection.ToString());
            File.Delete(tokenFile);
            time.Advance(TimeSpan.FromMinutes(5));
            var pods = connection.Resource(new ResourceClientOptions<TestPod> { Resource = GroupVersionResource.Pods });
            var getting = pods.GetAsync(null, "a").AsTask();
            await time.WaitForTimersAsync().WaitAsync(Clients.Guard);
            time.Advance(TimeSpan.FromSeconds(1));
            exceptions.Add(await Assert.ThrowsAsync<KubernetesApiException>(() => getting.WaitAsync(Clients.Guard)));
        }

        using (var connection = KubernetesConnection.FromKubeconfig(basicConfig, options: options))
        {
            strings.Add(connection.ToString());
        }

        using (var connection = KubernetesConnection.FromKubeconfig(certConfig, options: options))
        {
            strings.Add(connection.ToString());
        }

        // Configuration errors around the same secrets.
        exceptions.Add(Assert.Throws<KubernetesConfigurationException>(() => KubernetesConnection.FromKubeconfig(Write("badkey.yaml", server.BaseUri, $"client-certificate-data: {TestCertificates.Base64(certPem)}\n    client-key-data: {TestCertificates.Base64(keyPem.Replace(keyBody, keyBody[..20] + "AAAA" + keyBody[24..], StringComparison.Ordinal))}"), options: options)));
        exceptions.Add(Assert.Throws<KubernetesConfigurationException>(() => KubernetesConnection.FromKubeconfig(Write("twoauth.yaml", server.BaseUri, $"token: {token}\n    password: {password}"), options: options)));
        exceptions.Add(Assert.Throws<NotSupportedException>(() => KubernetesConnection.FromKubeconfig(Write("exec.yaml", server.BaseUri, $"token: {token}\n    exec:\n      command: get-token\n      args: [\"{password}\"]"), options: options)));

        var everything = string.Join("\n", strings.Concat(exceptions.Select(e => e.ToString())).Concat(logs.Collector.GetSnapshot().Select(r => $"{r.Level}: {r.Message} {r.Exception}")));
        Assert.Contains("Retrying GET", everything, StringComparison.Ordinal);
        Assert.Contains("Could not re-read the bearer token file", everything, StringComparison.Ordinal);
        Assert.DoesNotContain(token, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(password, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(keyBody[..32], everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("bob:" + password)), everything, StringComparison.Ordinal);
    }

    private string Write(string file, Uri server, string user)
    {
        var yaml = $"""
            clusters:
            - name: c
              cluster:
                server: {server.GetLeftPart(UriPartial.Authority)}
            users:
            - name: u
              user:
                {user}
            contexts:
            - name: x
              context: {"{"}cluster: c, user: u{"}"}
            current-context: x
            """;
        var path = Path.Combine(_dir.Path, file);
        File.WriteAllText(path, yaml);
        return path;
    }

    private void WriteServiceAccount(string token, string? ns)
    {
        File.WriteAllText(Path.Combine(_dir.Path, "token"), token);
        File.WriteAllText(Path.Combine(_dir.Path, "ca.crt"), _ca.ExportCertificatePem());
        if (ns is not null)
        {
            File.WriteAllText(Path.Combine(_dir.Path, "namespace"), ns);
        }
    }
}
