//! The mapping screen in Chromium: a column the person points at an enum field shows its
//! values with the option each goes to, as automap's choices do, and what they choose
//! there is what the import writes (probe 62b D3: no rows came, so `Platin` could not be
//! sent to Gold before the import ran).

use crate::browser::wait_for;
use crate::browser_files::{mapping_screen_for, run_import};
use crate::helpers::*;
use crate::on_both;

async fn a_column_pointed_at_an_enum_field_maps_its_values(db: Db) {
    let app = spawn_app(db).await;
    let csv = "E-mail,Kategorie\nada@x.org,Premium\nbob@x.org,Platin\ncy@x.org,silver\n";
    let (driver, contacts) = mapping_screen_for(&app, csv).await;
    let c = &driver.client;

    let column = "document.querySelector(\"select[name='map:kategorie']\")";
    assert_eq!(
        c.execute(&format!("return {column}.value;"), vec![])
            .await
            .unwrap(),
        "",
        "automap does not know Kategorie"
    );
    let point = |field: &'static str| async move {
        c.execute(
            &format!(
                "{column}.value = '{field}'; {column}.dispatchEvent(new Event('change', {{bubbles: true}}));"
            ),
            vec![],
        )
        .await
        .unwrap();
    };
    let rows_now = "document.querySelectorAll(\"select[name^='enum:kategorie:']\").length";
    point("tier").await;
    wait_for(
        c,
        &format!("{rows_now} === 3"),
        "a row for each of the column's three values",
    )
    .await;
    // Pointed at a field that is not an enum, the rows go (nothing would read them); back
    // at Tier, they come again.
    point("name").await;
    wait_for(c, &format!("{rows_now} === 0"), "no rows for a text field").await;
    point("tier").await;
    wait_for(c, &format!("{rows_now} === 3"), "the rows again").await;
    // Each value with the option it reads as; one that reads as none is left for the person.
    let rows = c
        .execute(
            "return Array.from(document.querySelectorAll(\"input[name^='enumsrc:kategorie:']\")).map(function (i) {
               var n = i.name.split(':')[2];
               return i.value + '=' + document.querySelector(\"select[name='enum:kategorie:\" + n + \"']\").value;
             }).sort();",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        rows,
        serde_json::json!(["Platin=", "Premium=gold", "silver=silver"])
    );
    c.execute(
        "var i = Array.from(document.querySelectorAll(\"input[name^='enumsrc:kategorie:']\")).find(function (i) { return i.value === 'Platin'; });
         document.querySelector(\"select[name='enum:kategorie:\" + i.name.split(':')[2] + \"']\").value = 'gold';",
        vec![],
    )
    .await
    .unwrap();
    run_import(c, &[]).await;
    let (_, page) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    let tiers: Vec<(String, bool)> = page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["values"]["tier"]["value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r["values"]["tier"]["valid"] == true,
            )
        })
        .collect();
    let want = [("gold", true), ("gold", true), ("silver", true)];
    assert_eq!(tiers, want.map(|(t, v)| (t.to_string(), v)).to_vec());
}

on_both!(a_column_pointed_at_an_enum_field_maps_its_values);
