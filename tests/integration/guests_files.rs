//! Guests and files: a guest uploads, maps and downloads in its own spaces (with its
//! token on the JSON API and with its browser session on the pages), and reaches nothing
//! of another space's files and jobs, leaving nothing behind when refused.

use crate::api_files::stored_files;
use crate::helpers::*;
use crate::on_both;
use reqwest::Method;
use serde_json::{json, Value};

const CSV: &str = "E-mail,Full Name\nada@x.org,Ada\nbob@x.org,Bob\n";

fn csv_part(name: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(CSV.as_bytes().to_vec()).file_name(name.to_string())
}

/// A JSON API request with a guest token.
fn as_guest(app: &TestApp, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.client
        .request(method, app.url(&format!("/v1{path}")))
        .bearer_auth(token)
}

/// Waits for a job as `token` sees it.
async fn wait_as(app: &TestApp, token: &str, job: &str) -> Value {
    for _ in 0..1200 {
        let (status, j) = send(as_guest(app, token, Method::GET, &format!("/jobs/{job}"))).await;
        assert_eq!(status, 200, "{j}");
        if ["complete", "failed", "canceled"].contains(&j["data"]["status"].as_str().unwrap_or("")) {
            return j["data"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("job {job} did not finish");
}

async fn a_guest_token_uploads_maps_and_downloads_in_its_own_space_only(db: Db) {
    let app = spawn_app(db).await;
    let a = app.space_from_blueprint().await;
    let b = app.space_from_blueprint().await;
    let (sa, sb) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let contacts_a = app.sheet_id(&a, "contacts").await;
    let contacts_b = app.sheet_id(&b, "contacts").await;
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={sb}")).await;
    let dest_b = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={sa}")).await;
    let dest_a = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let theirs = app
        .upload_and_extract(sb, "theirs.csv", CSV.as_bytes().to_vec())
        .await;
    let their_file = theirs["id"].as_str().unwrap().to_string();
    let (_, their_jobs) = app.get_json(&format!("/jobs?fileId={their_file}")).await;
    let their_job = their_jobs["data"][0]["id"].as_str().unwrap().to_string();

    let token = crate::job_helpers::guest_token_as(&app, sa, "g@x.io").await;
    let guest = |m: Method, p: &str| as_guest(&app, &token, m, p);

    // Its own upload, with the space named before the file, as @flatfile/api sends it.
    let form = reqwest::multipart::Form::new()
        .text("spaceId", sa.to_string())
        .part("file", csv_part("mine.csv"));
    let (status, mine) = send(guest(Method::POST, "/files").multipart(form)).await;
    assert_eq!(status, 200, "{mine}");
    let file = mine["data"]["id"].as_str().unwrap().to_string();
    let (status, jobs) = send(guest(Method::GET, &format!("/jobs?fileId={file}"))).await;
    assert_eq!(status, 200, "{jobs}");
    let extract = wait_as(&app, &token, jobs["data"][0]["id"].as_str().unwrap()).await;
    assert_eq!(extract["status"], "complete", "{extract}");

    // Its lists hold its own space's files and jobs, nothing of the other space.
    let (_, files) = send(guest(Method::GET, "/files")).await;
    let names: Vec<&str> = files["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["mine.csv"], "{files}");
    assert_eq!(files["pagination"]["totalCount"], 1);
    let (_, jobs) = send(guest(Method::GET, "/jobs")).await;
    assert!(
        jobs["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["spaceId"] == sa),
        "{jobs}"
    );
    assert_eq!(jobs["data"].as_array().unwrap().len(), 1, "{jobs}");

    // It maps the file onto its space's contacts sheet and runs the job.
    let (_, f) = send(guest(Method::GET, &format!("/files/{file}"))).await;
    let src_wb = f["data"]["workbookId"].as_str().unwrap().to_string();
    let (_, wb) = send(guest(Method::GET, &format!("/workbooks/{src_wb}"))).await;
    let src_sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let map = |dest: &str, dest_sheet: &str| {
        json!({"type": "workbook", "operation": "map", "source": src_wb, "destination": dest,
               "config": {"sourceSheetId": src_sheet, "destinationSheetId": dest_sheet}})
    };
    let (status, job) = send(guest(Method::POST, "/jobs").json(&map(&dest_a, &contacts_a))).await;
    assert_eq!(status, 200, "{job}");
    let job = job["data"]["id"].as_str().unwrap().to_string();
    let (status, plan) = send(guest(Method::GET, &format!("/jobs/{job}/plan"))).await;
    assert_eq!(status, 200, "{plan}");
    // A plan keeps keys beyond its edges, which listeners read: none may name another
    // space's object (probe 59d D6).
    let (status, body) = send(
        guest(Method::PATCH, &format!("/jobs/{job}/plan"))
            .json(&json!({"fieldMapping": [{"sourceField": {"key": "email"}, "destinationField": {"key": "email"}, "note": format!("copy to {contacts_b}")}]})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("not of your spaces"), "{body}");
    let (status, _) = send(guest(Method::POST, &format!("/jobs/{job}/execute"))).await;
    assert_eq!(status, 200);
    assert_eq!(wait_as(&app, &token, &job).await["status"], "complete");
    let emails: Vec<String> = app
        .sheet_rows(&contacts_a)
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(emails, vec!["ada@x.org", "bob@x.org"]);

    // It downloads what it sent.
    let resp = guest(Method::GET, &format!("/files/{file}/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), CSV);

    // The other space: not found, whichever way it is asked, and nothing is stored.
    let stored = stored_files(&app);
    for form in [
        reqwest::multipart::Form::new()
            .text("spaceId", sb.to_string())
            .part("file", csv_part("x.csv")),
        reqwest::multipart::Form::new()
            .part("file", csv_part("x.csv"))
            .text("spaceId", sb.to_string()),
    ] {
        let (status, body) = send(guest(Method::POST, "/files").multipart(form)).await;
        assert_eq!(status, 404, "{body}");
    }
    assert_eq!(stored_files(&app), stored, "a refused upload leaves no bytes");
    let (_, theirs_now) = app.get_json(&format!("/files?spaceId={sb}")).await;
    assert_eq!(theirs_now["pagination"]["totalCount"], 1, "{theirs_now}");
    for path in [
        format!("/files?spaceId={sb}"),
        format!("/jobs?spaceId={sb}"),
        format!("/files/{their_file}"),
        format!("/files/{their_file}/download"),
        format!("/files/{their_file}/rejects"),
        format!("/jobs/{their_job}"),
        format!("/jobs/{their_job}/plan"),
    ] {
        assert_eq!(send(guest(Method::GET, &path)).await.0, 404, "{path}");
    }
    assert_eq!(
        send(guest(Method::DELETE, &format!("/files/{their_file}")))
            .await
            .0,
        404
    );
    assert_eq!(
        send(guest(Method::POST, &format!("/jobs/{their_job}/retry")))
            .await
            .0,
        404
    );
    // A mapping into the other space, or from its file, is not started.
    let (status, body) = send(guest(Method::POST, "/jobs").json(&map(&dest_b, &contacts_b))).await;
    assert_eq!(status, 404, "{body}");
    let from_theirs = json!({"type": "file", "operation": "extract", "source": their_file});
    assert_eq!(send(guest(Method::POST, "/jobs").json(&from_theirs)).await.0, 404);
    let (_, b_jobs) = app.get_json(&format!("/jobs?spaceId={sb}")).await;
    assert_eq!(
        b_jobs["pagination"]["totalCount"], 1,
        "no job was made in B: {b_jobs}"
    );
    assert!(app.sheet_rows(&contacts_b).await.is_empty());

    // A job handler's calls stay with API keys.
    for path in [
        format!("/jobs/{job}/ack"),
        format!("/jobs/{job}/complete"),
        format!("/jobs/{job}/fail"),
    ] {
        assert_eq!(send(guest(Method::POST, &path)).await.0, 403, "{path}");
    }
    assert_eq!(
        send(guest(Method::PATCH, &format!("/jobs/{job}")).json(&json!({"info": "x"})))
            .await
            .0,
        403
    );
    assert_eq!(send(guest(Method::DELETE, &format!("/jobs/{job}"))).await.0, 403);

    // Not change it: its workbook, status and actions are the team's to say.
    let (status, body) =
        send(guest(Method::PATCH, &format!("/files/{file}")).json(&json!({"name": "x.csv"}))).await;
    assert_eq!(status, 403, "{body}");

    // Its own file it may delete; the team's upload in its space it may not.
    let team = app
        .upload_and_extract(sa, "team.csv", CSV.as_bytes().to_vec())
        .await;
    let team_file = team["id"].as_str().unwrap().to_string();
    let (status, said) = send(guest(Method::DELETE, &format!("/files/{team_file}"))).await;
    assert_eq!(status, 403, "{said}");
    // Its own, even after the team deleted the jobs that extracted it (probe 47d L2).
    let (_, file_jobs) = app.get_json(&format!("/jobs?fileId={file}")).await;
    for j in file_jobs["data"].as_array().unwrap() {
        let (status, body) = app.delete(&format!("/jobs/{}", j["id"].as_str().unwrap())).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        send(guest(Method::DELETE, &format!("/files/{file}"))).await.0,
        200
    );
    // A file whose workbook has a locked sheet: a person's delete is refused before any
    // byte goes; a secret key's goes through, as its record writes do.
    let (_, wb) = app
        .get_json(&format!("/workbooks/{}", team["workbookId"].as_str().unwrap()))
        .await;
    let locked = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app.post_json(&format!("/sheets/{locked}/lock"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let resp = app
        .client
        .post(app.url(&format!("/files/{team_file}/delete")))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    let (status, kept) = app.get_json(&format!("/files/{team_file}/download")).await;
    assert_eq!(status, 200, "the bytes stay: {kept}");
    let (status, body) = app.delete(&format!("/files/{team_file}")).await;
    assert_eq!(status, 200, "{body}");
    let (_, files) = send(guest(Method::GET, "/files")).await;
    assert_eq!(files["pagination"]["totalCount"], 0);
}

on_both!(a_guest_token_uploads_maps_and_downloads_in_its_own_space_only);

async fn a_guest_imports_a_file_from_its_pages(db: Db) {
    let app = spawn_app(db).await;
    let a = app.space_from_blueprint().await;
    let b = app.space_from_blueprint().await;
    let (sa, sb) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let contacts_a = app.sheet_id(&a, "contacts").await;
    let contacts_b = app.sheet_id(&b, "contacts").await;
    let theirs = app
        .upload_and_extract(sb, "theirs.csv", CSV.as_bytes().to_vec())
        .await;
    let their_file = theirs["id"].as_str().unwrap();

    let token = crate::job_helpers::guest_token_as(&app, sa, "g@x.io").await;
    let browser = new_client();
    let opened = open_link(&browser, &app.url(&format!("/guest-links/{token}")), &[]).await;
    assert_eq!(opened.status().as_u16(), 303);
    let get = |path: String| {
        let browser = browser.clone();
        let url = app.url(&path);
        async move {
            let resp = browser.get(url).send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    let (_, home) = get("/guest".into()).await;
    assert!(home.contains(&format!("href=\"/guest/spaces/{sa}\"")), "{home}");
    let (status, page) = get(format!("/guest/spaces/{sa}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"file-input\""), "the upload zone: {page}");
    assert!(page.contains(&format!("sse-connect=\"/spaces/{sa}/files/live\"")));
    let csrf = meta_csrf(&page);
    let upload = |space: &str| {
        browser
            .post(app.url(&format!("/spaces/{space}/files")))
            .header("X-CSRF-Token", &csrf)
            .header("HX-Request", "true")
            .multipart(reqwest::multipart::Form::new().part("file", csv_part("mine.csv")))
    };
    let resp = upload(sa).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.unwrap().contains("mine.csv"));

    // Its files list shows the file extracted, with "Import into...".
    let mut list = String::new();
    for _ in 0..600 {
        list = get(format!("/spaces/{sa}/files")).await.1;
        if list.contains("data-status=\"complete\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(list.contains("data-status=\"complete\""), "{list}");
    assert!(!list.contains("theirs.csv"));
    // It may delete its own upload, not the team's.
    let team = app
        .upload_and_extract(sa, "team.csv", CSV.as_bytes().to_vec())
        .await;
    let with_team = get(format!("/spaces/{sa}/files")).await.1;
    assert!(with_team.contains("team.csv"), "{with_team}");
    assert_eq!(with_team.matches("id=\"delete-").count(), 1, "{with_team}");
    let team_delete = format!("id=\"delete-{}\"", team["id"].as_str().unwrap());
    assert!(!with_team.contains(&team_delete), "{with_team}");
    let at = list.find("/import\"").expect("an import link");
    let import = list[list[..at].rfind('"').unwrap() + 1..at + 7].to_string();
    let (status, form) = get(import.clone()).await;
    assert_eq!(status, 200, "{form}");
    assert!(form.contains(&contacts_a), "its own sheet is offered");
    assert!(!form.contains(&contacts_b), "the other space's sheet is not");
    assert!(
        form.contains(&format!("href=\"/guest/spaces/{sa}\"")),
        "back to its space"
    );

    // Another space's sheet as destination is not found.
    let post = |sheet: &str| {
        browser
            .post(app.url(&import))
            .form(&[("csrf_token", csrf.as_str()), ("sheet", sheet)])
    };
    assert_eq!(post(&contacts_b).send().await.unwrap().status().as_u16(), 404);
    let resp = post(&contacts_a).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let job_url = resp.headers()["location"].to_str().unwrap().to_string();
    let (status, screen) = get(job_url.clone()).await;
    assert_eq!(status, 200, "{screen}");
    assert!(screen.contains("name=\"map:e_mail\""), "{screen}");
    let resp = browser
        .post(app.url(&format!("{job_url}/plan")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("map:e_mail", "email"),
            ("map:full_name", "name"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let job = app.wait_job(job_url.trim_start_matches("/jobs/")).await;
    assert_eq!(job["status"], "complete", "{job}");
    let rows: Vec<Vec<String>> = app
        .sheet_rows(&contacts_a)
        .await
        .into_iter()
        .map(|r| r[..2].to_vec())
        .collect();
    assert_eq!(rows, vec![vec!["ada@x.org", "Ada"], vec!["bob@x.org", "Bob"]]);

    // Nothing of the other space: its files, its uploads, its file's pages; and no team page.
    let stored = stored_files(&app);
    assert_eq!(upload(sb).send().await.unwrap().status().as_u16(), 404);
    assert_eq!(stored_files(&app), stored);
    for path in [
        format!("/guest/spaces/{sb}"),
        format!("/spaces/{sb}/files"),
        format!("/files/{their_file}/import"),
        format!("/files/{their_file}/download"),
        format!("/files/{their_file}/rejects.csv"),
    ] {
        assert_eq!(get(path.clone()).await.0, 404, "{path}");
    }
    let (status, _) = get(format!("/spaces/{sa}")).await;
    assert_eq!(status, 303, "the team's space page sends a guest to sign in");
}

on_both!(a_guest_imports_a_file_from_its_pages);
