using System.Text.RegularExpressions;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>Name and label syntax checks of k8s.io/apimachinery/pkg/util/validation.</summary>
internal static partial class Validation
{
    public const string Dns1123SubdomainMessage =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

    public const string Dns1123LabelMessage =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

    public const string QualifiedNameMessage =
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

    public const string LabelValueMessage =
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex Dns1123SubdomainRegex();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Dns1123LabelRegex();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex QualifiedNameRegex();

    public static bool IsDns1123Subdomain(string s) => s.Length <= 253 && Dns1123SubdomainRegex().IsMatch(s);

    public static bool IsDns1123Label(string s) => s.Length <= 63 && Dns1123LabelRegex().IsMatch(s);

    public static bool IsQualifiedNamePart(string s) => s.Length is > 0 and <= 63 && QualifiedNameRegex().IsMatch(s);

    public static bool IsLabelValue(string s) => s.Length == 0 || (s.Length <= 63 && QualifiedNameRegex().IsMatch(s));

    /// <summary>Whether a full label/annotation key (<c>prefix/name</c>) is valid.</summary>
    public static bool IsQualifiedName(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return IsQualifiedNamePart(key);
        }

        return slash > 0 && IsDns1123Subdomain(key[..slash]) && IsQualifiedNamePart(key[(slash + 1)..]);
    }
}
