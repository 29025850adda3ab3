using System.Buffers.Text;

using System.Text.Json;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>
/// Continue tokens in kube-apiserver's format: unpadded base64url of
/// <c>{"v":"meta.k8s.io/v1","rv":35,"start":"/beta\u0000"}</c>, where <c>start</c> is the storage key after the
/// list prefix. An <c>rv</c> of -1 (issued with a 410) continues at the current revision.
/// </summary>
internal static class ContinueToken
{
    public static string Encode(long rv, string start)
    {
        var json = GoJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("v", "meta.k8s.io/v1");
            w.WriteNumber("rv", rv);
            w.WriteString("start", start);
            w.WriteEndObject();
        });
        return Base64Url.EncodeToString(json);
    }

    /// <summary>Decodes; errors throw 400 with kube-apiserver's message.</summary>
    public static (long Rv, string Start) Decode(string token)
    {
        var bytes = DecodeLenient(token);

        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("v", out var v) || v.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("rv", out var rv) || !rv.TryGetInt64(out var rvValue)
                || !root.TryGetProperty("start", out var start) || start.ValueKind != JsonValueKind.String)
            {
                throw StatusErrors.BadRequest("invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
            }

            if (v.GetString() != "meta.k8s.io/v1")
            {
                throw StatusErrors.BadRequest($"invalid continue token: continue key is not valid: server does not recognize this encoded version \"{v.GetString()}\"");
            }

            if (rvValue == 0)
            {
                throw StatusErrors.BadRequest("invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
            }

            var startKey = start.GetString()!;
            if (startKey.Length == 0)
            {
                throw StatusErrors.BadRequest("invalid continue token: continue key is not valid: encoded start key is empty");
            }

            return (rvValue, startKey);
        }
        catch (JsonException e)
        {
            throw StatusErrors.BadRequest("invalid continue token: continue key is not valid: " + GoJson.DescribeSyntaxError(bytes, e));
        }
    }

    /// <summary>Base64url without padding, decoded like Go's non-strict <c>base64.RawURLEncoding</c> (trailing bits ignored).</summary>
    private static byte[] DecodeLenient(string token)
    {
        var output = new List<byte>(token.Length * 3 / 4);
        var buffer = 0;
        var bits = 0;
        for (var i = 0; i < token.Length; i++)
        {
            var c = token[i];
            int value = c switch
            {
                >= 'A' and <= 'Z' => c - 'A',
                >= 'a' and <= 'z' => c - 'a' + 26,
                >= '0' and <= '9' => c - '0' + 52,
                '-' => 62,
                '_' => 63,
                _ => -1,
            };
            if (value < 0)
            {
                throw StatusErrors.BadRequest($"invalid continue token: continue key is not valid: illegal base64 data at input byte {i}");
            }

            buffer = (buffer << 6) | value;
            bits += 6;
            if (bits >= 8)
            {
                bits -= 8;
                output.Add((byte)(buffer >> bits));
                buffer &= (1 << bits) - 1;
            }
        }

        if (token.Length % 4 == 1)
        {
            throw StatusErrors.BadRequest($"invalid continue token: continue key is not valid: illegal base64 data at input byte {token.Length - 1}");
        }

        return [.. output];
    }

    /// <summary>The start key relative to the list prefix: "/name\0" (namespace-scoped request) or "/ns/name\0".</summary>
    public static string StartAfter(string relativeKey) => "/" + relativeKey + "\0";

    /// <summary>Turns a token start key back into an absolute storage key lower bound.</summary>
    public static string ToStorageKey(string start, string? requestNamespace)
    {
        var relative = start.StartsWith('/') ? start[1..] : start;
        return requestNamespace is null ? relative : requestNamespace + "/" + relative;
    }

}
