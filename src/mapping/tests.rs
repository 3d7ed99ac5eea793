use super::*;

fn src(labels: &[&str]) -> Vec<SourceColumn> {
    labels
        .iter()
        .map(|l| SourceColumn {
            key: l.to_string(),
            label: l.to_string(),
        })
        .collect()
}

fn field(key: &str, label: &str, alts: &[&str]) -> TargetField {
    TargetField {
        key: key.into(),
        label: label.into(),
        alternative_names: alts.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn normalising_ignores_case_spaces_and_punctuation() {
    assert_eq!(normalise("First Name"), "firstname");
    assert_eq!(normalise("first_name"), "firstname");
    assert_eq!(normalise(" FIRST-NAME. "), "firstname");
    assert_eq!(
        normalise("Prénom"),
        "prenom",
        "accents aside (probe 57a: `Âge` was no `Age`)"
    );
    assert_eq!(normalise("Âge"), "age");
    assert_eq!(normalise("メールアドレス"), "メールアドレス");
}

/// A French export's `Âge` is the Age field, and its column's key `age` (probe 57a: the key
/// was `ge` and nothing was proposed).
#[test]
fn accents_aside_a_header_names_its_field() {
    let targets = [field("age", "Age", &[])];
    assert_eq!(
        score(&src(&["Âge"])[0], &targets[0]),
        Some((Certainty::Strong, 0.95))
    );
    assert_eq!(crate::extract::header::key_of("Âge").as_deref(), Some("age"));
    assert_eq!(
        crate::extract::header::key_of("Prénom Ñandú").as_deref(),
        Some("prenom_nandu")
    );
}

#[test]
fn exact_names_are_absolute_normalised_are_strong() {
    let targets = [
        field("email", "Email", &[]),
        field("firstName", "First name", &["given name"]),
    ];
    assert_eq!(
        score(&src(&["Email"])[0], &targets[0]),
        Some((Certainty::Absolute, 1.0))
    );
    assert_eq!(
        score(&src(&["E-MAIL"])[0], &targets[0]),
        Some((Certainty::Strong, 0.95))
    );
    assert_eq!(
        score(&src(&["first_name"])[0], &targets[1]),
        Some((Certainty::Strong, 0.95))
    );
    assert_eq!(
        score(&src(&["Given Name"])[0], &targets[1]),
        Some((Certainty::Strong, 0.9))
    );
    assert_eq!(score(&src(&["Zip"])[0], &targets[1]), None);
}

#[test]
fn similar_names_are_moderate_or_weak() {
    let t = field("phoneNumber", "Phone number", &[]);
    let (c, conf) = score(&src(&["Phone numbers"])[0], &t).unwrap();
    assert_eq!(c, Certainty::Moderate);
    assert!((MODERATE_AT..1.0).contains(&conf));
    let t = field("favourite_colour", "Favourite colour", &[]);
    let (c, _) = score(&src(&["Favorite color"])[0], &t).unwrap();
    assert_eq!(c, Certainty::Weak);
}

#[test]
fn automap_never_maps_two_columns_to_one_field() {
    let sources = src(&["Email", "E-mail", "Name", "Unrelated"]);
    let targets = [field("email", "Email", &[]), field("name", "Name", &[])];
    let m = automap(&sources, &targets);
    assert_eq!(m.len(), 2);
    assert_eq!(
        (m[0].source, m[0].target, m[0].certainty),
        (0, 0, Certainty::Absolute)
    );
    assert_eq!((m[1].source, m[1].target), (2, 1));
}

#[test]
fn the_better_pair_wins_a_contested_field() {
    let sources = src(&["Emails", "email"]);
    let targets = [field("email", "Email", &[])];
    let m = automap(&sources, &targets);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].source, 1);
}

#[test]
fn enum_values_map_by_value_label_alternative_and_similarity() {
    let options = [
        EnumChoice {
            value: "gold".into(),
            label: "Gold".into(),
            alternative_names: vec!["premium".into()],
        },
        EnumChoice {
            value: "silver".into(),
            label: "Silver tier".into(),
            alternative_names: vec![],
        },
    ];
    let values: Vec<String> = ["GOLD", "Premium", "silver-tier", "Silver tie", "bronze"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let got: Vec<Option<String>> = map_enum_values(&values, &options)
        .into_iter()
        .map(|(_, o)| o)
        .collect();
    assert_eq!(
        got,
        vec![
            Some("gold".into()),
            Some("gold".into()),
            Some("silver".into()),
            Some("silver".into()),
            None
        ]
    );
}

#[test]
fn fingerprints_ignore_order_and_case() {
    assert_eq!(
        header_fingerprint(["Name", "E-mail"]),
        header_fingerprint(["email", "NAME"])
    );
    assert_ne!(header_fingerprint(["Name"]), header_fingerprint(["Name", "Age"]));
}

#[test]
fn opposites_other_kinds_and_remarks() {
    let subscribed = field("subscribed", "Subscribed", &[]);
    for name in [
        "Unsubscribed",
        "Not subscribed",
        "is_unsubscribed",
        "Non subscribed",
    ] {
        assert_eq!(score(&src(&[name])[0], &subscribed), None, "{name}");
    }
    let kind = score(&src(&["Subscribed Date"])[0], &subscribed);
    assert!(kind.is_none_or(|(c, _)| c == Certainty::Weak), "{kind:?}");
    let active = field("active", "Active", &[]);
    assert_eq!(score(&src(&["Inactive"])[0], &active), None);
    let age = field("age", "Age", &[]);
    assert_eq!(
        score(&src(&["AGE (years)"])[0], &age),
        Some((Certainty::Strong, 0.9))
    );
    // Words that merely start like a negation stay themselves.
    let t = field("income", "Income", &[]);
    assert!(score(&src(&["Incomes"])[0], &t).is_some());
    let mapped = automap(&src(&["Unsubscribed", "Subscribed"]), &[subscribed]);
    assert_eq!(mapped.len(), 1);
    assert_eq!(mapped[0].source, 1);
}

/// Source column label -> target key, as `automap` pairs them.
fn pairs(sources: &[&str], targets: &[TargetField]) -> Vec<(String, String)> {
    let sources = src(sources);
    automap(&sources, targets)
        .into_iter()
        .map(|m| (sources[m.source].label.clone(), targets[m.target].key.clone()))
        .collect()
}

#[test]
fn a_column_about_a_value_never_takes_the_value_field() {
    // Google Contacts: each value's label or type comes first.
    let targets = [
        field("email", "Email", &[]),
        field("phone", "Phone", &[]),
        field("street", "Street address", &[]),
    ];
    let google = [
        "E-mail 1 - Label",
        "E-mail 1 - Value",
        "Phone 1 - Type",
        "Phone 1 - Value",
        "Address 1 - Label",
        "Address 1 - Formatted",
        "Address 1 - Street",
    ];
    assert_eq!(
        pairs(&google, &targets),
        vec![
            ("E-mail 1 - Value".to_string(), "email".to_string()),
            ("Phone 1 - Value".into(), "phone".into()),
            ("Address 1 - Street".into(), "street".into()),
        ]
    );
    // A column that only mentions the field, before the real one.
    let people = [
        field("email", "Email", &[]),
        field("first_name", "First name", &[]),
        field("job_title", "Job title", &[]),
    ];
    let got = pairs(
        &[
            "Email Client",
            "First Purchase Date",
            "Job Function",
            "Email Address",
            "Given Name",
            "Position",
        ],
        &people,
    );
    assert_eq!(
        got,
        vec![
            ("Email Address".to_string(), "email".to_string()),
            ("Given Name".into(), "first_name".into()),
            ("Position".into(), "job_title".into()),
        ]
    );
    for about in [
        "Email Opt Out",
        "Notes Count",
        "Signup IP",
        "Email Status",
        "City Code",
    ] {
        assert_eq!(concepts::concept_of(about), None, "{about}");
    }
}

#[test]
fn a_billing_column_never_fills_a_shipping_field() {
    let targets = [
        field("shipping_postal_code", "Shipping postal code", &[]),
        field("shipping_city", "Shipping city", &[]),
    ];
    let shop = ["Billing Zip", "Billing City", "Shipping Zip", "Shipping City"];
    assert_eq!(
        pairs(&shop, &targets),
        vec![
            ("Shipping Zip".to_string(), "shipping_postal_code".to_string()),
            ("Shipping City".into(), "shipping_city".into()),
        ]
    );
    assert_eq!(score(&src(&["Billing Postcode"])[0], &targets[0]), None);
    // A field that names no side takes either; the home address before the business one.
    let street = [field("street", "Street address", &[]), field("city", "City", &[])];
    let outlook = ["Business Street", "Business City", "Home Street", "Home City"];
    assert_eq!(
        pairs(&outlook, &street),
        vec![
            ("Home Street".to_string(), "street".to_string()),
            ("Home City".into(), "city".into())
        ]
    );
}

/// Probe 43: among an order's status and amount columns, the order's own wins whatever the
/// order of the columns; a status of something else alone is a guess; columns marked as
/// not the value take nothing; one address's parts.
#[test]
fn the_orders_own_column_wins_and_addresses_are_not_mixed() {
    let orders = vec![
        field("status", "Status", &[]),
        field("total", "Total", &[]),
        field("tax", "Tax", &[]),
        field("tracking_number", "Tracking number", &[]),
        field("order_date", "Order date", &[]),
        field("payment_method", "Payment method", &[]),
    ];
    let got = pairs(
        &[
            "Shipping Status",
            "Order Status",
            "Line Total",
            "Order Total",
            "Line Tax",
            "Order Tax",
            "Return Tracking Number",
            "Order Date (do not use)",
            "Payment Method Fee",
        ],
        &orders,
    );
    assert_eq!(
        got,
        vec![
            ("Order Status".to_string(), "status".to_string()),
            ("Order Total".to_string(), "total".to_string()),
            ("Order Tax".to_string(), "tax".to_string()),
        ]
    );
    let alone = automap(&src(&["Payment Status"]), &orders);
    assert_eq!(alone.len(), 1);
    assert_eq!(alone[0].certainty, Certainty::Weak, "{alone:?}");

    let contacts = vec![
        field("street", "Street", &[]),
        field("city", "City", &[]),
        field("postal_code", "Postal code", &[]),
        field("country", "Country", &[]),
    ];
    let got = pairs(
        &[
            "Business Street",
            "Business City",
            "Business Country/Region",
            "Home Street",
            "Home City",
            "Home Postal Code",
        ],
        &contacts,
    );
    assert_eq!(
        got,
        vec![
            ("Home Street".to_string(), "street".to_string()),
            ("Home City".to_string(), "city".to_string()),
            ("Home Postal Code".to_string(), "postal_code".to_string()),
        ],
        "the business country is not a home address's"
    );
}

/// Probe 54b 1 and 3: a party's number is no phone, and a column in another unit than the
/// field's is a guess at most (the real phone column and the same unit win).
#[test]
fn a_party_number_is_no_phone_and_another_unit_is_a_guess() {
    let phone = field("phone", "Phone", &[]);
    for header in ["Customer Number", "Member No", "Employee Number"] {
        assert_eq!(score(&src(&[header])[0], &phone), None, "{header}");
    }
    let m = automap(
        &src(&["Employee Number", "Work Phone"]),
        std::slice::from_ref(&phone),
    );
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].source, 1, "Work Phone is the phone");

    let weight = field("weight", "Weight (kg)", &[]);
    assert_eq!(
        score(&src(&["Weight (lbs)"])[0], &weight),
        Some((Certainty::Weak, WEAK_AT))
    );
    let (certainty, _) = score(&src(&["Weight [kg]"])[0], &weight).unwrap();
    assert_eq!(certainty, Certainty::Strong);
    let (certainty, _) = score(&src(&["Weight"])[0], &weight).unwrap();
    assert!(certainty > Certainty::Weak);
}

/// Probe 54b 6 and 11: a file's column key says less than its header (`Item #` is keyed
/// `item`), and a second one of a kind (`Email 2`, `Price 2`) is a guess at most, unless the
/// field is numbered alike.
fn file_column(header: &str) -> SourceColumn {
    SourceColumn {
        key: crate::extract::header::key_of(header).unwrap(),
        label: header.to_string(),
    }
}

#[test]
fn a_file_column_is_its_header_and_a_second_one_is_a_guess() {
    let name = field("name", "Product Name", &[]);
    let sources = [file_column("Item #"), file_column("Item")];
    let m = automap(&sources, std::slice::from_ref(&name));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].source, 1, "Item is the name, Item # its number");
    let price = field("price", "Price", &[]);
    assert_ne!(
        score(&file_column("Price [€]"), &price).unwrap().0,
        Certainty::Absolute
    );
    assert_eq!(
        score(&file_column("Price 2"), &price),
        Some((Certainty::Weak, WEAK_AT))
    );
    let email = field("email", "Email", &[]);
    assert_eq!(
        score(&file_column("Email 2"), &email),
        Some((Certainty::Weak, WEAK_AT))
    );
    let (certainty, _) = score(
        &file_column("Address 2"),
        &field("address2", "Address line 2", &[]),
    )
    .unwrap();
    assert!(certainty > Certainty::Weak);
    // A sheet's own key still counts when it says more than its label.
    let given = SourceColumn {
        key: "email".into(),
        label: "Contact".into(),
    };
    assert_eq!(score(&given, &email), Some((Certainty::Absolute, 1.0)));
}

/// `Full Name` is a sheet's plain `Name` field, as sure a guess as `E-mail` for `Email`
/// (probe 57a: only a weak guess, like `Last Name` or `File Name`).
#[test]
fn a_whole_name_is_the_plain_name_field() {
    let name = field("name", "Name", &[]);
    for header in [
        "Full Name",
        "full_name",
        "FullName",
        "Complete name",
        "Nom complet",
        "Nombre completo",
    ] {
        assert_eq!(
            score(&src(&[header])[0], &name).map(|(c, _)| c),
            Some(Certainty::Strong),
            "{header}"
        );
    }
    for header in [
        "Last Name",
        "File Name",
        "Username",
        "Company Name",
        "Customer Name",
    ] {
        assert!(
            score(&src(&[header])[0], &name).is_none_or(|(c, _)| c == Certainty::Weak),
            "{header}"
        );
    }
    let sources = src(&["Last Name", "Full Name", "File Name"]);
    let m = automap(&sources, &[name]);
    assert_eq!((m[0].source, m[0].certainty), (1, Certainty::Strong));
}

/// A first day's ordinary headers (probe 62b D4): `Stufe` and `Level` are the tier,
/// `Punkte` the score, and a reference's `<label> <target key>` names it.
#[test]
fn tiers_scores_and_a_references_key_are_named() {
    let targets = [
        field("tier", "Tier", &[]),
        field("score", "Score", &[]),
        field("company", "Company", &["Company code"]),
    ];
    for (header, want) in [
        ("Stufe", 0),
        ("Level", 0),
        ("Punkte", 1),
        ("Loyalty Points", 1),
        ("Company Code", 2),
    ] {
        let found = automap(&src(&[header]), &targets);
        assert_eq!(found.len(), 1, "{header}: {found:?}");
        assert_eq!(found[0].target, want, "{header}");
        assert!(found[0].certainty >= Certainty::Strong, "{header}: {found:?}");
    }
}
