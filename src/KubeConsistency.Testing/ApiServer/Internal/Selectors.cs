using System.Globalization;
using System.Text;

namespace KubeConsistency.Testing.ApiServer;

internal enum SelectorOperator
{
    Exists,
    DoesNotExist,
    Equals,
    NotEquals,
    In,
    NotIn,
    GreaterThan,
    LessThan,
}

internal sealed record LabelRequirement(string Key, SelectorOperator Operator, string[] Values)
{
    public bool Matches(KeyValuePair<string, string>[] labels)
    {
        string? value = null;
        foreach (var kv in labels)
        {
            if (kv.Key == Key)
            {
                value = kv.Value;
                break;
            }
        }

        return Operator switch
        {
            SelectorOperator.Exists => value is not null,
            SelectorOperator.DoesNotExist => value is null,
            SelectorOperator.Equals or SelectorOperator.In => value is not null && Array.IndexOf(Values, value) >= 0,
            SelectorOperator.NotEquals or SelectorOperator.NotIn => value is null || Array.IndexOf(Values, value) < 0,
            SelectorOperator.GreaterThan => value is not null && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) && v > long.Parse(Values[0], CultureInfo.InvariantCulture),
            SelectorOperator.LessThan => value is not null && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var w) && w < long.Parse(Values[0], CultureInfo.InvariantCulture),
            _ => false,
        };
    }
}

/// <summary>A parsed label selector (grammar and error messages of k8s.io/apimachinery/pkg/labels).</summary>
internal sealed class LabelSelector
{
    public static readonly LabelSelector Everything = new([]);

    private readonly LabelRequirement[] _requirements;

    private LabelSelector(LabelRequirement[] requirements) => _requirements = requirements;

    public bool IsEverything => _requirements.Length == 0;

    public bool Matches(KeyValuePair<string, string>[] labels)
    {
        foreach (var r in _requirements)
        {
            if (!r.Matches(labels))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Parses; throws <see cref="FormatException"/> with the apimachinery message.</summary>
    public static LabelSelector Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Everything;
        }

        return new LabelSelector(new Parser(text).Parse().ToArray());
    }

    private enum Tok
    {
        Error,
        EndOfString,
        ClosedPar,
        Comma,
        DoesNotExist,
        DoubleEquals,
        Equals,
        GreaterThan,
        Identifier,
        In,
        LessThan,
        NotEquals,
        NotIn,
        OpenPar,
    }

    private sealed class Parser
    {
        private readonly List<(Tok Tok, string Lit)> _items = [];
        private int _pos;

        public Parser(string input)
        {
            var i = 0;
            while (true)
            {
                while (i < input.Length && IsWhitespace(input[i]))
                {
                    i++;
                }

                if (i >= input.Length)
                {
                    _items.Add((Tok.EndOfString, ""));
                    break;
                }

                var ch = input[i];
                if (IsSpecial(ch))
                {
                    var buffer = new StringBuilder();
                    (Tok Tok, string Lit) last = (Tok.Error, "");
                    var found = false;
                    while (i < input.Length && IsSpecial(input[i]))
                    {
                        buffer.Append(input[i]);
                        var t = SpecialToken(buffer.ToString());
                        if (t is { } tok)
                        {
                            last = (tok, buffer.ToString());
                            found = true;
                            i++;
                        }
                        else if (found)
                        {
                            break;
                        }
                        else
                        {
                            i++;
                        }
                    }

                    if (!found)
                    {
                        _items.Add((Tok.Error, $"error expected: keyword found '{buffer}'"));
                        _items.Add((Tok.EndOfString, ""));
                        break;
                    }

                    _items.Add(last);
                }
                else
                {
                    var start = i;
                    while (i < input.Length && !IsSpecial(input[i]) && !IsWhitespace(input[i]))
                    {
                        i++;
                    }

                    var word = input[start..i];
                    _items.Add(word switch
                    {
                        "in" => (Tok.In, word),
                        "notin" => (Tok.NotIn, word),
                        _ => (Tok.Identifier, word),
                    });
                }
            }
        }

        private static bool IsWhitespace(char c) => c is ' ' or '\t' or '\r' or '\n';

        private static bool IsSpecial(char c) => c is '=' or '!' or '(' or ')' or ',' or '>' or '<';

        private static Tok? SpecialToken(string s) => s switch
        {
            ")" => Tok.ClosedPar,
            "," => Tok.Comma,
            "!" => Tok.DoesNotExist,
            "==" => Tok.DoubleEquals,
            "=" => Tok.Equals,
            ">" => Tok.GreaterThan,
            "<" => Tok.LessThan,
            "!=" => Tok.NotEquals,
            "(" => Tok.OpenPar,
            _ => null,
        };

        // In "values" mode the keywords in/notin are identifiers.
        private (Tok Tok, string Lit) Lookahead(bool values)
        {
            var item = _items[_pos];
            if (values && item.Tok is Tok.In or Tok.NotIn)
            {
                return (Tok.Identifier, item.Lit);
            }

            return item;
        }

        private (Tok Tok, string Lit) Consume(bool values)
        {
            var item = Lookahead(values);
            if (_pos < _items.Count - 1)
            {
                _pos++;
            }

            return item;
        }

        public List<LabelRequirement> Parse()
        {
            var requirements = new List<LabelRequirement>();
            while (true)
            {
                var (tok, lit) = Lookahead(values: true);
                switch (tok)
                {
                    case Tok.Identifier or Tok.DoesNotExist:
                        LabelRequirement r;
                        try
                        {
                            r = ParseRequirement();
                        }
                        catch (FormatException e)
                        {
                            throw new FormatException("unable to parse requirement: " + e.Message);
                        }

                        requirements.Add(r);
                        var (t, l) = Consume(values: true);
                        switch (t)
                        {
                            case Tok.EndOfString:
                                return requirements;
                            case Tok.Comma:
                                var (t2, l2) = Lookahead(values: true);
                                if (t2 is not Tok.Identifier and not Tok.DoesNotExist)
                                {
                                    throw new FormatException($"found '{l2}', expected: identifier after ','");
                                }

                                break;
                            default:
                                throw new FormatException($"found '{l}', expected: ',' or 'end of string'");
                        }

                        break;
                    case Tok.EndOfString:
                        return requirements;
                    default:
                        throw new FormatException($"found '{lit}', expected: !, identifier, or 'end of string'");
                }
            }
        }

        private LabelRequirement ParseRequirement()
        {
            var op = (SelectorOperator?)null;
            var (tok, literal) = Consume(values: true);
            if (tok == Tok.DoesNotExist)
            {
                op = SelectorOperator.DoesNotExist;
                (tok, literal) = Consume(values: true);
            }

            if (tok != Tok.Identifier)
            {
                throw new FormatException($"found '{literal}', expected: identifier");
            }

            ValidateKey(literal);
            var key = literal;
            var (next, _) = Lookahead(values: true);
            if (next is Tok.EndOfString or Tok.Comma)
            {
                return new LabelRequirement(key, op ?? SelectorOperator.Exists, []);
            }

            if (op == SelectorOperator.DoesNotExist)
            {
                return new LabelRequirement(key, SelectorOperator.DoesNotExist, []);
            }

            var (opTok, opLit) = Consume(values: false);
            SelectorOperator binary = opTok switch
            {
                Tok.In => SelectorOperator.In,
                Tok.Equals or Tok.DoubleEquals => SelectorOperator.Equals,
                Tok.GreaterThan => SelectorOperator.GreaterThan,
                Tok.LessThan => SelectorOperator.LessThan,
                Tok.NotIn => SelectorOperator.NotIn,
                Tok.NotEquals => SelectorOperator.NotEquals,
                _ => throw new FormatException($"found '{opLit}', expected: in, notin, =, ==, !=, gt, lt"),
            };

            string[] values = binary is SelectorOperator.In or SelectorOperator.NotIn ? ParseValues() : ParseExactValue();
            foreach (var v in values)
            {
                ValidateValue(v);
            }

            if (binary is SelectorOperator.GreaterThan or SelectorOperator.LessThan)
            {
                if (values.Length != 1 || !long.TryParse(values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                {
                    throw new FormatException($"values[0]: Invalid value: \"{(values.Length > 0 ? values[0] : "")}\": for 'Gt', 'Lt' operators, the value must be an integer");
                }
            }

            return new LabelRequirement(key, binary, values);
        }

        private string[] ParseValues()
        {
            var (tok, lit) = Consume(values: true);
            if (tok != Tok.OpenPar)
            {
                throw new FormatException($"found '{lit}' expected: '('");
            }

            (tok, lit) = Lookahead(values: true);
            switch (tok)
            {
                case Tok.Identifier or Tok.Comma:
                    var set = ParseIdentifiersList();
                    if (Consume(values: true).Tok != Tok.ClosedPar)
                    {
                        throw new FormatException($"found '{lit}', expected: ')'");
                    }

                    return [.. set.Order(StringComparer.Ordinal)];
                case Tok.ClosedPar:
                    Consume(values: true);
                    return [""];
                default:
                    throw new FormatException($"found '{lit}', expected: ',', ')' or identifier");
            }
        }

        private HashSet<string> ParseIdentifiersList()
        {
            var set = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                var (tok, lit) = Consume(values: true);
                switch (tok)
                {
                    case Tok.Identifier:
                        set.Add(lit);
                        var (t2, l2) = Lookahead(values: true);
                        switch (t2)
                        {
                            case Tok.Comma: continue;
                            case Tok.ClosedPar: return set;
                            default: throw new FormatException($"found '{l2}', expected: ',' or ')'");
                        }

                    case Tok.Comma:
                        if (set.Count == 0)
                        {
                            set.Add("");
                        }

                        var (t3, _) = Lookahead(values: true);
                        if (t3 == Tok.ClosedPar)
                        {
                            set.Add("");
                            return set;
                        }

                        if (t3 == Tok.Comma)
                        {
                            Consume(values: true);
                            set.Add("");
                        }

                        break;
                    default:
                        throw new FormatException($"found '{lit}', expected: ',', or identifier");
                }
            }
        }

        private string[] ParseExactValue()
        {
            var (tok, _) = Lookahead(values: true);
            if (tok is Tok.EndOfString or Tok.Comma)
            {
                return [""];
            }

            var (t, lit) = Consume(values: true);
            if (t == Tok.Identifier)
            {
                return [lit];
            }

            throw new FormatException($"found '{lit}', expected: identifier");
        }
    }

    private static void ValidateKey(string key)
    {
        var name = key;
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            var prefix = key[..slash];
            name = key[(slash + 1)..];
            if (prefix.Length == 0 || !Validation.IsDns1123Subdomain(prefix))
            {
                throw new FormatException($"key: Invalid value: \"{key}\": prefix part {Validation.Dns1123SubdomainMessage}");
            }
        }

        if (!Validation.IsQualifiedNamePart(name))
        {
            throw new FormatException($"key: Invalid value: \"{key}\": name part {Validation.QualifiedNameMessage}");
        }
    }

    private static void ValidateValue(string value)
    {
        if (value.Length > 0 && !Validation.IsLabelValue(value))
        {
            throw new FormatException($"values[0][{value}]: Invalid value: \"{value}\": {Validation.LabelValueMessage}");
        }
    }
}

/// <summary>A parsed field selector (<c>=</c>, <c>==</c>, <c>!=</c> terms) restricted to the fields a resource supports.</summary>
internal sealed class FieldSelector
{
    public static readonly FieldSelector Everything = new([]);

    private readonly (string Field, string Value, bool Negated)[] _terms;

    private FieldSelector((string, string, bool)[] terms) => _terms = terms;

    public bool IsEverything => _terms.Length == 0;

    public bool Matches(StoredObject o)
    {
        foreach (var (field, value, negated) in _terms)
        {
            var actual = field switch
            {
                "metadata.name" => o.Name,
                "metadata.namespace" => o.Namespace,
                _ => Lookup(o.Fields, field),
            };
            if ((actual == value) == negated)
            {
                return false;
            }
        }

        return true;
    }

    private static string Lookup(KeyValuePair<string, string>[] fields, string field)
    {
        foreach (var kv in fields)
        {
            if (kv.Key == field)
            {
                return kv.Value;
            }
        }

        return "";
    }

    /// <summary>Parses; throws <see cref="FormatException"/> with the apimachinery message.</summary>
    public static FieldSelector Parse(string? text, ApiResourceDefinition def)
    {
        if (string.IsNullOrEmpty(text))
        {
            return Everything;
        }

        var terms = new List<(string, string, bool)>();
        foreach (var part in SplitTerms(text).Order(StringComparer.Ordinal))
        {
            if (part.Length == 0)
            {
                continue;
            }

            if (!SplitTerm(part, out var lhs, out var op, out var rhs))
            {
                throw new FormatException($"invalid selector: '{text}'; can't understand '{part}'");
            }

            var value = Unescape(rhs, text);
            if (lhs != "metadata.name" && lhs != "metadata.namespace" && !def.SelectableFields.Contains(lhs))
            {
                throw new FormatException($"field label not supported: {lhs}");
            }

            terms.Add((lhs, value, op == "!="));
        }

        return new FieldSelector([.. terms]);
    }

    private static List<string> SplitTerms(string s)
    {
        var terms = new List<string>();
        var start = 0;
        var escaped = false;
        for (var i = 0; i < s.Length; i++)
        {
            if (escaped)
            {
                escaped = false;
            }
            else if (s[i] == '\\')
            {
                escaped = true;
            }
            else if (s[i] == ',')
            {
                terms.Add(s[start..i]);
                start = i + 1;
            }
        }

        terms.Add(s[start..]);
        return terms;
    }

    private static bool SplitTerm(string term, out string lhs, out string op, out string rhs)
    {
        for (var i = 0; i < term.Length; i++)
        {
            foreach (var candidate in (string[])["!=", "==", "="])
            {
                if (string.CompareOrdinal(term, i, candidate, 0, candidate.Length) == 0)
                {
                    lhs = term[..i];
                    op = candidate;
                    rhs = term[(i + candidate.Length)..];
                    return true;
                }
            }
        }

        lhs = op = rhs = "";
        return false;
    }

    private static string Unescape(string s, string selector)
    {
        if (!s.Contains('\\', StringComparison.Ordinal) && !s.Contains(',', StringComparison.Ordinal) && !s.Contains('=', StringComparison.Ordinal))
        {
            return s;
        }

        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '\\')
            {
                if (i + 1 >= s.Length)
                {
                    throw new FormatException($"invalid selector: '{selector}'; can't understand '{s}'");
                }

                var n = s[++i];
                if (n is not '\\' and not ',' and not '=')
                {
                    throw new FormatException($"invalid selector: '{selector}'; can't understand '{s}'");
                }

                sb.Append(n);
            }
            else if (c is ',' or '=')
            {
                throw new FormatException($"invalid selector: '{selector}'; can't understand '{s}'");
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
