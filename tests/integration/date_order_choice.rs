//! A file whose dates read two ways (`03/04/2024`, a UK sheet's): the import's result
//! counts the records it wrote with a warning and links to them, and the person can say on
//! the mapping screen (or in the plan, `dateOrder`) that the file writes days first
//! (probe 66h D9: "all valid" over dates all read month first, with no way to say so).

use crate::api_mapping::{create_map_job, setup};
use crate::bulk_hardening::count;
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

const UK_DATES: &str = "E-mail,Joined\nada@x.org,03/04/2024\nbob@x.org,04/05/2024\ncy@x.org,2024-06-07\n";

async fn joined_dates(app: &TestApp, sheet: &str) -> Vec<Value> {
    let (_, got) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let records = got["data"]["records"].as_array().unwrap();
    records
        .iter()
        .map(|r| r["values"]["joined"]["value"].clone())
        .collect()
}

/// The plan's `fieldMapping` with `dateOrder` set on the edge into `joined`.
fn with_order(plan: &Value, order: Value) -> Value {
    let mut plan = plan.clone();
    for edge in plan["fieldMapping"].as_array_mut().unwrap() {
        if edge["destinationField"]["key"] == "joined" {
            edge["dateOrder"] = order.clone();
        }
    }
    plan
}

async fn run(app: &TestApp, job: &str) -> Value {
    let (status, body) = app.post_json(&format!("/jobs/{job}/execute"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let done = app.wait_job(job).await;
    assert_eq!(done["status"], "complete", "{done}");
    done
}

async fn a_plan_says_which_way_its_dates_read_and_the_result_counts_the_warnings(db: Db) {
    let app = spawn_app(db).await;
    // As proposed: month first, each such date warned, and the result says how many.
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(&app, UK_DATES).await;
    let job = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    let done = run(&app, &job).await;
    assert_eq!(
        done["outcome"]["message"],
        "Mapped 3 records into Contacts, all valid; 2 have warnings to check: Joined (2)",
        "{done}"
    );
    assert_eq!(done["outcome"]["warnedRecords"], 2, "{done}");
    assert_eq!(
        joined_dates(&app, &contacts).await,
        vec![json!("2024-03-04"), json!("2024-04-05"), json!("2024-06-07")]
    );
    assert_eq!(count(&app, &contacts, "is warning").await, 2);

    // Said day first: read so, no warning, and the result says none.
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(&app, UK_DATES).await;
    let job = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    let (_, got) = app.get_json(&format!("/jobs/{job}/plan")).await;
    let plan = got["data"]["plan"].clone();
    // Only `dayFirst` or `monthFirst`, and only for a date field.
    let (status, body) = app
        .put_json(
            &format!("/jobs/{job}/plan"),
            &with_order(&plan, json!("sideways")),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.to_string().contains("dateOrder is \\\"dayFirst\\\""),
        "{body}"
    );
    let mut on_email = plan.clone();
    for edge in on_email["fieldMapping"].as_array_mut().unwrap() {
        if edge["destinationField"]["key"] == "email" {
            edge["dateOrder"] = json!("dayFirst");
        }
    }
    let (status, body) = app.put_json(&format!("/jobs/{job}/plan"), &on_email).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("`email` is no date field"), "{body}");
    let (status, body) = app
        .put_json(
            &format!("/jobs/{job}/plan"),
            &with_order(&plan, json!("dayFirst")),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, kept) = app.get_json(&format!("/jobs/{job}/plan")).await;
    assert!(kept.to_string().contains("\"dateOrder\":\"dayFirst\""), "{kept}");
    let done = run(&app, &job).await;
    assert_eq!(
        done["outcome"]["message"], "Mapped 3 records into Contacts, all valid",
        "{done}"
    );
    assert_eq!(
        joined_dates(&app, &contacts).await,
        vec![json!("2024-04-03"), json!("2024-05-04"), json!("2024-06-07")]
    );
    assert_eq!(count(&app, &contacts, "is warning").await, 0);

    // Said month first against a file whose other dates show day first: as said, unwarned,
    // and the date that can only be day first read so, with a warning saying it is against
    // the order chosen (probe 67f D5: mixed in silently).
    let csv = "E-mail,Joined\nada@x.org,03/04/2024\nbob@x.org,25/12/2024\n";
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(&app, csv).await;
    let job = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    let (_, got) = app.get_json(&format!("/jobs/{job}/plan")).await;
    let plan = with_order(&got["data"]["plan"], json!("monthFirst"));
    let (status, body) = app.put_json(&format!("/jobs/{job}/plan"), &plan).await;
    assert_eq!(status, 200, "{body}");
    run(&app, &job).await;
    let dates = joined_dates(&app, &contacts).await;
    assert_eq!(dates[0], "2024-03-04", "{dates:?}");
    assert_eq!(dates[1], "2024-12-25", "a date that reads one way reads so");
    assert_eq!(count(&app, &contacts, "is warning").await, 1);
    assert_eq!(
        count(&app, &contacts, "joined eq 2024-12-25 and joined is warning").await,
        1
    );
}

async fn the_mapping_screen_offers_day_first_and_links_the_warned_records(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let (space, src_wb, src_sheet, dest_wb, contacts) = setup(&app, UK_DATES).await;
    let csrf = app.csrf(&format!("/spaces/{space}")).await;
    let job = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    let screen = app.page(&format!("/jobs/{job}")).await;
    // Titled by what it does, not `workbook:map` (probe 68b D4).
    assert!(screen.contains("<h1>Import</h1>"), "{screen}");
    assert!(screen.contains("name=\"dateorder:joined\""), "{screen}");
    assert!(
        screen.contains("month first: 03/04/2024 is 4 March 2024"),
        "{screen}"
    );
    assert!(
        screen.contains("day first: 03/04/2024 is 3 April 2024"),
        "{screen}"
    );
    assert!(
        screen.contains("month first if none says, each with a warning"),
        "{screen}"
    );
    // Pointed at the date field by hand, the column's rows bring the same choice.
    let rows = app
        .page(&format!(
            "/jobs/{job}/plan/enum-values?column=joined&map%3Ajoined=joined"
        ))
        .await;
    assert!(rows.contains("name=\"dateorder:joined\""), "{rows}");
    assert!(rows.contains("aria-label=\"Date order for Joined\""), "{rows}");
    // Not for a column going to a text field.
    let rows = app
        .page(&format!(
            "/jobs/{job}/plan/enum-values?column=joined&map%3Ajoined=name"
        ))
        .await;
    assert!(!rows.contains("dateorder"), "{rows}");

    let form = [
        ("csrf_token", csrf.as_str()),
        ("map:e_mail", "email"),
        ("map:joined", "joined"),
        ("dateorder:joined", "dayFirst"),
    ];
    let resp = app
        .client
        .post(app.url(&format!("/jobs/{job}/plan")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(app.wait_job(&job).await["status"], "complete");
    assert_eq!(
        joined_dates(&app, &contacts).await,
        vec![json!("2024-04-03"), json!("2024-05-04"), json!("2024-06-07")]
    );
    let page = app.page(&format!("/jobs/{job}")).await;
    assert!(!page.contains("id=\"job-warned\""), "no warning, no link: {page}");

    // Run as proposed: the result's link opens the grid on the two warned records.
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(&app, UK_DATES).await;
    let job = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    run(&app, &job).await;
    let page = app.page(&format!("/jobs/{job}")).await;
    assert!(page.contains("2 have warnings to check: Joined (2)"), "{page}");
    let start = page
        .find("id=\"job-warned\"")
        .expect("a link to the warned records");
    let anchor = &page[page[..start].rfind("<a ").unwrap()..start];
    let href = anchor.split("href=\"").nth(1).unwrap().split('"').next().unwrap();
    let grid = app.page(&href.replace("&#38;", "&")).await;
    assert!(grid.contains("ada@x.org") && grid.contains("bob@x.org"), "{grid}");
    assert!(!grid.contains("cy@x.org"), "only the warned records: {grid}");
}

on_both!(
    a_plan_says_which_way_its_dates_read_and_the_result_counts_the_warnings,
    the_mapping_screen_offers_day_first_and_links_the_warned_records,
);
