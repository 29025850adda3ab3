using System.Globalization;
using System.Text;

namespace KubeConsistency.Metrics;

/// <summary>
/// The OpenTelemetry rules that turn a .NET instrument into a Prometheus metric name (ecosystem.md §8.1), and the
/// text-format escaping and number rendering of Prometheus' Go client.
/// </summary>
internal static class PrometheusNaming
{
    /// <summary>
    /// The Prometheus name of an instrument: the name sanitized to <c>[a-zA-Z0-9:_]</c> (runs of other characters, and of
    /// <c>_</c>, become one <c>_</c>; a leading digit gets a <c>_</c> prefix), then <c>_&lt;unit&gt;</c> unless the name already ends
    /// with it (annotations in braces dropped, <c>s</c> → <c>seconds</c>, <c>a/b</c> → <c>a_per_b</c>, <c>1</c> → nothing),
    /// then <c>_total</c> for monotonic counters unless already there.
    /// </summary>
    /// <param name="name">The instrument name.</param>
    /// <param name="unit">The instrument unit, or <see langword="null"/>.</param>
    /// <param name="isCounter">Whether the instrument is a monotonic counter.</param>
    /// <param name="appendTotal">Whether counters get the <c>_total</c> suffix.</param>
    public static string PrometheusName(string name, string? unit, bool isCounter, bool appendTotal = true)
    {
        var result = SanitizeMetricName(name);
        if (!string.IsNullOrEmpty(unit))
        {
            var mapped = MapUnit(unit);
            if (mapped.Length > 0 && !result.EndsWith(mapped, StringComparison.Ordinal))
            {
                result = SanitizeMetricName(result + "_" + mapped);
            }
        }

        if (isCounter && appendTotal && !result.EndsWith("_total", StringComparison.Ordinal))
        {
            result += "_total";
        }

        return result;
    }

    /// <summary>Every character outside <c>[a-zA-Z0-9:]</c> becomes <c>_</c>, runs of <c>_</c> collapse, a leading digit gets a <c>_</c> prefix.</summary>
    public static string SanitizeMetricName(string name)
    {
        var sb = new StringBuilder(name.Length + 1);
        var lastUnderscore = false;
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (i == 0 && char.IsAsciiDigit(c))
            {
                sb.Append('_');
            }

            if (char.IsAsciiLetterOrDigit(c) || c == ':')
            {
                sb.Append(c);
                lastUnderscore = false;
            }
            else if (!lastUnderscore)
            {
                sb.Append('_');
                lastUnderscore = true;
            }
        }

        return sb.ToString();
    }

    /// <summary>A label name: characters outside <c>[a-zA-Z0-9_]</c> become <c>_</c>; a leading digit gets a <c>_</c> prefix.</summary>
    public static string SanitizeLabelName(string key)
    {
        if (key.Length == 0)
        {
            return "_";
        }

        var sb = new StringBuilder(key.Length + 1);
        if (char.IsAsciiDigit(key[0]))
        {
            sb.Append('_');
        }

        foreach (var c in key)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        }

        return sb.ToString();
    }

    /// <summary>The unit suffix: annotations dropped, abbreviations expanded, <c>a/b</c> → <c>a_per_b</c>.</summary>
    public static string MapUnit(string unit)
    {
        var withoutAnnotations = RemoveAnnotations(unit);
        var slash = withoutAnnotations.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0 && slash < withoutAnnotations.Length - 1)
        {
            var numerator = Expand(withoutAnnotations[..slash]);
            var denominator = ExpandPer(withoutAnnotations[(slash + 1)..]);
            return numerator.Length == 0 ? "per_" + denominator : numerator + "_per_" + denominator;
        }

        return Expand(withoutAnnotations);
    }

    /// <summary>Escapes <c>\</c>, <c>"</c> and newline in a label value.</summary>
    public static void AppendLabelValue(StringBuilder sb, string value) => AppendEscaped(sb, value, escapeQuote: true);

    /// <summary>Escapes <c>\</c> and newline in a HELP text.</summary>
    public static void AppendHelp(StringBuilder sb, string help) => AppendEscaped(sb, help, escapeQuote: false);

    // The text format escapes the same characters in both places, except that only label values escape quotes.
    private static void AppendEscaped(StringBuilder sb, string text, bool escapeQuote)
    {
        foreach (var c in text)
        {
            switch (c)
            {
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '"' when escapeQuote:
                    sb.Append("\\\"");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
    }

    /// <summary>
    /// Renders a sample value as Prometheus' Go client does (<c>strconv.FormatFloat(v, 'g', -1, 64)</c>): the shortest
    /// round-trip digits, in exponent form (<c>1e+06</c>, <c>1e-08</c>) when the decimal exponent is below -4 or at least 6,
    /// plus <c>+Inf</c>, <c>-Inf</c> and <c>NaN</c>. Bucket bounds so rendered equal the <c>le</c> labels upstream exports.
    /// </summary>
    public static string FormatValue(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsPositiveInfinity(value))
        {
            return "+Inf";
        }

        if (double.IsNegativeInfinity(value))
        {
            return "-Inf";
        }

        if (value == 0)
        {
            return double.IsNegative(value) ? "-0" : "0";
        }

        // Shortest round-trip digits from .NET, re-laid out the way Go's %g does it.
        var r = value.ToString("R", CultureInfo.InvariantCulture);
        var negative = r[0] == '-';
        if (negative)
        {
            r = r[1..];
        }

        var e = r.IndexOfAny(['E', 'e']);
        var exponent = e < 0 ? 0 : int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var mantissa = e < 0 ? r : r[..e];
        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = point < 0 ? mantissa : mantissa.Remove(point, 1);
        var dp = (point < 0 ? mantissa.Length : point) + exponent; // value = 0.digits × 10^dp
        var lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0')
        {
            lead++;
        }

        digits = digits[lead..];
        dp -= lead;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0)
        {
            return "0";
        }

        var sb = new StringBuilder(digits.Length + 8);
        if (negative)
        {
            sb.Append('-');
        }

        var exp10 = dp - 1;
        if (exp10 < -4 || exp10 >= 6)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1)
            {
                sb.Append('.').Append(digits, 1, digits.Length - 1);
            }

            sb.Append('e').Append(exp10 < 0 ? '-' : '+');
            var abs = Math.Abs(exp10);
            if (abs < 10)
            {
                sb.Append('0');
            }

            sb.Append(abs.ToString(CultureInfo.InvariantCulture));
        }
        else if (dp <= 0)
        {
            sb.Append("0.").Append('0', -dp).Append(digits);
        }
        else if (dp >= digits.Length)
        {
            sb.Append(digits).Append('0', dp - digits.Length);
        }
        else
        {
            sb.Append(digits, 0, dp).Append('.').Append(digits, dp, digits.Length - dp);
        }

        return sb.ToString();
    }

    private static string RemoveAnnotations(string unit)
    {
        var sb = new StringBuilder(unit.Length);
        var depth = false;
        var start = 0;
        for (var i = 0; i < unit.Length; i++)
        {
            if (unit[i] == '{' && !depth)
            {
                depth = true;
                start = i;
            }
            else if (unit[i] == '}' && depth)
            {
                depth = false;
            }
            else if (!depth)
            {
                sb.Append(unit[i]);
            }
        }

        // An unclosed brace is not an annotation: keep it as written.
        if (depth)
        {
            sb.Append(unit, start, unit.Length - start);
        }

        return sb.ToString();
    }

    private static string Expand(string unit) => unit switch
    {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "B" => "bytes",
        "KB" => "kilobytes",
        "MB" => "megabytes",
        "GB" => "gigabytes",
        "TB" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => string.Empty,
        "%" => "percent",
        "$" => "dollars",
        _ => unit,
    };

    private static string ExpandPer(string unit) => unit switch
    {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => unit,
    };
}
