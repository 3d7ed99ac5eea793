//! Country names in an import (probe 74c D4): `USA` and `UK` in a file map onto the
//! options `US` / `United States` and `GB` / `United Kingdom`, as `Canada` maps onto `CA`,
//! and the records arrive valid.

use crate::api_mapping::edge;
use crate::helpers::*;
use crate::map_helpers::{map_job_for, run_job};
use crate::on_both;
use serde_json::json;

async fn everyday_country_names_map_onto_their_options(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Countries").await;
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Dest", "spaceId": space, "sheets": [{"name": "Customers", "slug": "customers", "fields": [
                {"key": "name", "type": "string", "label": "Name"},
                {"key": "country", "type": "enum", "label": "Country", "config": {"options": [
                    {"value": "US", "label": "United States"}, {"value": "CA", "label": "Canada"},
                    {"value": "DE", "label": "Germany"}, {"value": "GB", "label": "United Kingdom"},
                    {"value": "UA", "label": "Ukraine"}]}}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let dest_wb = wb["data"]["id"].as_str().unwrap().to_string();
    let dest = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let csv = "Name,Country\na,USA\nb,UK\nc,Canada\nd,U.S.\ne,Great Britain\nf,Narnia\n";
    let job = map_job_for(
        &app,
        &space,
        "customers.csv",
        csv.as_bytes().to_vec(),
        &dest_wb,
        &dest,
    )
    .await;
    let (status, got) = app.get_json(&format!("/jobs/{job}/plan")).await;
    assert_eq!(status, 200, "{got}");
    let country = edge(&got["data"]["plan"], "Country").expect("Country mapped");
    let mut pairs: Vec<(String, String)> = country["enumDetails"]["mapping"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let side = |k: &str| p[k].as_str().unwrap().to_string();
            (side("sourceValue"), side("destinationValue"))
        })
        .collect();
    pairs.sort();
    let want = [
        ("Canada", "CA"),
        ("Great Britain", "GB"),
        ("U.S.", "US"),
        ("UK", "GB"),
        ("USA", "US"),
    ];
    let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(pairs, want);
    assert_eq!(country["enumDetails"]["unusedSourceValues"], json!(["Narnia"]));
    assert_eq!(run_job(&app, &job).await["status"], "complete");
    let (_, counts) = app.get_json(&format!("/sheets/{dest}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 6, "{counts}");
    assert_eq!(counts["data"]["counts"]["error"], 1, "only Narnia: {counts}");
}

on_both!(everyday_country_names_map_onto_their_options);
