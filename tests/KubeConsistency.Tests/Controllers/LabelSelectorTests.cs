using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;

namespace KubeConsistency.Tests.Controllers;

/// <summary>Label selectors as apimachinery's <c>labels.Parse</c> and <c>metav1.LabelSelectorAsSelector</c> define them.</summary>
public sealed class LabelSelectorTests
{
    private static readonly Dictionary<string, string> Web = new() { ["app"] = "web", ["tier"] = "frontend", ["replicas"] = "3" };

    [Fact]
    public void Parses_every_operator_and_renders_sorted_by_key()
    {
        var selector = LabelSelector.Parse("tier notin (db,cache),app=web,!legacy,track,env in (prod,staging),x!=y,n>2,m<10,k==v");

        Assert.Equal("app=web,env in (prod,staging),k==v,!legacy,m<10,n>2,tier notin (cache,db),track,x!=y", selector.ToString());
        Assert.Equal(
            [LabelSelectorOperator.Equals, LabelSelectorOperator.In, LabelSelectorOperator.DoubleEquals, LabelSelectorOperator.DoesNotExist, LabelSelectorOperator.LessThan,
             LabelSelectorOperator.GreaterThan, LabelSelectorOperator.NotIn, LabelSelectorOperator.Exists, LabelSelectorOperator.NotEquals],
            selector.Requirements.Select(r => r.Operator));
        Assert.Equal(selector.ToString(), LabelSelector.Parse(selector.ToString()).ToString());
    }

    [Theory]
    [InlineData("app=web", true)]
    [InlineData("app==web", true)]
    [InlineData("app!=web", false)]
    [InlineData("app!=db", true)]
    [InlineData("missing!=x", true)]
    [InlineData("app in (web,db)", true)]
    [InlineData("app in (db)", false)]
    [InlineData("missing in (x)", false)]
    [InlineData("app notin (db)", true)]
    [InlineData("app notin (web)", false)]
    [InlineData("missing notin (x)", true)]
    [InlineData("app", true)]
    [InlineData("missing", false)]
    [InlineData("!missing", true)]
    [InlineData("!app", false)]
    [InlineData("replicas>2", true)]
    [InlineData("replicas>3", false)]
    [InlineData("replicas<4", true)]
    [InlineData("app>1", false)]
    [InlineData("missing<5", false)]
    [InlineData("app=web,tier=frontend", true)]
    [InlineData("app=web,tier=backend", false)]
    [InlineData("", true)]
    [InlineData("  \t ", true)]
    public void Matches_as_apimachinery_does(string selector, bool expected) =>
        Assert.Equal(expected, LabelSelector.Parse(selector).Matches(Web));

    [Fact]
    public void Whitespace_empty_values_and_keywords_follow_the_upstream_grammar()
    {
        Assert.Equal("app in (db,web),tier", LabelSelector.Parse("  app  in  ( web , db )  ,  tier ").ToString());

        // The documented example: an empty value inside a set, an empty set meaning the empty value.
        var example = LabelSelector.Parse("x in (foo,,baz),y,z notin ()");
        Assert.Equal(["", "baz", "foo"], example.Requirements[0].Values);
        Assert.Equal([""], example.Requirements[2].Values);
        Assert.Equal(["", "a"], LabelSelector.Parse("x in (,a)").Requirements[0].Values);
        Assert.Equal(["", "a"], LabelSelector.Parse("x in (a,)").Requirements[0].Values);

        // "a=" is an empty value; "in"/"notin" are ordinary words where a key or value is expected.
        Assert.True(LabelSelector.Parse("a=").Matches(new Dictionary<string, string> { ["a"] = "" }));
        Assert.True(LabelSelector.Parse("in in (in,notin)").Matches(new Dictionary<string, string> { ["in"] = "notin" }));
        Assert.True(LabelSelector.Parse("example.com/app=web").Matches(new Dictionary<string, string> { ["example.com/app"] = "web" }));
        Assert.True(LabelSelector.Parse("app").Matches(new Dictionary<string, string> { ["app"] = "" }));
        Assert.False(LabelSelector.Parse("app").Matches(null));
        Assert.True(LabelSelector.Parse("!app").Matches(null));
    }

    [Theory]
    [InlineData("app=web tier=db", "found 'tier' at position 8, expected ',' or end of string")]
    [InlineData("!app=web", "found '=' at position 4, expected ',' or end of string")]
    [InlineData("app in web", "found 'web' at position 7, expected '('")]
    [InlineData("app in (web", "found end of string at position 11, expected ',' or ')'")]
    [InlineData("app in (a b)", "found 'b' at position 10, expected ',' or ')'")]
    [InlineData("app in (a,,)", "found ')' at position 11, expected ',' or a value")]
    [InlineData("app,", "found end of string at position 4, expected an identifier after ','")]
    [InlineData(",app", "found ',' at position 0, expected '!', an identifier or end of string")]
    [InlineData("app)", "found ')' at position 3, expected one of in, notin, =, ==, !=, >, <")]
    [InlineData("app=(x)", "found '(' at position 4, expected a value")]
    [InlineData("Bad Key=x", "found 'Key' at position 4")]
    [InlineData("app/x/y=z", "key \"app/x/y\"")]
    [InlineData("Example.com/app=web", "key \"Example.com/app\": the prefix part must be a lowercase RFC 1123 subdomain")]
    [InlineData("-app=web", "key \"-app\": the name part must consist of alphanumeric characters")]
    [InlineData("app=-web", "key \"app\", value \"-web\"")]
    [InlineData("n>x", "the '>' and '<' operators need an integer value, got \"x\"")]
    [InlineData("n<", "the '>' and '<' operators need an integer value, got \"\"")]
    public void Invalid_selectors_name_the_input_and_the_problem(string selector, string problem)
    {
        var ex = Assert.Throws<LabelSelectorException>(() => LabelSelector.Parse(selector));
        Assert.Equal(selector, ex.Selector);
        Assert.StartsWith($"invalid label selector \"{selector}\": ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.False(LabelSelector.TryParse(selector, out _));
    }

    [Fact]
    public void Keys_and_values_have_the_kubernetes_length_limits()
    {
        var name63 = new string('a', 63);
        Assert.True(LabelSelector.TryParse($"{name63}={name63}", out _));
        Assert.True(LabelSelector.TryParse($"{new string('b', 253)}/{name63}", out _));
        Assert.Throws<LabelSelectorException>(() => LabelSelector.Parse(name63 + "a"));
        Assert.Throws<LabelSelectorException>(() => LabelSelector.Parse($"a={name63}a"));
        Assert.Throws<LabelSelectorException>(() => LabelSelector.Parse($"{new string('b', 254)}/a"));
        Assert.Throws<LabelSelectorException>(() => LabelSelector.Parse("/a"));
    }

    [Fact]
    public void Converts_match_labels_and_match_expressions()
    {
        var selector = LabelSelector.FromLabelSelector(
            new Dictionary<string, string> { ["app"] = "web" },
            [
                new LabelSelectorRequirement("tier", "In", ["frontend", "edge"]),
                new LabelSelectorRequirement("legacy", "DoesNotExist"),
                new LabelSelectorRequirement("track", "Exists", []),
                new LabelSelectorRequirement("env", "NotIn", ["dev"]),
            ]);

        Assert.Equal("app=web,env notin (dev),!legacy,tier in (edge,frontend),track", selector.ToString());
        Assert.True(selector.Matches(new Dictionary<string, string> { ["app"] = "web", ["tier"] = "edge", ["track"] = "x" }));
        Assert.False(selector.Matches(new Dictionary<string, string> { ["app"] = "web", ["tier"] = "edge" }));
        Assert.False(selector.Matches(new Dictionary<string, string> { ["app"] = "web", ["tier"] = "edge", ["track"] = "x", ["env"] = "dev" }));

        // Empty matches everything, absent matches nothing.
        Assert.True(LabelSelector.FromLabelSelector(null, null).IsEverything);
        Assert.Same(LabelSelector.Everything, LabelSelector.FromLabelSelector(new Dictionary<string, string>(), []));
        Assert.True(LabelSelector.Everything.Matches(null));
        Assert.False(LabelSelector.Nothing.Matches(Web));
        Assert.True(LabelSelector.Nothing.IsNothing);
        Assert.Equal("app=web,tier=frontend", LabelSelector.FromSet(new Dictionary<string, string> { ["tier"] = "frontend", ["app"] = "web" }).ToString());
    }

    [Theory]
    [InlineData("Equals", new[] { "x" }, "\"Equals\" is not a valid label selector operator")]
    [InlineData("in", new[] { "x" }, "\"in\" is not a valid label selector operator")]
    [InlineData("In", new string[0], "the 'in' and 'notin' operators need at least one value")]
    [InlineData("Exists", new[] { "x" }, "the 'exists' and 'does not exist' operators take no values")]
    public void Invalid_match_expressions_name_the_expression(string op, string[] values, string problem)
    {
        var ex = Assert.Throws<LabelSelectorException>(() => LabelSelector.FromLabelSelector(null, [new LabelSelectorRequirement("tier", op, values)]));
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.Contains("key: tier", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Converts_the_json_form_of_a_resource_selector()
    {
        var json = JsonNode.Parse("""{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["frontend"]}]}""");
        Assert.Equal("app=web,tier in (frontend)", LabelSelector.FromJson(json).ToString());
        Assert.Same(LabelSelector.Nothing, LabelSelector.FromJson(null));
        Assert.Same(LabelSelector.Everything, LabelSelector.FromJson(new JsonObject()));
        Assert.Throws<LabelSelectorException>(() => LabelSelector.FromJson(JsonNode.Parse("""{"matchLabels":{"app":1}}""")));
        Assert.Throws<LabelSelectorException>(() => LabelSelector.FromJson(JsonNode.Parse("[]")));
    }

    [Fact]
    public void Requirement_create_validates_like_NewRequirement()
    {
        Assert.True(LabelRequirement.Create("n", LabelSelectorOperator.GreaterThan, ["5"]).Matches(new Dictionary<string, string> { ["n"] = "6" }));
        Assert.Throws<LabelSelectorException>(() => LabelRequirement.Create("n", LabelSelectorOperator.Equals, ["a", "b"]));
        Assert.Throws<LabelSelectorException>(() => LabelRequirement.Create("n", LabelSelectorOperator.NotIn, []));
        Assert.Throws<LabelSelectorException>(() => LabelRequirement.Create("n", LabelSelectorOperator.DoesNotExist, ["a"]));
        Assert.Throws<LabelSelectorException>(() => LabelRequirement.Create("n", LabelSelectorOperator.LessThan, ["1", "2"]));
    }

    /// <summary>
    /// For random valid selectors: rendering and parsing round-trip, and matching equals an independent model of the
    /// upstream semantics (all requirements hold; notin/!= hold for absent labels; &gt;/&lt; need an integer label).
    /// </summary>
    [Fact]
    public void Property_render_parse_round_trip_and_matching_agree_with_the_model()
    {
        string[] keys = ["app", "tier", "example.com/role", "n"];
        string[] values = ["", "a", "b", "web", "1", "10", "07"];
        var requirement =
            from key in Gen.Elements(keys)
            from op in Gen.Elements(Enum.GetValues<LabelSelectorOperator>())
            from vals in Gen.SubListOf(values)
            from num in Gen.Choose(-3, 12)
            select Build(key, op, vals, num);
        var labels =
            from present in Gen.SubListOf(keys)
            from vals in Gen.ArrayOf(Gen.Elements(values), present.Count)
            select present.Zip(vals).ToDictionary(p => p.First, p => p.Second);
        var scenario =
            from reqs in Gen.ListOf(requirement)
            from sets in Gen.ArrayOf(labels, 8)
            select (Requirements: reqs.ToList(), Labels: sets);

        Prop.ForAll(Arb.From(scenario), s =>
        {
            var text = string.Join(",", s.Requirements.Select(r => r.ToString()));
            var parsed = LabelSelector.Parse(text);
            var canonical = string.Join(",", s.Requirements.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.ToString()));
            Assert.Equal(canonical, parsed.ToString());
            Assert.Equal(parsed.ToString(), LabelSelector.Parse(parsed.ToString()).ToString());
            foreach (var set in s.Labels)
            {
                var expected = s.Requirements.All(r => Model(r, set));
                Assert.Equal(expected, parsed.Matches(set));
                Assert.Equal(expected, s.Requirements.All(r => r.Matches(set)));
            }
        }).QuietCheckThrowOnFailure();
    }

    private static LabelRequirement Build(string key, LabelSelectorOperator op, IList<string> vals, int number) => op switch
    {
        LabelSelectorOperator.Exists or LabelSelectorOperator.DoesNotExist => LabelRequirement.Create(key, op),
        LabelSelectorOperator.GreaterThan or LabelSelectorOperator.LessThan => LabelRequirement.Create(key, op, [number.ToString(System.Globalization.CultureInfo.InvariantCulture).TrimStart('-')]),
        LabelSelectorOperator.In or LabelSelectorOperator.NotIn => LabelRequirement.Create(key, op, vals.Count == 0 ? ["a"] : vals.Distinct()),
        _ => LabelRequirement.Create(key, op, [vals.Count == 0 ? string.Empty : vals[0]]),
    };

    private static bool Model(LabelRequirement r, Dictionary<string, string> labels)
    {
        var has = labels.TryGetValue(r.Key, out var v);
        return r.Operator switch
        {
            LabelSelectorOperator.Exists => has,
            LabelSelectorOperator.DoesNotExist => !has,
            LabelSelectorOperator.Equals or LabelSelectorOperator.DoubleEquals or LabelSelectorOperator.In => has && r.Values.Contains(v),
            LabelSelectorOperator.NotEquals or LabelSelectorOperator.NotIn => !has || !r.Values.Contains(v),
            LabelSelectorOperator.GreaterThan => has && long.TryParse(v, out var g) && g > long.Parse(r.Values[0], System.Globalization.CultureInfo.InvariantCulture),
            _ => has && long.TryParse(v, out var l) && l < long.Parse(r.Values[0], System.Globalization.CultureInfo.InvariantCulture),
        };
    }
}
