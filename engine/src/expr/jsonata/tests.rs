//! Unit tests: small cases per language feature and per function.

use super::*;
use serde_json::{json, Value as Json};

fn run(expr: &str, input: Option<Json>) -> Result<Option<Json>, Error> {
    Expression::parse(expr)?.evaluate_with(
        input.as_ref(),
        &Bindings::new(),
        &Functions::step_functions(),
        Limits::default(),
    )
}

fn check(expr: &str, input: Json, expected: Json) {
    match run(expr, Some(input)) {
        Ok(Some(v)) => assert_eq!(v, expected, "{expr}"),
        other => panic!("{expr}: expected {expected}, got {other:?}"),
    }
}

/// Evaluates with no input at all.
fn check0(expr: &str, expected: Json) {
    match run(expr, None) {
        Ok(Some(v)) => assert_eq!(v, expected, "{expr}"),
        other => panic!("{expr}: expected {expected}, got {other:?}"),
    }
}

fn check_err(expr: &str, input: Json, code: &str) {
    match run(expr, Some(input)) {
        Err(e) => assert_eq!(e.code, code, "{expr}: {e}"),
        other => panic!("{expr}: expected error {code}, got {other:?}"),
    }
}

fn check_undefined(expr: &str, input: Json) {
    match run(expr, Some(input)) {
        Ok(None) => {}
        other => panic!("{expr}: expected undefined, got {other:?}"),
    }
}

fn account() -> Json {
    json!({"Account": {"Name": "Firefly", "Order": [
        {"OrderID": "order103", "Product": [
            {"Name": "Bowler Hat", "ID": 858383, "Price": 34.45, "Quantity": 2},
            {"Name": "Trilby hat", "ID": 858236, "Price": 21.67, "Quantity": 1}]},
        {"OrderID": "order104", "Product": [
            {"Name": "Bowler Hat", "ID": 858383, "Price": 34.45, "Quantity": 4},
            {"Name": "Cloak", "ID": 345664, "Price": 107.99, "Quantity": 1}]}]}})
}

#[test]
fn expression_is_send_sync_clone() {
    fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_traits::<Expression>();
    assert_traits::<Functions>();
    assert_traits::<Error>();
}

#[test]
fn literals() {
    check0("42", json!(42));
    check0("-1.5", json!(-1.5));
    check0("1e3", json!(1000));
    check0("\"a\\u00e9\\n\"", json!("aé\n"));
    check0("true", json!(true));
    check0("null", json!(null));
    check0("[1, 'a', null]", json!([1, "a", null]));
    check0("{'a': 1, 'b': [2]}", json!({"a": 1, "b": [2]}));
}

#[test]
fn paths_and_flattening() {
    let d = account();
    check("Account.Name", d.clone(), json!("Firefly"));
    check(
        "Account.Order.OrderID",
        d.clone(),
        json!(["order103", "order104"]),
    );
    check(
        "Account.Order[0].Product[1].Name",
        d.clone(),
        json!("Trilby hat"),
    );
    check(
        "Account.Order.Product.Price",
        d.clone(),
        json!([34.45, 21.67, 34.45, 107.99]),
    );
    check(
        "Account.Order.Product[0].ID",
        d.clone(),
        json!([858383, 858383]),
    );
    check("(Account.Order.Product)[0].ID", d.clone(), json!(858383));
    check("Account.Order[-1].OrderID", d.clone(), json!("order104"));
    check("Account.Order[0].OrderID[]", d.clone(), json!(["order103"]));
    check("Account.`Name`", d.clone(), json!("Firefly"));
    check("Account.'Name'", d.clone(), json!("Firefly"));
    check_undefined("Account.Missing.Field", d.clone());
    check("$.Account.Name", d.clone(), json!("Firefly"));
    check("$$.Account.Name", d, json!("Firefly"));
    check("[1,2,3][1]", json!(null), json!(2));
    check("[[1,2],[3]][0]", json!(null), json!([1, 2]));
    check(
        "a.b.c",
        json!({"a": [{"b": [{"c": 1}, {"c": 2}]}, {"b": {"c": 3}}]}),
        json!([1, 2, 3]),
    );
    check("$[0]", json!([5, 6]), json!(5));
    check("$", json!([5, 6]), json!([5, 6]));
}

#[test]
fn predicates() {
    let d = account();
    check(
        "Account.Order.Product[Price > 30].Name",
        d.clone(),
        json!(["Bowler Hat", "Bowler Hat", "Cloak"]),
    );
    check(
        "Account.Order.Product[Quantity = 1][0].Name",
        d.clone(),
        json!(["Trilby hat", "Cloak"]),
    );
    check(
        "Account.Order.Product[[0, 1]].ID",
        d.clone(),
        json!([858383, 858236, 858383, 345664]),
    );
    check(
        "Account.Order[OrderID = 'order104'].Product.Name",
        d,
        json!(["Bowler Hat", "Cloak"]),
    );
    check("[1,2,3,4][$ > 2]", json!(null), json!([3, 4]));
}

#[test]
fn wildcards_and_descendants() {
    check("*", json!({"a": 1, "b": 2}), json!([1, 2]));
    check("a.*", json!({"a": {"x": 1, "y": [2, 3]}}), json!([1, 2, 3]));
    check("**.x", json!({"a": {"x": 1, "b": {"x": 2}}}), json!([1, 2]));
}

#[test]
fn arithmetic_and_comparison() {
    check0("1 + 2 * 3", json!(7));
    check0("(1 + 2) * 3", json!(9));
    check0("7 % 3", json!(1));
    check0("-7 % 3", json!(-1));
    check0("10 / 4", json!(2.5));
    check0("1 = 1", json!(true));
    check0("'a' < 'b'", json!(true));
    check0("2 >= 3", json!(false));
    check0("1 != 'a'", json!(true));
    check0("[1,2] = [1,2]", json!(true));
    check_err("'a' + 1", json!(null), "T2001");
    check_err("1 + 'a'", json!(null), "T2002");
    check_err("1 < 'a'", json!(null), "T2009");
    check_err("{} < 1", json!(null), "T2010");
    check_err("-'a'", json!(null), "D1002");
    check_err("1/(10e300 * 10e100)", json!(null), "D1001");
    check_undefined("1 + nothing", json!({}));
    check_undefined("nothing < 1", json!({}));
}

#[test]
fn boolean_logic_and_conditionals() {
    check0("true and false", json!(false));
    check0("true or false", json!(true));
    check0("1 in [1,2]", json!(true));
    check0("3 in [1,2]", json!(false));
    check0("1 > 0 ? 'yes' : 'no'", json!("yes"));
    check("x ? 'yes' : 'no'", json!({}), json!("no"));
    check_undefined("false ? 1", json!({}));
    check("and.or", json!({"and": {"or": 5}}), json!(5));
}

#[test]
fn strings_and_ranges() {
    check0("'a' & 1 & true & null", json!("a1truenull"));
    check0("'x' & [1,2]", json!("x[1,2]"));
    check0("[1..4]", json!([1, 2, 3, 4]));
    check0("[1..3, 7]", json!([1, 2, 3, 7]));
    check0("[3..1]", json!([]));
    check_err("[1.5..3]", json!(null), "T2003");
    check_err("[1..'a']", json!(null), "T2004");
    check_err("[1..100000000]", json!(null), "D2014");
    check0("[1..10000000] ~> $count()", json!(10_000_000));
}

#[test]
fn blocks_variables_lambdas() {
    check0("($a := 2; $b := 3; $a * $b)", json!(6));
    check0("($f := function($x) { $x * 2 }; $f(21))", json!(42));
    check0("(λ($x, $y) { $x + $y })(1, 2)", json!(3));
    check0("($x := 1; ($x := 2); $x)", json!(1));
    check0(
        "($add := function($a){ function($b){ $a + $b } }; $add(2)(3))",
        json!(5),
    );
    check0(
        "($fact := function($n){ $n <= 1 ? 1 : $n * $fact($n - 1) }; $fact(10))",
        json!(3628800),
    );
    check0(
        "($even := function($n){ $n = 0 ? true : $odd($n - 1) }; $odd := function($n){ $n = 0 ? false : $even($n - 1) }; $even(20001))",
        json!(false),
    );
    check0(
        "($f := function($s, $x)<sn:s>{ $s & $x }; $f('a', 1))",
        json!("a1"),
    );
    check_err(
        "($f := function($s)<s:s>{ $s }; $f(1))",
        json!(null),
        "T0410",
    );
    check_err("($x := 1; $x())", json!(null), "T1006");
    check_err("sum([1])", json!({}), "T1005");
    let b: Bindings = [("price".to_string(), json!(10))].into_iter().collect();
    let e = Expression::parse("$price * 2").unwrap();
    assert_eq!(e.evaluate(None, &b).unwrap(), Some(json!(20)));
}

#[test]
fn partial_application_and_chaining() {
    check0(
        "($first := $substring(?, 0, 1); $first('hello'))",
        json!("h"),
    );
    check0(
        "($f := function($a, $b){ $a - $b }; $g := $f(?, 1); $g(10))",
        json!(9),
    );
    check0("'hello' ~> $uppercase()", json!("HELLO"));
    check0("($t := $trim ~> $uppercase; $t('  ab  '))", json!("AB"));
    check_err("1 ~> 2", json!(null), "T2006");
    check_err("$nothing(?)", json!(null), "T1008");
}

#[test]
fn object_constructors_and_grouping() {
    let d = account();
    check(
        "Account.Order.Product{Name: Price}",
        d.clone(),
        json!({"Bowler Hat": [34.45, 34.45], "Trilby hat": 21.67, "Cloak": 107.99}),
    );
    check(
        "Account.Order.Product{Name: $sum(Quantity)}",
        d.clone(),
        json!({"Bowler Hat": 6, "Trilby hat": 1, "Cloak": 1}),
    );
    check(
        "Account.Order.{'id': OrderID}",
        d.clone(),
        json!([{"id": "order103"}, {"id": "order104"}]),
    );
    check_err("{1: 2}", json!(null), "T1003");
    check_err("Account.Order.Product{Name: 1, 'Cloak': 2}", d, "D1009");
    check0("{}", json!({}));
}

#[test]
fn sorting() {
    let d = account();
    check(
        "Account.Order.Product^(Price).Name",
        d.clone(),
        json!(["Trilby hat", "Bowler Hat", "Bowler Hat", "Cloak"]),
    );
    check(
        "Account.Order.Product^(>Price, Quantity).Quantity",
        d.clone(),
        json!([1, 2, 4, 1]),
    );
    check_err("[{'a':1},{'a':'x'}]^(a)", json!(null), "T2007");
    check_err("[{'a':{}},{'a':1}]^(a)", json!(null), "T2008");
}

#[test]
fn focus_index_and_parent() {
    let d = account();
    check(
        "Account.Order#$i.(OrderID & $string($i))",
        d.clone(),
        json!(["order1030", "order1041"]),
    );
    check(
        "Account.Order@$o.$o.Product[Price > 100].{'order': $o.OrderID, 'name': Name}",
        d.clone(),
        json!({"order": "order104", "name": "Cloak"}),
    );
    check(
        "Account.Order.Product[Price > 100].%.OrderID",
        d.clone(),
        json!("order104"),
    );
    check(
        "Account.Order.Product.%.%.Name",
        d,
        json!(["Firefly", "Firefly", "Firefly", "Firefly"]),
    );
    check(
        "library.loans@$L.books@$B[$L.isbn=$B.isbn].{'title': $B.title}",
        json!({"library": {"loans": [{"isbn": "1"}], "books": [{"isbn": "1", "title": "T"}, {"isbn": "2", "title": "U"}]}}),
        json!({"title": "T"}),
    );
    check_err("%.a", json!({}), "S0217");
}

#[test]
fn transforms() {
    check(
        "$ ~> |a|{'y': 2}, ['x']|",
        json!({"a": {"x": 1}, "b": 3}),
        json!({"a": {"y": 2}, "b": 3}),
    );
    check(
        "$ ~> |**[$exists(v)]|{'v': v * 10}|",
        json!({"a": {"v": 1, "b": {"v": 2}}}),
        json!({"a": {"v": 10, "b": {"v": 20}}}),
    );
    check_err("$ ~> |a|5|", json!({"a": {}}), "T2011");
    check_err("$ ~> |a|{}, 5|", json!({"a": {}}), "T2012");
}

#[test]
fn regexes() {
    check0("$match('ab12cd34', /[0-9]+/).match", json!(["12", "34"]));
    check0(
        "$match('abc', /(a)(b)/)",
        json!({"match": "ab", "index": 0, "groups": ["a", "b"]}),
    );
    check0(
        "$replace('John Smith', /(\\w+)\\s(\\w+)/, '$2, $1')",
        json!("Smith, John"),
    );
    check0(
        "$replace('abc', /b/, function($m){ $uppercase($m.match) })",
        json!("aBc"),
    );
    check0("$contains('Hello', /l+/)", json!(true));
    check0("$split('a1b22c', /[0-9]+/)", json!(["a", "b", "c"]));
    check0("$contains('ABC', /b/i)", json!(true));
    check0("['apple','Bob'][$ ~> /^a/]", json!("apple"));
    check_err("$match('aaa', /x*/)", json!(null), "D1004");
    check_err("/(a)\\1/", json!(null), "S0303");
}

#[test]
fn string_functions() {
    check0("$string(1/3)", json!("0.333333333333333"));
    check0("$string({'a': [1, true]})", json!("{\"a\":[1,true]}"));
    check0("$string([1,2], true)", json!("[\n  1,\n  2\n]"));
    check0("$string(1e21)", json!("1e+21"));
    check0("$string(100)", json!("100"));
    check_err("$string(1/0)", json!(null), "D3001");
    check0("$length('héllo')", json!(5));
    check0("$substring('Hello World', 3, 5)", json!("lo Wo"));
    check0("$substring('Hello', -3)", json!("llo"));
    check0("$substringBefore('a-b-c', '-')", json!("a"));
    check0("$substringAfter('a-b-c', '-')", json!("b-c"));
    check0("$uppercase('abc')", json!("ABC"));
    check0("$lowercase('ABC')", json!("abc"));
    check0("$trim('  a \n b  ')", json!("a b"));
    check0("$pad('x', 3)", json!("x  "));
    check0("$pad('x', -3, '#')", json!("##x"));
    check0("$contains('abc', 'bc')", json!(true));
    check0("$split('a,b,c', ',', 2)", json!(["a", "b"]));
    check0("$join(['a','b'], '-')", json!("a-b"));
    check0("$replace('aaa', 'a', 'b', 2)", json!("bba"));
    check0("$base64encode('hello')", json!("aGVsbG8="));
    check0("$base64decode('aGVsbG8=')", json!("hello"));
    check0("$encodeUrlComponent('a b&c')", json!("a%20b%26c"));
    check0(
        "$encodeUrl('http://x.com/a b?q=1')",
        json!("http://x.com/a%20b?q=1"),
    );
    check0("$decodeUrlComponent('a%20b%26c')", json!("a b&c"));
    check0("$decodeUrl('a%20b%26c')", json!("a b%26c"));
    check_err("$decodeUrlComponent('%E0%A4%A')", json!(null), "D3140");
    check_err("$length(1)", json!(null), "T0410");
    check("$length()", json!("abc"), json!(3));
    check_err("$length()", json!(5), "T0411");
}

#[test]
fn numeric_functions() {
    check0("$number('12.5')", json!(12.5));
    check0("$number('0x1F')", json!(31));
    check0("$number(true)", json!(1));
    check_err("$number('abc')", json!(null), "D3030");
    check0("$abs(-3)", json!(3));
    check0("$floor(2.7)", json!(2));
    check0("$ceil(2.1)", json!(3));
    check0("$round(2.5)", json!(2));
    check0("$round(3.5)", json!(4));
    check0("$round(1.235, 2)", json!(1.24));
    check0("$power(2, 10)", json!(1024));
    check0("$sqrt(16)", json!(4));
    check_err("$sqrt(-1)", json!(null), "D3060");
    check0("$random() < 1", json!(true));
    check0("$formatNumber(1234.5678, '#,##0.00')", json!("1,234.57"));
    check0("$formatNumber(0.25, '#%')", json!("25%"));
    check0("$formatNumber(1234.5, '0.0e0')", json!("1.2e3"));
    check0("$formatNumber(-5, '0;(0)')", json!("(5)"));
    check_err("$formatNumber(1, '0.0.0')", json!(null), "D3081");
    check0("$formatBase(255, 16)", json!("ff"));
    check0("$formatBase(-5, 2)", json!("-101"));
    check_err("$formatBase(5, 1)", json!(null), "D3100");
    check0("$formatInteger(1234567, '#,##0')", json!("1,234,567"));
    check0("$formatInteger(42, 'w')", json!("forty-two"));
    check0("$formatInteger(1999, 'I')", json!("MCMXCIX"));
    check0("$formatInteger(28, 'A')", json!("AB"));
    check0("$formatInteger(3, '1;o')", json!("3rd"));
    check0("$parseInteger('1,234', '#,##0')", json!(1234));
    check0("$parseInteger('forty-two', 'w')", json!(42));
    check0("$parseInteger('MCMXCIX', 'I')", json!(1999));
}

#[test]
fn aggregate_functions() {
    check0("$sum([1,2,3])", json!(6));
    check0("$count([1,2,3])", json!(3));
    check0("$count(nothing)", json!(0));
    check0("$max([1,5,3])", json!(5));
    check0("$min([4,2,3])", json!(2));
    check0("$average([1,2,3,4])", json!(2.5));
    check_err("$sum(['a'])", json!(null), "T0412");
    check_undefined("$max([])", json!(null));
}

#[test]
fn boolean_functions() {
    check0("$boolean('')", json!(false));
    check0("$boolean([0, 1])", json!(true));
    check0("$boolean({})", json!(false));
    check0("$not(0)", json!(true));
    check0("$exists(nothing)", json!(false));
    check("$exists(a)", json!({"a": null}), json!(true));
}

#[test]
fn array_functions() {
    check0("$append([1,2], 3)", json!([1, 2, 3]));
    check0("$reverse([1,2,3])", json!([3, 2, 1]));
    check0("$count($shuffle([1,2,3]))", json!(3));
    check0("$distinct([1,2,1,'a','a'])", json!([1, 2, "a"]));
    check0("$zip([1,2],[3,4],[5])", json!([[1, 3, 5]]));
    check0("$sort([3,1,2])", json!([1, 2, 3]));
    check0("$sort(['b','a'])", json!(["a", "b"]));
    check0(
        "$sort([1,3,2], function($a,$b){ $a < $b })",
        json!([3, 2, 1]),
    );
    check_err("$sort([1,'a'])", json!(null), "D3070");
}

#[test]
fn object_functions() {
    check0("$keys({'a':1,'b':2})", json!(["a", "b"]));
    check0("$lookup({'a':1}, 'a')", json!(1));
    check0("$spread({'a':1,'b':2})", json!([{"a": 1}, {"b": 2}]));
    check0("$merge([{'a':1},{'b':2},{'a':3}])", json!({"a": 3, "b": 2}));
    check0(
        "$each({'a':1,'b':2}, function($v,$k){ $k & $v })",
        json!(["a1", "b2"]),
    );
    check0(
        "$sift({'a':1,'b':2}, function($v){ $v > 1 })",
        json!({"b": 2}),
    );
    check0("$type('a')", json!("string"));
    check0("$type([])", json!("array"));
    check0("$type($type)", json!("function"));
    check_err("$error('boom')", json!(null), "D3137");
    check_err("$assert(false, 'nope')", json!(null), "D3141");
    match run("$error('boom')", None) {
        Err(e) => assert_eq!(e.message, "boom"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn higher_order_functions() {
    check0("$map([1,2,3], function($v){ $v * 2 })", json!([2, 4, 6]));
    check0("$map([1,2,3], $string)", json!(["1", "2", "3"]));
    check0(
        "$map(['a','b'], function($v, $i){ $v & $i })",
        json!(["a0", "b1"]),
    );
    check0(
        "$filter([1,2,3,4], function($v){ $v % 2 = 0 })",
        json!([2, 4]),
    );
    check0("$single([1,2,3], function($v){ $v = 2 })", json!(2));
    check_err(
        "$single([1,2,3], function($v){ $v > 1 })",
        json!(null),
        "D3138",
    );
    check_err(
        "$single([1,2,3], function($v){ $v > 5 })",
        json!(null),
        "D3139",
    );
    check0("$reduce([1,2,3,4], function($a, $b){ $a + $b })", json!(10));
    check0("$reduce([1,2], function($a, $b){ $a + $b }, 10)", json!(13));
    check_err("$reduce([1,2], function($a){ $a })", json!(null), "D3050");
}

#[test]
fn date_time_functions() {
    check0(
        "$fromMillis(1509380732935)",
        json!("2017-10-30T16:25:32.935Z"),
    );
    check0("$fromMillis(0, '[Y0001]-[M01]-[D01]')", json!("1970-01-01"));
    check0(
        "$fromMillis(1509380732935, '[FNn], [D1o] [MNn] [Y]')",
        json!("Monday, 30th October 2017"),
    );
    check0(
        "$fromMillis(1509380732935, '[h]:[m01][P]', '-0500')",
        json!("11:25am"),
    );
    check0(
        "$fromMillis(1509380732935, '[H01]:[m01] [Z]', '+0130')",
        json!("17:55 +01:30"),
    );
    check0(
        "$toMillis('2017-10-30T16:25:32.935Z')",
        json!(1509380732935i64),
    );
    check0("$toMillis('1970-01-01')", json!(0));
    check0(
        "$toMillis('2018-02-01T09:42:13.123+0100')",
        json!(1517474533123i64),
    );
    check0(
        "$toMillis('30/10/2017', '[D]/[M]/[Y]')",
        json!(1509321600000i64),
    );
    check0(
        "$toMillis('October 30, 2017', '[MNn] [D], [Y]')",
        json!(1509321600000i64),
    );
    check_err("$toMillis('not a date')", json!(null), "D3110");
    check0("$millis() > 0", json!(true));
    check0("$now() = $now()", json!(true));
    check0("$toMillis($now()) = $millis()", json!(true));
    check_err("$fromMillis(0, '[Q]')", json!(null), "D3132");
}

#[test]
fn step_functions_extensions() {
    check0("$partition([1,2,3,4,5], 2)", json!([[1, 2], [3, 4], [5]]));
    check0("$range(0, 10, 2)", json!([0, 2, 4, 6, 8, 10]));
    check0("$range(5, 1, -2)", json!([5, 3, 1]));
    check0(
        "$hash('abc', 'MD5')",
        json!("900150983cd24fb0d6963f7d28e17f72"),
    );
    check0(
        "$hash('abc', 'SHA-1')",
        json!("a9993e364706816aba3e25717850c26c9cd0d89d"),
    );
    check0(
        "$hash('abc', 'SHA-256')",
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    );
    check0("$length($hash('abc', 'SHA-384'))", json!(96));
    check0("$length($hash('abc', 'SHA-512'))", json!(128));
    check0("$random(42) = $random(42)", json!(true));
    check0("$random(1) >= 0 and $random(1) < 1", json!(true));
    check0("$length($uuid())", json!(36));
    check0("$uuid() != $uuid()", json!(true));
    check0("$parse('{\"a\": [1, 2]}')", json!({"a": [1, 2]}));
    check_err("$eval('1')", json!(null), "T1006");
}

#[test]
fn host_functions() {
    let mut f = Functions::new();
    f.register("double", Some("<n:n>"), |args| {
        Ok(args[0]
            .as_ref()
            .and_then(|v| v.as_f64())
            .map(|n| json!(n * 2.0)))
    })
    .unwrap();
    let e = Expression::parse("$double(21)").unwrap();
    let r = e
        .evaluate_with(None, &Bindings::new(), &f, Limits::default())
        .unwrap();
    assert_eq!(r, Some(json!(42)));
    let e = Expression::parse("$double('x')").unwrap();
    let err = e
        .evaluate_with(None, &Bindings::new(), &f, Limits::default())
        .unwrap_err();
    assert_eq!(err.code, "T0410");
}

#[test]
fn parse_errors() {
    for (expr, code) in [
        ("1 +", "S0207"),
        ("(1", "S0203"),
        ("'abc", "S0101"),
        ("\"\\q\"", "S0103"),
        ("`a", "S0105"),
        ("/* x", "S0106"),
        ("1 1", "S0201"),
        ("a.1", "S0213"),
        ("1 := 2", "S0212"),
        ("function(a){1}", "S0208"),
        ("a@1", "S0214"),
        ("$x!", "S0204"),
        ("+1", "S0211"),
        ("a{'x':1}{'y':2}", "S0210"),
        ("//", "S0301"),
        ("/abc", "S0302"),
    ] {
        match Expression::parse(expr) {
            Err(e) => assert_eq!(e.code, code, "{expr}: {e}"),
            Ok(_) => panic!("{expr}: expected {code}"),
        }
    }
}

#[test]
fn limits() {
    let e =
        Expression::parse("($f := function($n){ $n = 0 ? 1 : $n * $f($n - 1) }; $f(99))").unwrap();
    let limits = Limits {
        max_depth: Some(302),
        time_limit: None,
    };
    assert!(e
        .evaluate_with_limits(None, &Bindings::new(), limits)
        .is_ok());
    let e =
        Expression::parse("($f := function($n){ $n = 0 ? 1 : $n * $f($n - 1) }; $f(100))").unwrap();
    assert_eq!(
        e.evaluate_with_limits(None, &Bindings::new(), limits)
            .unwrap_err()
            .code,
        "U1001"
    );
    let e = Expression::parse("($inf := function(){ $inf() }; $inf())").unwrap();
    let limits = Limits {
        max_depth: Some(500),
        time_limit: Some(std::time::Duration::from_millis(200)),
    };
    assert_eq!(
        e.evaluate_with_limits(None, &Bindings::new(), limits)
            .unwrap_err()
            .code,
        "U1001"
    );
    // without limits, runaway recursion is still stopped
    let e = Expression::parse("($f := function($n){ 1 + $f($n + 1) }; $f(0))").unwrap();
    assert_eq!(
        e.evaluate(None, &Bindings::new()).unwrap_err().code,
        "U1001"
    );
}

#[test]
fn deep_inputs_do_not_overflow_small_stacks() {
    let handle = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| {
            let deep = "[".repeat(5000) + &"]".repeat(5000);
            assert_eq!(Expression::parse(&deep).unwrap_err().code, "U1001");
            let e = Expression::parse("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(2000))").unwrap();
            assert_eq!(e.evaluate(None, &Bindings::new()).unwrap(), Some(json!(2000)));
            let e = Expression::parse("($f := function($n, $a){ $n = 0 ? $a : $f($n - 1, {'a': $a}) }; $f(50000, 1) ~> $type())")
                .unwrap();
            assert_eq!(e.evaluate(None, &Bindings::new()).unwrap(), Some(json!("object")));
        })
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn number_output() {
    check0("1.0", json!(1));
    check0("0.1 + 0.2", json!(0.30000000000000004));
    check0("9007199254740993", json!(9007199254740992i64));
    check0("$string(0.1 + 0.2)", json!("0.3"));
    check0(
        "$string(123456789012345678901)",
        json!("123456789012346000000"),
    );
    check0("$string(1e-7)", json!("1e-7"));
}

#[test]
fn compiled_expression_is_reusable() {
    let e = Expression::parse("a + 1").unwrap();
    for i in 0..100 {
        assert_eq!(
            e.evaluate(Some(&json!({"a": i})), &Bindings::new())
                .unwrap(),
            Some(json!(i + 1))
        );
    }
}

/// The shortcut for simple expressions gives exactly what the general evaluator gives (the same
/// value, or the same error code), over awkward inputs: floats that are integral, numbers past
/// 2^53, arrays on the path, strings where numbers belong, nulls, missing fields.
#[test]
fn shortcut_agrees_with_the_evaluator() {
    let exprs = [
        "$states.input.i",
        "$states.input.i + 1",
        "$states.input.i - $states.input.n * 2",
        "$states.input.i / $states.input.n",
        "$states.input.i % 3",
        "-$states.input.i",
        "$states.input.i < $states.input.n",
        "$states.input.i >= 10 and $states.input.flag",
        "$states.input.missing or $states.input.flag",
        "$states.input.i = $states.input.n",
        "$states.input.s != 'x'",
        "$states.input.s = $states.input.s",
        "$states.input.obj",
        "$states.input.obj.deep.x",
        "$states.input.list",
        "$states.input.list.x",
        "$states.input.s.x",
        "$states.input.nothing = null",
        "$x",
        "$x.a + $states.input.i",
        "$undeclared",
        "'text'",
        "null",
        "true and false",
        "1 / 0",
        "$states.input.i * 1e308 * 10",
        "$states.input.i / $states.input.zero * 100 > 50",
        "$states.input.i % 0 + 1 < 2",
        "$states.input.i / 0 + $states.input.missing",
    ];
    let inputs = [
        json!({"i": 1, "n": 10, "zero": 0, "flag": true, "s": "x", "obj": {"deep": {"x": 1.0}, "b": [1, 2.5]}}),
        json!({"i": 2.0, "n": 9007199254740993u64, "flag": false, "s": "y", "list": [{"x": 1}, {"x": 2}]}),
        json!({"i": "7", "n": null, "flag": 1, "s": 5, "obj": [1], "nothing": null}),
        json!({"i": -0.5, "n": 0, "flag": null, "s": "", "list": [], "obj": {"deep": [{"x": 3}]}}),
        json!({}),
        json!([1, 2]),
    ];
    let functions = Functions::step_functions();
    let mut shortcuts = 0;
    for src in exprs {
        let e = Expression::parse(src).unwrap();
        if e.has_shortcut() {
            shortcuts += 1;
        }
        for input in &inputs {
            let mut b = Bindings::new();
            b.insert("states".into(), json!({ "input": input }));
            b.insert("x".into(), json!({"a": 2}));
            let p = Prepared::new(b);
            let fast = e.evaluate_prepared(&p, &functions, Limits::default());
            let general = e.evaluate_general(&p, &functions, Limits::default());
            match (&fast, &general) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{src} over {input}"),
                (Err(a), Err(b)) => assert_eq!(a.code, b.code, "{src} over {input}"),
                _ => panic!("{src} over {input}: {fast:?} against {general:?}"),
            }
        }
    }
    assert!(
        shortcuts >= 20,
        "only {shortcuts} expressions took the shortcut"
    );
    assert!(!Expression::parse("$states.input.list[0]")
        .unwrap()
        .has_shortcut());
    assert!(!Expression::parse("$count($states.input.list)")
        .unwrap()
        .has_shortcut());
}

/// Strings past 64 MiB are an error, not an exhausted memory: a huge `$pad`, a doubling loop.
#[test]
fn strings_past_the_limit_are_an_error() {
    check_err(r#"$pad("x", 1e18)"#, json!(null), "D3200");
    check_err(r#"$pad("x", -1e18, "ab")"#, json!(null), "D3200");
    check_err(
        r#"$reduce([1..40], function($a, $v){ $a & $a }, "xx")"#,
        json!(null),
        "D3200",
    );
    check0(r#"$pad("x", 3, "-")"#, json!("x--"));
}
