using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Http;

/// <summary>
/// Supplies the <c>Authorization</c> header per request. Implementations never expose the credential through
/// <see cref="object.ToString"/>, <see cref="Description"/>, logs or exception messages.
/// </summary>
internal abstract class Authenticator
{
    /// <summary>A description without secrets, e.g. <c>bearer token (file /var/run/…/token)</c>.</summary>
    public abstract string Description { get; }

    /// <summary>The header for the next request, or <see langword="null"/>.</summary>
    public abstract AuthenticationHeaderValue? GetHeader();

    /// <summary>Called when a request that started at <paramref name="requestStarted"/> (a <see cref="TimeProvider"/> timestamp) got 401.</summary>
    public virtual void OnUnauthorized(long requestStarted)
    {
    }

    /// <inheritdoc/>
    public sealed override string ToString() => Description;
}

/// <summary>No credentials (anonymous, or client certificate only).</summary>
internal sealed class AnonymousAuthenticator(string description) : Authenticator
{
    public static AnonymousAuthenticator Instance { get; } = new("none");

    public override string Description => description;

    public override AuthenticationHeaderValue? GetHeader() => null;
}

/// <summary>A static bearer token.</summary>
internal sealed class StaticTokenAuthenticator(string token) : Authenticator
{
    private readonly AuthenticationHeaderValue _header = new("Bearer", token);

    public override string Description => "bearer token";

    public override AuthenticationHeaderValue? GetHeader() => _header;
}

/// <summary>HTTP basic authentication.</summary>
internal sealed class BasicAuthenticator(string username, string password) : Authenticator
{
    private readonly AuthenticationHeaderValue _header = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(username + ":" + password)));

    public override string Description => "basic";

    public override AuthenticationHeaderValue? GetHeader() => _header;
}

/// <summary>
/// A bearer token read from a file and re-read when it may have rotated (Go: <c>transport.NewCachedFileTokenSource</c>):
/// a read token is used for one minute less a 10 s leeway; a failed re-read keeps the previous token (logged);
/// a 401 to a request that used a token read before the request started forces a re-read
/// (<c>ResetTokenOlderThan</c>). All time through the injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed class FileTokenAuthenticator : Authenticator
{
    internal static readonly TimeSpan Period = TimeSpan.FromMinutes(1);
    internal static readonly TimeSpan Leeway = TimeSpan.FromSeconds(10);

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private AuthenticationHeaderValue? _header;
    private string? _token;
    private long _readAt;
    private bool _stale;

    /// <summary>Creates the source and reads the file once.</summary>
    /// <param name="path">The token file.</param>
    /// <param name="fallbackToken">A static token used when the file cannot be read (kubeconfig <c>token</c> next to <c>tokenFile</c>).</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    /// <exception cref="KubernetesConfigurationException">The file cannot be read and there is no fallback token.</exception>
    public FileTokenAuthenticator(string path, string? fallbackToken, TimeProvider time, ILogger logger)
    {
        _path = path;
        _time = time;
        _logger = logger;
        if (TryRead(out var token, out var error))
        {
            Set(token);
        }
        else if (!string.IsNullOrEmpty(fallbackToken))
        {
            Set(fallbackToken);
            _stale = true;
        }
        else
        {
            throw new KubernetesConfigurationException($"cannot read the bearer token file {path}: {error}");
        }
    }

    public override string Description => $"bearer token (file {_path})";

    public override AuthenticationHeaderValue? GetHeader()
    {
        lock (_lock)
        {
            if (_stale || _time.GetElapsedTime(_readAt) >= Period - Leeway)
            {
                if (TryRead(out var token, out var error))
                {
                    if (!string.Equals(token, _token, StringComparison.Ordinal))
                    {
                        Set(token);
                    }
                    else
                    {
                        _readAt = _time.GetTimestamp();
                    }

                    _stale = false;
                }
                else
                {
                    Log.TokenFileReadFailed(_logger, _path, error);
                }
            }

            return _header;
        }
    }

    public override void OnUnauthorized(long requestStarted)
    {
        lock (_lock)
        {
            if (_readAt <= requestStarted)
            {
                _stale = true;
            }
        }
    }

    private void Set(string token)
    {
        _token = token;
        _header = new AuthenticationHeaderValue("Bearer", token);
        _readAt = _time.GetTimestamp();
    }

    private bool TryRead(out string token, out string error)
    {
        token = string.Empty;
        try
        {
            token = File.ReadAllText(_path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The I/O message names the path and the failure, never the content.
            error = ex.Message;
            return false;
        }

        if (token.Length == 0)
        {
            error = "the file is empty";
            return false;
        }

        error = string.Empty;
        return true;
    }
}
