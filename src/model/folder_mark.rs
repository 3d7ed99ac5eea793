//! Marks of the running processes in their data folders, without a bucket: each process
//! keeps a file `storage/marks/<mark>` in its folder and a row here under the folder's id,
//! seen again every half minute. A process whose folder has the same id but lacks the
//! others' mark files is in another folder with a copied `holder-id` (see
//! `workers::folder_marks`).

use super::now;
use crate::db::schema::folder_marks;
use crate::db::AnyConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Says that the process with `mark` runs on the folder `holder`, now.
pub fn seen(conn: &mut AnyConnection, holder: &str, mark: &str) -> QueryResult<()> {
    let row = (
        folder_marks::holder.eq(holder),
        folder_marks::mark.eq(mark),
        folder_marks::seen_at.eq(now()),
    );
    let t = now();
    crate::on_backend!(conn, c => diesel::insert_into(folder_marks::table)
        .values(row)
        .on_conflict((folder_marks::holder, folder_marks::mark))
        .do_update()
        .set(folder_marks::seen_at.eq(t))
        .execute(c))?;
    Ok(())
}

/// The marks of other processes on the folder `holder` seen since `since`.
pub fn others(
    conn: &mut AnyConnection,
    holder: &str,
    mine: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    folder_marks::table
        .filter(folder_marks::holder.eq(holder))
        .filter(folder_marks::mark.ne(mine))
        .filter(folder_marks::seen_at.ge(since))
        .select(folder_marks::mark)
        .load(conn)
}

/// Forgets marks not seen since `before` (processes that stopped); which ones, so their
/// files go too.
pub fn forget_older(
    conn: &mut AnyConnection,
    holder: &str,
    before: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    let gone: Vec<String> = folder_marks::table
        .filter(folder_marks::holder.eq(holder))
        .filter(folder_marks::seen_at.lt(before))
        .select(folder_marks::mark)
        .load(conn)?;
    diesel::delete(
        folder_marks::table
            .filter(folder_marks::holder.eq(holder))
            .filter(folder_marks::mark.eq_any(&gone)),
    )
    .execute(conn)?;
    Ok(gone)
}
