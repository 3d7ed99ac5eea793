use super::*;

fn fields() -> Vec<FieldSpec> {
    let f = |key: &str, label: &str, kind| FieldSpec {
        key: key.into(),
        label: label.into(),
        kind,
    };
    vec![
        f("first_name", "First Name", Kind::Text),
        f("amount", "Amount", Kind::Number),
        f("joined", "Joined On", Kind::Date),
        f("active", "Active", Kind::Boolean),
        f("tags", "Tags", Kind::List),
    ]
}

fn err(q: &str) -> String {
    compile(q, &fields()).unwrap_err().message
}

fn ok(q: &str) -> Node {
    compile(q, &fields()).unwrap_or_else(|e| panic!("{q}: {e}"))
}

fn text(field: usize, cmp: Cmp, v: &str) -> Node {
    Node::Cell {
        field,
        test: CellTest::Text(cmp, v.into()),
    }
}

fn num(field: usize, cmp: Cmp, v: i64) -> Node {
    Node::Cell {
        field,
        test: CellTest::Number(cmp, v.into()),
    }
}

#[test]
fn a_field_by_key_or_label_quoted_or_not_any_case() {
    let want = text(0, Cmp::Eq, "Bender");
    assert_eq!(ok("first_name eq Bender"), want);
    assert_eq!(ok("\"First Name\" eq Bender"), want);
    assert_eq!(ok("'first name' eq Bender"), want);
    assert_eq!(ok("FIRST_NAME EQ Bender"), want);
    assert_eq!(ok("Amount gt 5"), num(1, Cmp::Gt, 5));
}

#[test]
fn a_label_two_fields_share_is_refused_not_guessed() {
    let f = |key: &str, label: &str, kind| FieldSpec {
        key: key.into(),
        label: label.into(),
        kind,
    };
    let twins = vec![f("a", "Dup Label", Kind::Text), f("b", "Dup Label", Kind::Number)];
    let e = compile("\"Dup Label\" eq 1", &twins).unwrap_err();
    assert!(e.message.contains("names 2 fields (a, b)"), "{e}");
    // A key still names its own field, even where a label says the same.
    let key_and_label = vec![f("b", "Other", Kind::Text), f("c", "b", Kind::Number)];
    assert!(matches!(
        compile("b eq x", &key_and_label).unwrap(),
        Node::Cell { field: 0, .. }
    ));
}

#[test]
fn a_whole_number_past_what_cells_keep_exactly_is_still_a_number() {
    let big = serde_json::Number::from_f64(1e20).unwrap();
    assert_eq!(
        ok("amount eq 100000000000000000000"),
        Node::Cell {
            field: 1,
            test: CellTest::Number(Cmp::Eq, big.clone())
        }
    );
    assert_eq!(
        ok("amount gt 100000000000000000000"),
        Node::Cell {
            field: 1,
            test: CellTest::Number(Cmp::Gt, big)
        }
    );
}

#[test]
fn every_operator() {
    assert_eq!(ok("amount lt 5"), num(1, Cmp::Lt, 5));
    assert_eq!(ok("amount lte 5"), num(1, Cmp::Lte, 5));
    assert_eq!(ok("amount gte 5"), num(1, Cmp::Gte, 5));
    assert_eq!(ok("amount ne 5"), Node::Not(Box::new(num(1, Cmp::Eq, 5))));
    assert_eq!(
        ok("first_name like \"Bender%\""),
        Node::Cell {
            field: 0,
            test: CellTest::Like {
                pattern: "Bender%".into(),
                case_insensitive: false
            }
        }
    );
    assert_eq!(
        ok("first_name ilike b_nder"),
        Node::Cell {
            field: 0,
            test: CellTest::Like {
                pattern: "b_nder".into(),
                case_insensitive: true
            }
        }
    );
    assert_eq!(
        ok("tags contains vip"),
        Node::Cell {
            field: 4,
            test: CellTest::Contains("vip".into())
        }
    );
}

#[test]
fn values_take_the_field_type() {
    assert_eq!(ok("amount eq \"1,234.5\""), {
        let n = serde_json::Number::from_f64(1234.5).unwrap();
        Node::Cell {
            field: 1,
            test: CellTest::Number(Cmp::Eq, n),
        }
    });
    // A value that is not a number finds the cells holding that text.
    assert_eq!(ok("amount eq N/A"), text(1, Cmp::Eq, "N/A"));
    assert_eq!(
        ok("joined gte 01/31/2024"),
        Node::Cell {
            field: 2,
            test: CellTest::Date(Cmp::Gte, "2024-01-31".into())
        }
    );
    assert_eq!(
        ok("active eq yes"),
        Node::Cell {
            field: 3,
            test: CellTest::Bool(true)
        }
    );
    assert_eq!(ok("first_name eq \"\""), text(0, Cmp::Eq, ""));
}

#[test]
fn ordering_a_value_of_the_wrong_type_is_refused_with_the_field_named() {
    let e = err("amount gt abc");
    assert!(e.contains("\"abc\" is not a number at 11"), "{e}");
    assert!(e.contains("amount is a number field"), "{e}");
    assert!(err("joined lt someday").contains("is not a date"));
    assert!(err("active lt true").contains("active is a boolean field"));
    assert!(err("tags gt a").contains("cannot order lists"));
    assert!(err("first_name contains a").contains("contains looks for an item of a list"));
}

/// Probe 69e D5: a date that reads two ways was read month first, silently.
#[test]
fn a_date_that_reads_two_ways_is_refused_with_both_readings() {
    let e = err("joined eq \"05/01/2020\"");
    assert!(
        e.contains("\"05/01/2020\" reads two ways: write the date as 2020-05-01 or 2020-01-05"),
        "{e}"
    );
    assert!(err("joined lt 1/2/2024").contains("reads two ways"));
    // One way only: read as it reads.
    assert_eq!(
        ok("joined eq \"13/01/2020\""),
        Node::Cell {
            field: 2,
            test: CellTest::Date(Cmp::Eq, "2020-01-13".into())
        }
    );
    assert!(
        compile("joined eq \"05/05/2020\"", &fields()).is_ok(),
        "the same either way"
    );
}

#[test]
fn no_field_means_any_field_it_can_compare() {
    assert_eq!(
        ok("eq 5"),
        Node::Or(vec![
            text(0, Cmp::Eq, "5"),
            num(1, Cmp::Eq, 5),
            text(2, Cmp::Eq, "5"),
            text(3, Cmp::Eq, "5"),
            Node::Cell {
                field: 4,
                test: CellTest::Shown(Cmp::Eq, "5".into())
            },
        ])
    );
    // Numbers only where a number is given.
    match ok("gt abc") {
        Node::Or(items) => assert_eq!(items, vec![text(0, Cmp::Gt, "abc")]),
        other => panic!("{other:?}"),
    }
    // `ne` with no field: no field equals it.
    assert!(matches!(ok("ne x"), Node::Not(inner) if matches!(*inner, Node::Or(_))));
    let only_numbers = vec![FieldSpec {
        key: "n".into(),
        label: "N".into(),
        kind: Kind::Number,
    }];
    let e = compile("lt abc", &only_numbers).unwrap_err();
    assert!(
        e.message.contains("no field of this sheet can be compared"),
        "{e}"
    );
}

#[test]
fn is_error_valid_warning_for_a_record_or_a_field() {
    assert_eq!(ok("is error"), Node::Record(Status::Error));
    assert_eq!(ok("IS valid"), Node::Record(Status::Valid));
    assert_eq!(ok("is warning"), Node::Record(Status::Warning));
    assert_eq!(
        ok("\"Joined On\" is error"),
        Node::Field {
            field: 2,
            status: Status::Error
        }
    );
    let e = err("is broken");
    assert_eq!(e, "unexpected \"broken\" at 4; expected error, valid or warning");
}

#[test]
fn and_binds_tighter_than_or_and_parentheses_group() {
    let a = || text(0, Cmp::Eq, "a");
    let b = || num(1, Cmp::Eq, 1);
    let c = || Node::Record(Status::Error);
    assert_eq!(
        ok("first_name eq a or amount eq 1 and is error"),
        Node::Or(vec![a(), Node::And(vec![b(), c()])])
    );
    assert_eq!(
        ok("(first_name eq a or amount eq 1) and is error"),
        Node::And(vec![Node::Or(vec![a(), b()]), c()])
    );
    assert_eq!(
        ok("first_name eq a and amount eq 1 and is error"),
        Node::And(vec![a(), b(), c()])
    );
    assert_eq!(ok("((((first_name eq a))))"), a());
    assert_eq!(ok("first_name eq a OR (is error)"), Node::Or(vec![a(), c()]));
}

#[test]
fn flatfiles_own_examples_parse() {
    for q in [
        "first_name eq Bender and last_name eq Rodriguez",
        "first_name eq \"\"",
        "eq \"Planet Express\"",
        "name eq \"Bender Rodriguez\"",
        "\"First Name\" eq Bender",
        "((age gte 18 and age lte 65) or first_name eq Bender) and is error",
        "email like \"%@gmail.com\" and (status eq \"On-Hold\" or status eq Pending) and logins gt 5",
    ] {
        parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
}

#[test]
fn quotes_and_backslash_escapes_as_flatfile_documents() {
    let value = |q: &str| match parse(q).unwrap().expr {
        Expr::Cond(Cond {
            test: Test::Compare { value, .. },
            ..
        }) => value,
        other => panic!("{other:?}"),
    };
    assert_eq!(value(r#"eq "hello \" world""#), "hello \" world");
    assert_eq!(value(r#"eq 'hello \' world'"#), "hello ' world");
    assert_eq!(value(r#"eq "hello world \\""#), "hello world \\");
    assert_eq!(value(r#"eq "hello \ world""#), "hello \\ world");
    assert_eq!(value(r#"eq "hello \\ world""#), "hello \\ world");
    assert_eq!(value(r#"eq "John \"Johnny\" Doe""#), "John \"Johnny\" Doe");
    // A LIKE escape survives the quotes.
    assert_eq!(value(r#"like "100\%""#), "100\\%");
    // An apostrophe inside a bare word is part of it.
    assert_eq!(value("eq O'Brien"), "O'Brien");
    assert_eq!(value("eq \"a (b) and c\""), "a (b) and c");
    assert_eq!(value("eq \"東京 駅\""), "東京 駅");
}

#[test]
fn errors_say_where_and_what_was_expected() {
    assert_eq!(
        parse("first_name eq Bender and (amount eq )")
            .unwrap_err()
            .message,
        "unexpected \")\" at 37; expected a value"
    );
    let e = parse("first_name eq").unwrap_err();
    assert_eq!(e.message, "unexpected end of query at 14; expected a value");
    assert_eq!(e.pos.column, 14);
    assert_eq!(
        parse("first_name Bender").unwrap_err().message,
        "unexpected \"Bender\" at 12; expected an operator (eq, ne, lt, gt, lte, gte, like, ilike, contains) or is"
    );
    assert!(parse("(amount eq 1")
        .unwrap_err()
        .message
        .contains("\")\" to close the \"(\" at 1"));
    assert!(parse("amount eq 1)")
        .unwrap_err()
        .message
        .starts_with("unexpected \")\" at 12; expected `and`, `or`"));
    assert!(parse("amount eq 1 amount").unwrap_err().message.contains("at 13"));
    assert!(parse("amount eq 1 and")
        .unwrap_err()
        .message
        .contains("end of query at 16; expected a condition"));
    assert!(parse("and amount eq 1")
        .unwrap_err()
        .message
        .starts_with("unexpected \"and\" at 1"));
    assert!(parse("()")
        .unwrap_err()
        .message
        .starts_with("unexpected \")\" at 2"));
    assert!(parse("   ").unwrap_err().message.contains("empty"));
    let e = parse("eq \"never closed").unwrap_err();
    assert_eq!(
        e.message,
        "the quote opened at 4 is never closed; expected a closing \""
    );
    // Positions count characters, not bytes.
    let e = parse("\"Größe\" eq )").unwrap_err();
    assert_eq!(e.pos.column, 12);
    assert_eq!(e.pos.offset, 13);
}

#[test]
fn an_unknown_field_is_named() {
    let e = compile("emial eq x", &fields()).unwrap_err();
    assert!(
        e.message.starts_with("unknown field \"emial\" at 1;"),
        "{}",
        e.message
    );
    assert!(e.message.contains("first_name, amount, joined, active, tags"));
    let e = compile("amount eq 1 and \"Last Name\" is error", &fields()).unwrap_err();
    assert!(
        e.message.starts_with("unknown field \"Last Name\" at 17"),
        "{}",
        e.message
    );
}

#[test]
fn keywords_are_fields_only_when_quoted() {
    let f = vec![FieldSpec {
        key: "is".into(),
        label: "Or".into(),
        kind: Kind::Text,
    }];
    assert_eq!(compile("\"is\" eq x", &f).unwrap(), text(0, Cmp::Eq, "x"));
    assert_eq!(
        compile("\"Or\" is valid", &f).unwrap(),
        Node::Field {
            field: 0,
            status: Status::Valid
        }
    );
    // A keyword in a value's place is the value.
    assert_eq!(compile("\"is\" eq and", &f).unwrap(), text(0, Cmp::Eq, "and"));
}

#[test]
fn bounded_length_depth_and_size() {
    let deep = format!("{}amount eq 1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse(&deep).unwrap_err().message.contains("at most 4096"));
    let nested = format!("{}amount eq 1{}", "(".repeat(40), ")".repeat(40));
    let e = parse(&nested).unwrap_err();
    assert!(e.message.contains("deeper than 32 at 33"), "{}", e.message);
    let fine = format!("{}amount eq 1{}", "(".repeat(32), ")".repeat(32));
    assert!(parse(&fine).is_ok());
    let many = vec!["amount eq 1"; 101].join(" or ");
    assert!(parse(&many).unwrap_err().message.contains("at most 100"));
    let hundred = vec!["a eq 1"; 100].join(" and ");
    assert!(parse(&hundred).is_ok());
    // Parentheses only within the length bound, without conditions, still end cleanly.
    assert!(parse(&"(".repeat(4000)).is_err());
    assert!(parse(&")".repeat(4000)).is_err());
}

#[test]
fn like_matches_as_sql_does() {
    assert!(like_matches("Bender Rodriguez", "Bender%", false));
    assert!(!like_matches("bender rodriguez", "Bender%", false));
    assert!(like_matches("bender rodriguez", "BENDER%", true));
    assert!(like_matches("MÜLLER", "mül%", true));
    assert!(like_matches("abc", "a_c", false));
    assert!(!like_matches("abbc", "a_c", false));
    assert!(like_matches("a@gmail.com", "%@gmail.com", false));
    assert!(!like_matches("a@gmail.co", "%@gmail.com", false));
    assert!(like_matches("100%", "100\\%", false));
    assert!(!like_matches("1000", "100\\%", false));
    assert!(like_matches("a_b", "a\\_b", false));
    assert!(!like_matches("axb", "a\\_b", false));
    assert!(like_matches("", "%", false));
    assert!(!like_matches("", "_", false));
    assert!(like_matches("東京駅", "東_駅", false));
    assert!(like_matches("aXbXc", "%b%c", false));
    assert!(like_matches("mississippi", "%iss%ppi", false));
    assert!(!like_matches("mississippi", "%iss%ppx", false));
    assert!(like_matches("back\\slash", "back\\\\slash", false));
    // No exponential blow-up on many wildcards.
    let text = "a".repeat(5000);
    assert!(!like_matches(&text, &format!("{}b", "%a".repeat(200)), false));
    // A long plain segment against a long cell: their sum, not their product.
    let cell = "a".repeat(200_000);
    assert!(!like_matches(&cell, &format!("%{}b", "a".repeat(4000)), false));
    assert!(like_matches(&cell, &format!("%{}", "a".repeat(4000)), false));
    assert!(like_matches("abcabd", "%abd", false));
    assert!(like_matches("xabcy", "%b_%", false));
    assert!(!like_matches("ab", "a%%b_", false));
    assert!(like_matches("ab", "a%%b", false));
    assert!(like_matches("aaa", "a%a", false));
    assert!(!like_matches("a", "a%a", false));
}

#[test]
fn a_query_compares_a_bounded_number_of_cells() {
    let wide: Vec<FieldSpec> = (0..400)
        .map(|i| FieldSpec {
            key: format!("f{i}"),
            label: format!("F{i}"),
            kind: Kind::Text,
        })
        .collect();
    assert!(compile("eq a or ne b", &wide).is_ok(), "800 comparisons");
    // A LIKE counts as five: 400 fields of one `like` is 2,000.
    let e = compile(r#"like "%a%b%""#, &wide).unwrap_err();
    assert!(e.message.contains("more than 1000 cells"), "{e}");
    assert!(compile(r#"f1 like "%a%b%""#, &wide).is_ok());
    let e = compile("eq a or ne b or f1 eq c or eq d", &wide).unwrap_err();
    assert!(e.message.contains("more than 1000 cells"), "{e}");
    assert_eq!(e.pos.column, 31, "the value of the condition that went over: {e}");
    // Named fields cost one comparison each.
    let named: Vec<String> = (0..100).map(|i| format!("f{i} eq x")).collect();
    assert!(compile(&named.join(" or "), &wide).is_ok());
}

#[test]
fn only_days_of_the_calendar_are_dates() {
    for day in [
        "2024-02-29",
        "2000-02-29",
        "2024-12-31",
        "1000-01-01",
        "1200-02-29",
    ] {
        assert!(super::eval::is_iso_date(day), "{day}");
    }
    for day in [
        "2024-02-30",
        "2023-02-29",
        "1900-02-29",
        "2024-04-31",
        "2024-13-01",
        "2024-1-01",
        "24-01-01",
    ] {
        assert!(!super::eval::is_iso_date(day), "{day}");
    }
}

#[test]
fn like_with_single_character_wildcards_is_linear_and_agrees_with_trying_each_place() {
    use crate::ffql::like_matches;
    // The old way: the segment tried at every place of the text.
    fn naive(text: &str, pattern: &str) -> bool {
        fn go(t: &[char], p: &[char]) -> bool {
            match p.split_first() {
                None => t.is_empty(),
                Some(('%', rest)) => (0..=t.len()).any(|i| go(&t[i..], rest)),
                Some(('_', rest)) => !t.is_empty() && go(&t[1..], rest),
                Some((c, rest)) => t.first() == Some(c) && go(&t[1..], rest),
            }
        }
        go(
            &text.chars().collect::<Vec<_>>(),
            &pattern.chars().collect::<Vec<_>>(),
        )
    }
    let mut seed = 7u64;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for _ in 0..3000 {
        let text: String = (0..next(12)).map(|_| ['a', 'b', 'é'][next(3) as usize]).collect();
        let pattern: String = (0..next(7))
            .map(|_| ['a', 'b', '_', '%', 'é'][next(5) as usize])
            .collect();
        assert_eq!(
            like_matches(&text, &pattern, false),
            naive(&text, &pattern),
            "{text:?} like {pattern:?}"
        );
    }
    // A segment longer than a machine word.
    let long = "ab".repeat(50);
    assert!(like_matches(
        &format!("xx{long}yy"),
        &format!("%{}%", long.replace('b', "_")),
        false
    ));
    // A megabyte cell against a long pattern with `_`: the product of their lengths (10^9
    // steps) took minutes; now a moment.
    let cell = "a".repeat(1 << 20);
    let pattern = format!("%{}b%", "a_".repeat(500));
    let started = std::time::Instant::now();
    assert!(!like_matches(&cell, &pattern, false));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
