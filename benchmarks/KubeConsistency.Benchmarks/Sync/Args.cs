using System.Globalization;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>A tiny <c>--name value</c> / <c>--flag</c> parser; repeated options keep every value.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public Args(IEnumerable<string> args)
    {
        string? pending = null;
        foreach (var arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (pending is not null)
                {
                    Add(pending, "true");
                }

                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    Add(arg[2..eq], arg[(eq + 1)..]);
                    pending = null;
                }
                else
                {
                    pending = arg[2..];
                }
            }
            else if (pending is not null)
            {
                Add(pending, arg);
                pending = null;
            }
            else
            {
                throw new ArgumentException($"unexpected argument '{arg}'");
            }
        }

        if (pending is not null)
        {
            Add(pending, "true");
        }
    }

    public string? String(string name)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out var v) ? v[^1] : null;
    }

    public string String(string name, string defaultValue) => String(name) ?? defaultValue;

    public IReadOnlyList<string> All(string name)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out var v) ? v : [];
    }

    public int Int(string name, int defaultValue) =>
        String(name) is { } s ? int.Parse(s.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture) : defaultValue;

    public double Double(string name, double defaultValue) =>
        String(name) is { } s ? double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture) : defaultValue;

    public bool Flag(string name) => String(name) is { } s && !string.Equals(s, "false", StringComparison.OrdinalIgnoreCase);

    public IReadOnlyList<int> IntList(string name, int defaultValue) =>
        String(name) is { } s
            ? s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(x => int.Parse(x.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture)).ToList()
            : [defaultValue];

    /// <summary>Throws for options no code asked for (typos must not silently run the default).</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException("unknown option(s): " + string.Join(", ", unknown.Select(u => "--" + u)));
        }
    }

    private void Add(string name, string value)
    {
        if (!_values.TryGetValue(name, out var list))
        {
            list = [];
            _values[name] = list;
        }

        list.Add(value);
    }
}
