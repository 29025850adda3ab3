namespace KubeConsistency;

/// <summary>
/// Resource-version arithmetic with apimachinery v0.36 rules (upstream-semantics.md §6).
/// </summary>
/// <remarks>
/// Resource versions stay strings. A well-formed resource version is a non-empty run of ASCII digits
/// without a leading zero (which also makes <c>"0"</c> invalid: it is a list/watch sentinel, never a live
/// version). Two well-formed values compare by length first, then ordinally, so any length works
/// (§6.1: <c>resourceversion.CompareResourceVersion</c>). The metric rule of §6.3 is separate:
/// see <see cref="TryParseForMetrics(string?, out long)"/>.
/// </remarks>
public static class ResourceVersion
{
    /// <summary>Returns whether <paramref name="resourceVersion"/> is well formed (§6.1).</summary>
    /// <param name="resourceVersion">The value to check; <see langword="null"/> is not well formed.</param>
    public static bool IsWellFormed(string? resourceVersion) => resourceVersion is not null && IsWellFormed(resourceVersion.AsSpan());

    /// <summary>Returns whether <paramref name="resourceVersion"/> is well formed (§6.1).</summary>
    /// <param name="resourceVersion">The characters to check.</param>
    public static bool IsWellFormed(ReadOnlySpan<char> resourceVersion)
    {
        if (resourceVersion.IsEmpty || resourceVersion[0] == '0')
        {
            return false;
        }

        foreach (var c in resourceVersion)
        {
            if ((uint)(c - '0') > 9)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Compares two resource versions exactly as apimachinery's <c>CompareResourceVersion</c> does (§6.1).
    /// </summary>
    /// <param name="a">The first resource version.</param>
    /// <param name="b">The second resource version.</param>
    /// <returns>-1 if <paramref name="a"/> is older, 0 if equal, +1 if newer.</returns>
    /// <exception cref="InvalidResourceVersionException"><paramref name="a"/> (checked first) or <paramref name="b"/> is not well formed.</exception>
    public static int Compare(string a, string b)
    {
        if (!IsWellFormed(a))
        {
            throw new InvalidResourceVersionException(a);
        }

        if (!IsWellFormed(b))
        {
            throw new InvalidResourceVersionException(b);
        }

        return CompareWellFormed(a, b);
    }

    /// <summary>
    /// Compares two resource versions without throwing (§6.1).
    /// </summary>
    /// <param name="a">The first resource version.</param>
    /// <param name="b">The second resource version.</param>
    /// <param name="result">-1, 0 or +1 when both are well formed; otherwise 0.</param>
    /// <returns><see langword="false"/> when either value is not well formed.</returns>
    public static bool TryCompare(string? a, string? b, out int result)
    {
        if (!IsWellFormed(a) || !IsWellFormed(b))
        {
            result = 0;
            return false;
        }

        result = CompareWellFormed(a!, b!);
        return true;
    }

    /// <summary>
    /// Parses a resource version for the <c>informer_store_resource_version</c> gauge (§6.3): <c>""</c> is 0;
    /// otherwise the last 15 characters are parsed as a signed 64-bit decimal (leading zeros allowed),
    /// which keeps the value exact in a float64 sample.
    /// </summary>
    /// <param name="resourceVersion">The resource version.</param>
    /// <param name="value">The parsed value, or 0 when parsing fails.</param>
    /// <returns><see langword="false"/> when the value does not parse; the gauge then keeps its previous value.</returns>
    public static bool TryParseForMetrics(string? resourceVersion, out long value)
    {
        if (string.IsNullOrEmpty(resourceVersion))
        {
            value = 0;
            return true;
        }

        var span = resourceVersion.AsSpan();
        if (span.Length > 15)
        {
            span = span[^15..];
        }

        return long.TryParse(span, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out value);
    }

    private static int CompareWellFormed(string a, string b)
    {
        if (a.Length != b.Length)
        {
            return a.Length < b.Length ? -1 : 1;
        }

        var c = string.CompareOrdinal(a, b);
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
}

/// <summary>
/// A resource version that is not well formed (§6.1: apimachinery's <c>InvalidResourceVersion</c>).
/// </summary>
public sealed class InvalidResourceVersionException : FormatException
{
    /// <summary>Creates the exception for the offending value.</summary>
    /// <param name="resourceVersion">The value that is not well formed.</param>
    public InvalidResourceVersionException(string? resourceVersion)
        : base($"resource version is not well formed: \"{resourceVersion}\"") => ResourceVersion = resourceVersion;

    /// <summary>The value that is not well formed.</summary>
    public string? ResourceVersion { get; }
}
