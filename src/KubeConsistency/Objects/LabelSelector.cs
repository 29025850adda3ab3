using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace KubeConsistency;

/// <summary>The operator of a <see cref="LabelRequirement"/> (Go: <c>selection.Operator</c>).</summary>
public enum LabelSelectorOperator
{
    /// <summary><c>key=value</c>: the label exists and equals the value.</summary>
    Equals,

    /// <summary><c>key==value</c>: same as <see cref="Equals"/>.</summary>
    DoubleEquals,

    /// <summary><c>key!=value</c>: the label is absent or differs from the value.</summary>
    NotEquals,

    /// <summary><c>key in (a,b)</c>: the label exists and is one of the values.</summary>
    In,

    /// <summary><c>key notin (a,b)</c>: the label is absent or none of the values.</summary>
    NotIn,

    /// <summary><c>key</c>: the label exists.</summary>
    Exists,

    /// <summary><c>!key</c>: the label does not exist.</summary>
    DoesNotExist,

    /// <summary><c>key&gt;5</c>: the label exists and, read as an integer, is greater than the value.</summary>
    GreaterThan,

    /// <summary><c>key&lt;5</c>: the label exists and, read as an integer, is less than the value.</summary>
    LessThan,
}

/// <summary>
/// One entry of a label selector's <c>matchExpressions</c> (Go: <c>metav1.LabelSelectorRequirement</c>).
/// </summary>
/// <param name="Key">The label key.</param>
/// <param name="Operator"><c>In</c>, <c>NotIn</c>, <c>Exists</c> or <c>DoesNotExist</c> (case-sensitive, as the API defines them).</param>
/// <param name="Values">The values; non-empty for <c>In</c>/<c>NotIn</c>, empty for <c>Exists</c>/<c>DoesNotExist</c>.</param>
public sealed record LabelSelectorRequirement(string Key, string Operator, IReadOnlyList<string>? Values = null);

/// <summary>A label selector is invalid; the message names the bad input.</summary>
public sealed class LabelSelectorException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public LabelSelectorException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public LabelSelectorException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public LabelSelectorException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a selector string.</summary>
    /// <param name="selector">The input that failed.</param>
    /// <param name="problem">What is wrong with it.</param>
    public LabelSelectorException(string? selector, string problem)
        : base($"invalid label selector \"{selector}\": {problem}") => Selector = selector;

    /// <summary>The input that failed (a selector string or a rendering of the structured selector), when known.</summary>
    public string? Selector { get; }
}

/// <summary>
/// One condition of a <see cref="LabelSelector"/> (Go: <c>labels.Requirement</c>). Create with
/// <see cref="Create"/>, which validates like <c>labels.NewRequirement</c>.
/// </summary>
public sealed class LabelRequirement
{
    private readonly string[] _values;

    private LabelRequirement(string key, LabelSelectorOperator op, string[] values)
    {
        Key = key;
        Operator = op;
        _values = values;
    }

    /// <summary>The label key.</summary>
    public string Key { get; }

    /// <summary>The operator.</summary>
    public LabelSelectorOperator Operator { get; }

    /// <summary>The values (empty for <see cref="LabelSelectorOperator.Exists"/> and <see cref="LabelSelectorOperator.DoesNotExist"/>).</summary>
    public IReadOnlyList<string> Values => _values;

    /// <summary>
    /// Creates a requirement, validating it as <c>labels.NewRequirement</c> does: a qualified-name key, label-syntax
    /// values, a non-empty set for <c>in</c>/<c>notin</c>, exactly one value for the equality and comparison
    /// operators (an integer for <c>&gt;</c>/<c>&lt;</c>), none for <c>exists</c>/<c>!</c>.
    /// </summary>
    /// <param name="key">The label key.</param>
    /// <param name="op">The operator.</param>
    /// <param name="values">The values.</param>
    /// <exception cref="LabelSelectorException">The requirement is invalid; the message names the key and the problem.</exception>
    public static LabelRequirement Create(string key, LabelSelectorOperator op, IEnumerable<string>? values = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        string[] copy = values is null ? [] : [.. values];
        if (Validate(key, op, copy) is { } problem)
        {
            throw new LabelSelectorException(null, problem);
        }

        return new LabelRequirement(key, op, copy);
    }

    /// <summary>Whether <paramref name="labels"/> satisfy this requirement (Go: <c>Requirement.Matches</c>).</summary>
    /// <param name="labels">An object's labels; <see langword="null"/> means none.</param>
    public bool Matches(IReadOnlyDictionary<string, string>? labels)
    {
        string? value = null;
        var has = labels is not null && labels.TryGetValue(Key, out value);
        switch (Operator)
        {
            case LabelSelectorOperator.In or LabelSelectorOperator.Equals or LabelSelectorOperator.DoubleEquals:
                return has && Array.IndexOf(_values, value) >= 0;
            case LabelSelectorOperator.NotIn or LabelSelectorOperator.NotEquals:
                return !has || Array.IndexOf(_values, value) < 0;
            case LabelSelectorOperator.Exists:
                return has;
            case LabelSelectorOperator.DoesNotExist:
                return !has;
            case LabelSelectorOperator.GreaterThan or LabelSelectorOperator.LessThan:
                if (!has || !TryParseInteger(value, out var actual) || _values.Length != 1 || !TryParseInteger(_values[0], out var bound))
                {
                    return false;
                }

                return Operator == LabelSelectorOperator.GreaterThan ? actual > bound : actual < bound;
            default:
                return false;
        }
    }

    /// <summary>Renders the requirement as in a selector string, set values sorted (Go: <c>Requirement.String</c>).</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        AppendTo(sb);
        return sb.ToString();
    }

    internal static LabelRequirement CreateUnchecked(string key, LabelSelectorOperator op, string[] values) => new(key, op, values);

    internal void AppendTo(StringBuilder sb)
    {
        if (Operator == LabelSelectorOperator.DoesNotExist)
        {
            sb.Append('!');
        }

        sb.Append(Key);
        sb.Append(Operator switch
        {
            LabelSelectorOperator.Equals => "=",
            LabelSelectorOperator.DoubleEquals => "==",
            LabelSelectorOperator.NotEquals => "!=",
            LabelSelectorOperator.In => " in (",
            LabelSelectorOperator.NotIn => " notin (",
            LabelSelectorOperator.GreaterThan => ">",
            LabelSelectorOperator.LessThan => "<",
            _ => string.Empty,
        });
        if (Operator is LabelSelectorOperator.Exists or LabelSelectorOperator.DoesNotExist)
        {
            return;
        }

        if (_values.Length == 1)
        {
            sb.Append(_values[0]);
        }
        else
        {
            var sorted = _values.ToArray();
            Array.Sort(sorted, StringComparer.Ordinal);
            sb.AppendJoin(',', sorted);
        }

        if (Operator is LabelSelectorOperator.In or LabelSelectorOperator.NotIn)
        {
            sb.Append(')');
        }
    }

    /// <summary>Validates a requirement; returns the problem or <see langword="null"/>.</summary>
    internal static string? Validate(string key, LabelSelectorOperator op, string[] values)
    {
        if (LabelValidation.QualifiedNameProblem(key) is { } keyProblem)
        {
            return $"key \"{key}\": {keyProblem}";
        }

        switch (op)
        {
            case LabelSelectorOperator.In or LabelSelectorOperator.NotIn:
                if (values.Length == 0)
                {
                    return $"key \"{key}\": the 'in' and 'notin' operators need at least one value";
                }

                break;
            case LabelSelectorOperator.Equals or LabelSelectorOperator.DoubleEquals or LabelSelectorOperator.NotEquals:
                if (values.Length != 1)
                {
                    return $"key \"{key}\": an equality requirement needs exactly one value, got {values.Length}";
                }

                break;
            case LabelSelectorOperator.Exists or LabelSelectorOperator.DoesNotExist:
                if (values.Length != 0)
                {
                    return $"key \"{key}\": the 'exists' and 'does not exist' operators take no values, got {values.Length}";
                }

                break;
            case LabelSelectorOperator.GreaterThan or LabelSelectorOperator.LessThan:
                if (values.Length != 1)
                {
                    return $"key \"{key}\": the '>' and '<' operators need exactly one value, got {values.Length}";
                }

                if (!TryParseInteger(values[0], out _))
                {
                    return $"key \"{key}\": the '>' and '<' operators need an integer value, got \"{values[0]}\"";
                }

                break;
            default:
                return $"key \"{key}\": unsupported operator {op}";
        }

        foreach (var value in values)
        {
            if (value is null)
            {
                return $"key \"{key}\": a value is null";
            }

            if (LabelValidation.LabelValueProblem(value) is { } valueProblem)
            {
                return $"key \"{key}\", value \"{value}\": {valueProblem}";
            }
        }

        return null;
    }

    private static bool TryParseInteger(string? s, out long value) =>
        long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
}

/// <summary>
/// A label selector (Go: <c>labels.Selector</c>): requirements that must all hold. Parse the string form with
/// <see cref="Parse"/> (<c>a=b,c!=d,e in (x,y),f notin (z),g,!h,n&gt;5</c>), or build it from a resource's
/// <c>matchLabels</c>/<c>matchExpressions</c> with <see cref="FromLabelSelector"/>. Immutable and thread-safe.
/// </summary>
public sealed class LabelSelector
{
    private readonly LabelRequirement[] _requirements;
    private readonly bool _nothing;

    private LabelSelector(LabelRequirement[] requirements, bool nothing)
    {
        _requirements = requirements;
        _nothing = nothing;
    }

    /// <summary>Matches every label set (Go: <c>labels.Everything()</c>); the result of parsing <c>""</c> and of an empty <c>LabelSelector</c>.</summary>
    public static LabelSelector Everything { get; } = new([], nothing: false);

    /// <summary>Matches nothing (Go: <c>labels.Nothing()</c>); what a missing (<see langword="null"/>) <c>LabelSelector</c> means.</summary>
    public static LabelSelector Nothing { get; } = new([], nothing: true);

    /// <summary>The requirements, sorted by key.</summary>
    public IReadOnlyList<LabelRequirement> Requirements => _requirements;

    /// <summary>Whether the selector does not restrict anything (Go: <c>Empty()</c>); <see langword="false"/> for <see cref="Nothing"/>.</summary>
    public bool IsEverything => !_nothing && _requirements.Length == 0;

    /// <summary>Whether this is <see cref="Nothing"/>.</summary>
    public bool IsNothing => _nothing;

    /// <summary>
    /// Parses the string form (Go: <c>labels.Parse</c>). Whitespace around tokens is ignored; <c>""</c> gives
    /// <see cref="Everything"/>; requirements are sorted by key; set values are de-duplicated and sorted.
    /// </summary>
    /// <param name="selector">The selector string.</param>
    /// <exception cref="LabelSelectorException">The string is not a valid selector; the message quotes it and says what was expected.</exception>
    public static LabelSelector Parse(string selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        var parser = new LabelSelectorParser(selector);
        if (parser.Parse(out var requirements) is { } problem)
        {
            throw new LabelSelectorException(selector, problem);
        }

        return FromSorted(requirements);
    }

    /// <summary>Parses the string form without throwing.</summary>
    /// <param name="selector">The selector string.</param>
    /// <param name="result">The selector, when valid.</param>
    /// <returns>Whether <paramref name="selector"/> is valid.</returns>
    public static bool TryParse(string? selector, [NotNullWhen(true)] out LabelSelector? result)
    {
        result = null;
        if (selector is null || new LabelSelectorParser(selector).Parse(out var requirements) is not null)
        {
            return false;
        }

        result = FromSorted(requirements);
        return true;
    }

    /// <summary>A selector that requires every given label to equal its value (Go: <c>labels.ValidatedSelectorFromSet</c>); empty gives <see cref="Everything"/>.</summary>
    /// <param name="labels">The labels to match exactly.</param>
    /// <exception cref="LabelSelectorException">A key or value is not valid label syntax.</exception>
    public static LabelSelector FromSet(IEnumerable<KeyValuePair<string, string>>? labels) => FromLabelSelector(labels, null);

    /// <summary>
    /// Converts a resource's label selector (Go: <c>metav1.LabelSelectorAsSelector</c>). No <c>matchLabels</c> and no
    /// <c>matchExpressions</c> gives <see cref="Everything"/>. A selector that is absent altogether means
    /// <see cref="Nothing"/>: pass <see cref="Nothing"/> yourself in that case.
    /// </summary>
    /// <param name="matchLabels">Labels that must have exactly these values.</param>
    /// <param name="matchExpressions">Set-based requirements.</param>
    /// <exception cref="LabelSelectorException">An operator is unknown or a requirement is invalid; the message names it.</exception>
    public static LabelSelector FromLabelSelector(IEnumerable<KeyValuePair<string, string>>? matchLabels, IEnumerable<LabelSelectorRequirement>? matchExpressions)
    {
        var requirements = new List<LabelRequirement>();
        foreach (var (key, value) in matchLabels ?? [])
        {
            requirements.Add(Checked(key, LabelSelectorOperator.Equals, [value]));
        }

        foreach (var expression in matchExpressions ?? [])
        {
            ArgumentNullException.ThrowIfNull(expression, nameof(matchExpressions));
            var op = expression.Operator switch
            {
                "In" => LabelSelectorOperator.In,
                "NotIn" => LabelSelectorOperator.NotIn,
                "Exists" => LabelSelectorOperator.Exists,
                "DoesNotExist" => LabelSelectorOperator.DoesNotExist,
                _ => throw new LabelSelectorException(
                    Describe(expression),
                    $"\"{expression.Operator}\" is not a valid label selector operator (expected In, NotIn, Exists or DoesNotExist)"),
            };
            requirements.Add(Checked(expression.Key ?? string.Empty, op, [.. expression.Values ?? []], expression));
        }

        if (requirements.Count == 0)
        {
            return Everything;
        }

        // A stable sort by key, so that the rendering is deterministic (Go sorts by key too).
        return FromSorted([.. requirements.OrderBy(r => r.Key, StringComparer.Ordinal)]);
    }

    /// <summary>
    /// Converts a label selector in JSON form (<c>{"matchLabels":{…},"matchExpressions":[{"key","operator","values"}]}</c>);
    /// <see langword="null"/> gives <see cref="Nothing"/>, as a missing selector does upstream.
    /// </summary>
    /// <param name="labelSelector">The selector object, e.g. <c>spec.selector</c> of a ReplicaSet.</param>
    /// <exception cref="LabelSelectorException">The JSON is not a label selector or a requirement is invalid.</exception>
    public static LabelSelector FromJson(JsonNode? labelSelector)
    {
        if (labelSelector is null)
        {
            return Nothing;
        }

        if (labelSelector is not JsonObject obj)
        {
            throw new LabelSelectorException(labelSelector.ToJsonString(), "a label selector must be a JSON object");
        }

        List<KeyValuePair<string, string>>? matchLabels = null;
        if (obj["matchLabels"] is JsonObject labels)
        {
            matchLabels = [];
            foreach (var (key, value) in labels)
            {
                matchLabels.Add(new(key, Text(value) ?? throw new LabelSelectorException(obj.ToJsonString(), $"matchLabels[\"{key}\"] is not a string")));
            }
        }

        List<LabelSelectorRequirement>? expressions = null;
        if (obj["matchExpressions"] is JsonArray array)
        {
            expressions = [];
            foreach (var item in array)
            {
                if (item is not JsonObject e)
                {
                    throw new LabelSelectorException(obj.ToJsonString(), "a matchExpressions entry is not an object");
                }

                var values = e["values"] is JsonArray v ? v.Select(x => Text(x) ?? throw new LabelSelectorException(obj.ToJsonString(), "a matchExpressions value is not a string")).ToList() : null;
                expressions.Add(new LabelSelectorRequirement(Text(e["key"]) ?? string.Empty, Text(e["operator"]) ?? string.Empty, values));
            }
        }

        return FromLabelSelector(matchLabels, expressions);
    }

    /// <summary>Whether every requirement holds for <paramref name="labels"/> (Go: <c>Selector.Matches</c>).</summary>
    /// <param name="labels">An object's labels; <see langword="null"/> means none.</param>
    public bool Matches(IReadOnlyDictionary<string, string>? labels)
    {
        if (_nothing)
        {
            return false;
        }

        foreach (var requirement in _requirements)
        {
            if (!requirement.Matches(labels))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Renders the selector in its string form (Go: <c>Selector.String</c>); <see cref="Parse"/> reads it back.
    /// <see cref="Everything"/> and <see cref="Nothing"/> both render as <c>""</c>.
    /// </summary>
    public override string ToString()
    {
        if (_requirements.Length == 0)
        {
            return string.Empty;
        }

        var sb = new StringBuilder();
        for (var i = 0; i < _requirements.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            _requirements[i].AppendTo(sb);
        }

        return sb.ToString();
    }

    private static LabelSelector FromSorted(LabelRequirement[] requirements) =>
        requirements.Length == 0 ? Everything : new LabelSelector(requirements, nothing: false);

    private static LabelRequirement Checked(string key, LabelSelectorOperator op, string[] values, LabelSelectorRequirement? source = null)
    {
        if (LabelRequirement.Validate(key, op, values) is { } problem)
        {
            throw new LabelSelectorException(source is null ? $"{key}={string.Join(',', values)}" : Describe(source), problem);
        }

        return LabelRequirement.CreateUnchecked(key, op, values);
    }

    private static string Describe(LabelSelectorRequirement r) =>
        $"{{key: {r.Key}, operator: {r.Operator}, values: [{string.Join(", ", r.Values ?? [])}]}}";

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;
}

/// <summary>The label-selector grammar of apimachinery's <c>labels.Parse</c>.</summary>
internal sealed class LabelSelectorParser(string input)
{
    private readonly List<Token> _tokens = Lex(input);
    private int _position;

    private enum Kind
    {
        End,
        Identifier,
        In,
        NotIn,
        OpenParen,
        CloseParen,
        Comma,
        Not,
        Equals,
        DoubleEquals,
        NotEquals,
        GreaterThan,
        LessThan,
    }

    /// <summary>Parses the input; returns the problem, or <see langword="null"/> with the requirements sorted by key.</summary>
    public string? Parse(out LabelRequirement[] requirements)
    {
        requirements = [];
        var result = new List<LabelRequirement>();
        while (true)
        {
            var token = Peek(values: true);
            switch (token.Kind)
            {
                case Kind.End:
                    requirements = Sorted(result);
                    return null;
                case Kind.Identifier or Kind.Not:
                    if (ParseRequirement(out var requirement) is { } problem)
                    {
                        return problem;
                    }

                    result.Add(requirement!);
                    var next = Next(values: true);
                    if (next.Kind == Kind.End)
                    {
                        requirements = Sorted(result);
                        return null;
                    }

                    if (next.Kind != Kind.Comma)
                    {
                        return $"found {Describe(next)} at position {next.Position}, expected ',' or end of string";
                    }

                    var afterComma = Peek(values: true);
                    if (afterComma.Kind is not (Kind.Identifier or Kind.Not))
                    {
                        return $"found {Describe(afterComma)} at position {afterComma.Position}, expected an identifier after ','";
                    }

                    break;
                default:
                    return $"found {Describe(token)} at position {token.Position}, expected '!', an identifier or end of string";
            }
        }
    }

    private static LabelRequirement[] Sorted(List<LabelRequirement> requirements) =>
        [.. requirements.OrderBy(r => r.Key, StringComparer.Ordinal)];

    private static bool IsSpecial(char c) => c is '=' or '!' or '(' or ')' or ',' or '>' or '<';

    private static bool IsWhitespace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static List<Token> Lex(string s)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < s.Length && IsWhitespace(s[i]))
            {
                i++;
            }

            if (i >= s.Length)
            {
                tokens.Add(new Token(Kind.End, string.Empty, i));
                return tokens;
            }

            var start = i;
            if (IsSpecial(s[i]))
            {
                // The longest operator that is a token: "!=" and "==" win over "!" and "=".
                if (i + 1 < s.Length && s[i + 1] == '=' && s[i] is '!' or '=')
                {
                    tokens.Add(new Token(s[i] == '!' ? Kind.NotEquals : Kind.DoubleEquals, s.Substring(i, 2), start));
                    i += 2;
                    continue;
                }

                tokens.Add(new Token(
                    s[i] switch
                    {
                        '=' => Kind.Equals,
                        '!' => Kind.Not,
                        '(' => Kind.OpenParen,
                        ')' => Kind.CloseParen,
                        ',' => Kind.Comma,
                        '>' => Kind.GreaterThan,
                        _ => Kind.LessThan,
                    },
                    s[i].ToString(),
                    start));
                i++;
                continue;
            }

            while (i < s.Length && !IsSpecial(s[i]) && !IsWhitespace(s[i]))
            {
                i++;
            }

            var text = s[start..i];
            tokens.Add(new Token(text switch { "in" => Kind.In, "notin" => Kind.NotIn, _ => Kind.Identifier }, text, start));
        }
    }

    private static string Describe(Token token) => token.Kind == Kind.End ? "end of string" : $"'{token.Text}'";

    /// <summary>In a value position the keywords <c>in</c>/<c>notin</c> are ordinary identifiers.</summary>
    private Token Peek(bool values) => Adjust(_tokens[_position], values);

    private Token Next(bool values) => Adjust(_tokens[_position++], values);

    private static Token Adjust(Token token, bool values) =>
        values && token.Kind is Kind.In or Kind.NotIn ? token with { Kind = Kind.Identifier } : token;

    private string? ParseRequirement(out LabelRequirement? requirement)
    {
        requirement = null;
        var op = LabelSelectorOperator.Exists;
        var token = Next(values: true);
        var negated = token.Kind == Kind.Not;
        if (negated)
        {
            op = LabelSelectorOperator.DoesNotExist;
            token = Next(values: true);
        }

        if (token.Kind != Kind.Identifier)
        {
            return $"found {Describe(token)} at position {token.Position}, expected an identifier";
        }

        var key = token.Text;
        if (LabelValidation.QualifiedNameProblem(key) is { } keyProblem)
        {
            return $"key \"{key}\": {keyProblem}";
        }

        var lookahead = Peek(values: true);
        if (negated || lookahead.Kind is Kind.End or Kind.Comma)
        {
            // "!key" must be followed by ',' or the end; the caller reports anything else.
            return Finish(key, negated ? LabelSelectorOperator.DoesNotExist : op, [], out requirement);
        }

        var opToken = Next(values: false);
        op = opToken.Kind switch
        {
            Kind.In => LabelSelectorOperator.In,
            Kind.NotIn => LabelSelectorOperator.NotIn,
            Kind.Equals => LabelSelectorOperator.Equals,
            Kind.DoubleEquals => LabelSelectorOperator.DoubleEquals,
            Kind.NotEquals => LabelSelectorOperator.NotEquals,
            Kind.GreaterThan => LabelSelectorOperator.GreaterThan,
            Kind.LessThan => LabelSelectorOperator.LessThan,
            _ => (LabelSelectorOperator)(-1),
        };
        if ((int)op < 0)
        {
            return $"found {Describe(opToken)} at position {opToken.Position}, expected one of in, notin, =, ==, !=, >, <";
        }

        string[] values;
        if (op is LabelSelectorOperator.In or LabelSelectorOperator.NotIn)
        {
            if (ParseSet(out values) is { } setProblem)
            {
                return setProblem;
            }
        }
        else
        {
            var value = Peek(values: true);
            if (value.Kind is Kind.End or Kind.Comma)
            {
                values = [string.Empty];
            }
            else
            {
                _position++;
                if (value.Kind != Kind.Identifier)
                {
                    return $"found {Describe(value)} at position {value.Position}, expected a value";
                }

                values = [value.Text];
            }
        }

        return Finish(key, op, values, out requirement);
    }

    /// <summary>
    /// Parses <c>( v1, v2, … )</c> with upstream's quirks: <c>()</c>, a leading, trailing or doubled comma stand for
    /// the empty value, but a comma pair right before <c>)</c> is an error.
    /// </summary>
    private string? ParseSet(out string[] values)
    {
        values = [];
        var open = Next(values: true);
        if (open.Kind != Kind.OpenParen)
        {
            return $"found {Describe(open)} at position {open.Position}, expected '('";
        }

        var first = Peek(values: true);
        if (first.Kind == Kind.CloseParen)
        {
            _position++;
            values = [string.Empty];
            return null;
        }

        if (first.Kind is not (Kind.Identifier or Kind.Comma))
        {
            return $"found {Describe(first)} at position {first.Position}, expected a value, ',' or ')'";
        }

        var set = new SortedSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var token = Next(values: true);
            if (token.Kind == Kind.Identifier)
            {
                set.Add(token.Text);
                var after = Peek(values: true);
                if (after.Kind == Kind.CloseParen)
                {
                    break;
                }

                if (after.Kind != Kind.Comma)
                {
                    return $"found {Describe(after)} at position {after.Position}, expected ',' or ')'";
                }
            }
            else if (token.Kind == Kind.Comma)
            {
                if (set.Count == 0)
                {
                    set.Add(string.Empty);
                }

                var after = Peek(values: true);
                if (after.Kind == Kind.CloseParen)
                {
                    set.Add(string.Empty);
                    break;
                }

                if (after.Kind == Kind.Comma)
                {
                    _position++;
                    set.Add(string.Empty);
                }
            }
            else
            {
                return $"found {Describe(token)} at position {token.Position}, expected ',' or a value";
            }
        }

        _position++; // the ')' seen by the lookahead
        values = [.. set];
        return null;
    }

    private static string? Finish(string key, LabelSelectorOperator op, string[] values, out LabelRequirement? requirement)
    {
        requirement = null;
        if (LabelRequirement.Validate(key, op, values) is { } problem)
        {
            return problem;
        }

        requirement = LabelRequirement.CreateUnchecked(key, op, values);
        return null;
    }

    private readonly record struct Token(Kind Kind, string Text, int Position);
}

/// <summary>Kubernetes name syntax (apimachinery <c>util/validation</c>).</summary>
internal static class LabelValidation
{
    public const int LabelValueMaxLength = 63;
    public const int QualifiedNameMaxLength = 63;
    public const int Dns1123SubdomainMaxLength = 253;

    /// <summary><c>IsQualifiedName</c>: <c>[prefix/]name</c>, prefix a DNS-1123 subdomain, name ≤ 63 label characters.</summary>
    public static string? QualifiedNameProblem(string value)
    {
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        var name = value;
        if (slash >= 0)
        {
            if (value.IndexOf('/', slash + 1) >= 0)
            {
                return "a qualified name is an optional DNS subdomain prefix and '/' followed by a name (e.g. 'example.com/my-name'), with at most one '/'";
            }

            var prefix = value[..slash];
            name = value[(slash + 1)..];
            if (prefix.Length == 0)
            {
                return "the prefix part must not be empty";
            }

            if (Dns1123SubdomainProblem(prefix) is { } prefixProblem)
            {
                return "the prefix part " + prefixProblem;
            }
        }

        if (name.Length == 0)
        {
            return "the name part must not be empty";
        }

        if (name.Length > QualifiedNameMaxLength)
        {
            return $"the name part must be no more than {QualifiedNameMaxLength} characters";
        }

        return IsLabelShaped(name) ? null : "the name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
    }

    /// <summary><c>IsValidLabelValue</c>: empty, or ≤ 63 characters of <c>[A-Za-z0-9_.-]</c> starting and ending alphanumeric.</summary>
    public static string? LabelValueProblem(string value)
    {
        if (value.Length > LabelValueMaxLength)
        {
            return $"a label value must be no more than {LabelValueMaxLength} characters";
        }

        return value.Length == 0 || IsLabelShaped(value)
            ? null
            : "a label value must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
    }

    /// <summary><c>IsDNS1123Subdomain</c>: lowercase alphanumeric labels with inner '-', joined by '.', ≤ 253 characters.</summary>
    public static string? Dns1123SubdomainProblem(string value)
    {
        if (value.Length > Dns1123SubdomainMaxLength)
        {
            return $"must be no more than {Dns1123SubdomainMaxLength} characters";
        }

        foreach (var label in value.Split('.'))
        {
            if (label.Length == 0 || !IsLowerAlphanumeric(label[0]) || !IsLowerAlphanumeric(label[^1]) || !label.All(c => IsLowerAlphanumeric(c) || c == '-'))
            {
                return "must be a lowercase RFC 1123 subdomain: lowercase alphanumeric characters, '-' or '.', starting and ending with an alphanumeric character (e.g. 'example.com')";
            }
        }

        return null;
    }

    private static bool IsLabelShaped(string s) =>
        s.Length > 0 && char.IsAsciiLetterOrDigit(s[0]) && char.IsAsciiLetterOrDigit(s[^1]) &&
        s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static bool IsLowerAlphanumeric(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
}
