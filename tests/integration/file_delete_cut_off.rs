//! A delete cut off between a file's bytes and its rows (kill -9) leaves a file that says
//! so and is deleted when asked again (probe 68d D3: it stayed listed `complete` without its
//! bytes, and only a download told).

use crate::helpers::*;
use crate::on_both;

async fn a_file_whose_delete_was_cut_off_says_so(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Cut off").await;
    let file = app
        .upload_and_extract(&space, "people.csv", b"Email\na@x.org\n".to_vec())
        .await;
    let id = file["id"].as_str().unwrap().to_string();
    // What a delete leaves when its process stops right after the bytes went: the mark it
    // makes first, and no bytes.
    let fid = wharf::ids::FileId::parse(&id).unwrap();
    {
        let mut conn = app.pool.get().unwrap();
        let before = wharf::model::file::mark_deleting(&mut conn, &fid).unwrap();
        assert_eq!(before.map(|b| b.0).as_deref(), Some("complete"));
    }
    let key = wharf::model::file::storage_key(&fid);
    std::fs::remove_file(app.data_dir.join("storage").join(key)).unwrap();

    let (_, f) = app.get_json(&format!("/files/{id}")).await;
    assert_eq!(f["data"]["status"], "purged", "{f}");
    assert!(f.to_string().contains("delete it again to finish"), "{f}");
    let (status, body) = app.get_json(&format!("/files/{id}/download")).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.to_string().contains("were deleted"), "{body}");
    let (status, body) = app.delete(&format!("/files/{id}")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.get_json(&format!("/files/{id}")).await;
    assert_eq!(status, 404);
}

on_both!(a_file_whose_delete_was_cut_off_says_so);
