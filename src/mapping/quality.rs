//! Automap quality on real-world headers (testdata/headers.txt: 200+ variants from CRM,
//! shop, mail-tool, address-book and hand-made exports) against a typical contacts sheet.
//! Run `cargo test --lib automap_quality -- --nocapture` to see the figures.

use super::*;

/// A typical contacts sheet: keys and labels only, no alternative names, as most
/// blueprints are written.
const CONTACTS: [(&str, &str); 15] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("company", "Company"),
    ("job_title", "Job title"),
    ("street", "Street address"),
    ("city", "City"),
    ("region", "State / Region"),
    ("postal_code", "Postal code"),
    ("country", "Country"),
    ("birth_date", "Date of birth"),
    ("website", "Website"),
    ("signup_date", "Signup date"),
    ("notes", "Notes"),
];

/// A typical orders sheet (one row per order line), keys and labels only.
const ORDERS: [(&str, &str); 20] = [
    ("order_id", "Order ID"),
    ("order_date", "Order date"),
    ("customer_name", "Customer name"),
    ("customer_email", "Customer email"),
    ("sku", "SKU"),
    ("product_name", "Product name"),
    ("quantity", "Quantity"),
    ("unit_price", "Unit price"),
    ("discount", "Discount"),
    ("tax", "Tax"),
    ("total", "Total"),
    ("currency", "Currency"),
    ("status", "Status"),
    ("payment_method", "Payment method"),
    ("shipping_address", "Shipping address"),
    ("shipping_city", "Shipping city"),
    ("shipping_postal_code", "Shipping postal code"),
    ("shipping_country", "Shipping country"),
    ("tracking_number", "Tracking number"),
    ("notes", "Notes"),
];

/// A typical products sheet and a typical staff sheet (probe 54b's), keys and labels only.
const PRODUCTS: [(&str, &str); 11] = [
    ("sku", "SKU"),
    ("name", "Product Name"),
    ("description", "Description"),
    ("price", "Price"),
    ("costPrice", "Cost Price"),
    ("weight", "Weight (kg)"),
    ("category", "Category"),
    ("stock", "Stock"),
    ("barcode", "Barcode"),
    ("brand", "Brand"),
    ("active", "Active"),
];

const STAFF: [(&str, &str); 13] = [
    ("employeeId", "Employee ID"),
    ("firstName", "First Name"),
    ("lastName", "Last Name"),
    ("email", "Work Email"),
    ("personalEmail", "Personal Email"),
    ("department", "Department"),
    ("jobTitle", "Job Title"),
    ("startDate", "Start Date"),
    ("birthDate", "Date of Birth"),
    ("salary", "Annual Salary"),
    ("manager", "Manager"),
    ("phone", "Phone"),
    ("endDate", "Termination Date"),
];

/// Each export's headers and the field each should map to (`None`: no field fits).
fn exports(text: &str) -> Vec<Vec<(String, Option<String>)>> {
    let mut out = vec![Vec::new()];
    for line in text.lines() {
        if line.trim().is_empty() {
            if !out.last().is_some_and(Vec::is_empty) {
                out.push(Vec::new());
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (header, key) = line.split_once('\t').expect("header<TAB>key");
        let key = (key != "-").then(|| key.to_string());
        out.last_mut().expect("a group").push((header.to_string(), key));
    }
    out.retain(|e| !e.is_empty());
    out
}

#[derive(Debug, Default)]
struct Figures {
    headers: usize,
    expected: usize,
    proposed: usize,
    correct: usize,
    wrong_above_weak: Vec<String>,
    missed: Vec<String>,
    wrong: Vec<String>,
}

fn measure(text: &str) -> Figures {
    measure_on(&CONTACTS, text)
}

/// A sheet's fields as `automap` takes them: keys and labels, no alternative names.
fn targets_of(sheet: &[(&str, &str)]) -> Vec<TargetField> {
    sheet
        .iter()
        .map(|(k, l)| TargetField {
            key: k.to_string(),
            label: l.to_string(),
            alternative_names: Vec::new(),
        })
        .collect()
}

/// A file's columns as `automap` takes them: each header its own key.
fn sources_of<'a>(headers: impl IntoIterator<Item = &'a str>) -> Vec<SourceColumn> {
    headers
        .into_iter()
        .map(|h| SourceColumn {
            key: h.to_string(),
            label: h.to_string(),
        })
        .collect()
}

fn measure_on(sheet: &[(&str, &str)], text: &str) -> Figures {
    let targets = targets_of(sheet);
    let mut f = Figures::default();
    for export in exports(text) {
        let sources = sources_of(export.iter().map(|(h, _)| h.as_str()));
        let matches = automap(&sources, &targets);
        f.headers += export.len();
        f.expected += export.iter().filter(|(_, k)| k.is_some()).count();
        for (i, (header, want)) in export.iter().enumerate() {
            let got = matches.iter().find(|m| m.source == i);
            match (got, want) {
                (Some(m), Some(w)) if &targets[m.target].key == w => f.correct += 1,
                (Some(m), _) => {
                    let line = format!("{header} -> {} ({:?})", targets[m.target].key, m.certainty);
                    if m.certainty > Certainty::Weak {
                        f.wrong_above_weak.push(line.clone());
                    }
                    f.wrong.push(line);
                    if let Some(w) = want {
                        f.missed.push(format!("{header} (wanted {w})"));
                    }
                }
                (None, Some(w)) => f.missed.push(format!("{header} (wanted {w})")),
                (None, None) => {}
            }
            if got.is_some() {
                f.proposed += 1;
            }
        }
    }
    f
}

impl Figures {
    fn precision(&self) -> f64 {
        self.correct as f64 / self.proposed.max(1) as f64
    }

    fn recall(&self) -> f64 {
        self.correct as f64 / self.expected.max(1) as f64
    }

    fn print(&self, name: &str) {
        println!(
            "{name}: {} headers ({} to map): {} proposed, {} right; precision {:.1}%, recall {:.1}%",
            self.headers,
            self.expected,
            self.proposed,
            self.correct,
            self.precision() * 100.0,
            self.recall() * 100.0
        );
        println!("  wrong: {:?}\n  missed: {:?}", self.wrong, self.missed);
    }
}

#[test]
fn automap_quality() {
    let f = measure(include_str!("testdata/headers.txt"));
    f.print("automap, test set");
    assert!(f.headers >= 200, "the test set holds {} headers", f.headers);
    assert!(f.precision() >= 0.95, "precision {:.3}", f.precision());
    assert!(f.recall() >= 0.90, "recall {:.3}", f.recall());
    assert!(
        f.wrong_above_weak.is_empty(),
        "wrong edges above weak: {:#?}",
        f.wrong_above_weak
    );
}

/// A held-out set: precision must hold and no wrong edge may be above `weak`; recall is
/// reported.
fn check_held_out(name: &str, text: &str) {
    check_held_out_on(&CONTACTS, name, text)
}

fn check_held_out_on(sheet: &[(&str, &str)], name: &str, text: &str) {
    let f = measure_on(sheet, text);
    f.print(name);
    assert!(f.precision() >= 0.95, "{name}: precision {:.3}", f.precision());
    assert!(
        f.wrong_above_weak.is_empty(),
        "{name}: wrong edges above weak: {:#?}",
        f.wrong_above_weak
    );
}

/// Headers the concepts were not built from at first (seen while changing them since).
#[test]
fn automap_quality_on_held_out_headers() {
    check_held_out("automap, held out", include_str!("testdata/headers_holdout.txt"));
}

/// A second set, written before the change of 2026-11-30 (its misses were seen then).
#[test]
fn automap_quality_on_second_held_out_headers() {
    check_held_out(
        "automap, held out 2",
        include_str!("testdata/headers_holdout2.txt"),
    );
}

/// A third set, written after that change and measured once: the honest held-out figure.
#[test]
fn automap_quality_on_third_held_out_headers() {
    check_held_out(
        "automap, held out 3",
        include_str!("testdata/headers_holdout3.txt"),
    );
}

/// A fourth set of exports automap had not seen (Salesforce, HubSpot, Shopify, Mailchimp,
/// Google Contacts, Pipedrive and a hand-made sheet).
#[test]
fn automap_quality_on_fourth_held_out_headers() {
    check_held_out(
        "automap, held out 4",
        include_str!("testdata/headers_holdout4.txt"),
    );
}

/// A fifth set (Zoho, Stripe, WooCommerce, Klaviyo, LinkedIn, QuickBooks, Eventbrite, an
/// Italian and a Brazilian sheet, a hand-made form), measured once before any change.
#[test]
fn automap_quality_on_fifth_held_out_headers() {
    check_held_out(
        "automap, held out 5",
        include_str!("testdata/headers_holdout5.txt"),
    );
}

/// A sixth set (Freshsales, Intercom, ActiveCampaign, Square, BigCommerce, Magento, Brevo,
/// Typeform, Calendly, Wix, Xero, Gumroad, Notion, a Swedish and a Polish sheet, hand-made
/// lists), written after the changes of the sets above; measured once as written (96.8%,
/// 80.7%) and then used for a change.
#[test]
fn automap_quality_on_sixth_held_out_headers() {
    check_held_out(
        "automap, held out 6",
        include_str!("testdata/headers_holdout6.txt"),
    );
}

/// A seventh set (Outlook, Zendesk, Close, Keap, Constant Contact, Odoo, SugarCRM, Etsy,
/// Jotform, Google Forms, a Portuguese, a Japanese and a Turkish sheet, a wedding guest
/// list, an alumni list in capitals, a legacy system's abbreviations), written by a session
/// that had seen neither the matching rules nor the other sets; measured once as written
/// (97.9%, 70.6%) and then used for a change.
#[test]
fn automap_quality_on_seventh_held_out_headers() {
    check_held_out(
        "automap, held out 7",
        include_str!("testdata/headers_holdout7.txt"),
    );
}

/// An eighth set (48 exports of 23 families, five languages, and headers that only mention a
/// field), written by probe 42c without the rules' history.
#[test]
fn automap_quality_on_eighth_held_out_headers() {
    check_held_out(
        "automap, held out 8",
        include_str!("testdata/headers_holdout8.txt"),
    );
}

/// A ninth set, of order exports (41 exports of shops, marketplaces, payment and accounting
/// tools, hand-made sheets, German, French, Spanish and Dutch) onto an orders sheet, written
/// by a session that had seen neither the rules nor the other sets. As written: precision
/// 91.8%, recall 52.5% (automap knew contacts only). Its wrong edges above weak are where
/// an export holds two columns for one field and the set chose the other (`Receipt Number`
/// or `Transaction ID`, `Grand Total (Base)` or `(Purchased)`, a `Description` as notes or
/// product): they are counted in the precision, and kept few.
#[test]
fn automap_quality_on_orders() {
    let f = measure_on(&ORDERS, include_str!("testdata/headers_orders9.txt"));
    f.print("automap, orders (held out 9)");
    assert!(f.precision() >= 0.95, "precision {:.3}", f.precision());
    assert!(f.recall() >= 0.90, "recall {:.3}", f.recall());
    assert!(
        f.wrong_above_weak.len() * 20 <= f.proposed,
        "{} wrong edges above weak of {} proposed: {:#?}",
        f.wrong_above_weak.len(),
        f.proposed,
        f.wrong_above_weak
    );
}

/// The ninth set's contacts half: 30 exports in German, French, Spanish, Italian, Dutch,
/// Portuguese, Polish and Swedish, and four mixing English with a local language. As
/// written: precision 96.2%, recall 68.6%, with wrong edges above weak.
#[test]
fn automap_quality_on_international_contacts() {
    check_held_out(
        "automap, international contacts (held out 9)",
        include_str!("testdata/headers_intl9.txt"),
    );
}

/// Probe 54b's products and staff exports (English, German, French, Spanish, Dutch and
/// hand-made), written without the rules. As measured by the probe on the server: products
/// precision 90.0%, recall 28.6%; staff 97.7%, 56.0% (automap knew contacts and orders
/// only). With the products and staff vocabulary, added from these sets' misses (so a
/// regression set, not a held-out one): products 100% / 92.1%, staff 100% / 98.7%.
#[test]
fn automap_quality_on_products_and_staff() {
    for (name, sheet, text) in [
        (
            "automap, products (set 54)",
            &PRODUCTS[..],
            include_str!("testdata/headers_products54.txt"),
        ),
        (
            "automap, staff (set 54)",
            &STAFF[..],
            include_str!("testdata/headers_staff54.txt"),
        ),
    ] {
        let f = measure_on(sheet, text);
        f.print(name);
        assert!(f.precision() >= 0.95, "{name}: precision {:.3}", f.precision());
        assert!(f.recall() >= 0.90, "{name}: recall {:.3}", f.recall());
        assert!(f.wrong_above_weak.is_empty(), "{name}: {:#?}", f.wrong_above_weak);
    }
}

/// What `automap` proposes for each header on `sheet`: (header, target key, certainty).
fn proposals(sheet: &[(&str, &str)], headers: &[&str]) -> Vec<(String, String, Certainty)> {
    let targets = targets_of(sheet);
    automap(&sources_of(headers.iter().copied()), &targets)
        .into_iter()
        .map(|m| {
            (
                headers[m.source].to_string(),
                targets[m.target].key.clone(),
                m.certainty,
            )
        })
        .collect()
}

/// Names one unlike word apart are other fields, whatever letters they share (probe 54b 7,
/// 8): a second first name is no last name, a shipping cost no shipping country.
#[test]
fn near_names_one_word_apart_are_other_fields() {
    let got = proposals(&CONTACTS, &["First Name", "First Name (2)", "Email"]);
    println!("{got:?}");
    assert!(
        !got.iter()
            .any(|(h, k, _)| h == "First Name (2)" && k == "last_name"),
        "{got:?}"
    );
    let got = proposals(&ORDERS, &["Order ID", "Shipping cost (EUR)", "Ship Country"]);
    println!("{got:?}");
    assert!(
        !got.iter()
            .any(|(h, k, _)| h == "Shipping cost (EUR)" && k == "shipping_country"),
        "{got:?}"
    );
    // What differs only in letters, a start, or numbers is still proposed.
    let got = proposals(&ORDERS, &["Ship Country", "Qty"]);
    assert!(
        got.iter()
            .any(|(h, k, _)| h == "Ship Country" && k == "shipping_country"),
        "{got:?}"
    );
}
