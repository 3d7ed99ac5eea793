// sheets.addField (at the end and with insertAtIndex), sheets.removeField and
// sheets.updateSheet through the official
// @flatfile/api client, unchanged. Started by tests/integration/sheet_fields_api.rs with
// WHARF_API, WHARF_KEY and WHARF_ENV_ID.
import { test } from "node:test";
import assert from "node:assert/strict";

import { api, environmentId } from "./wharf-client.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits for the sheet's recheck-records jobs to finish. */
async function rechecked(spaceId) {
  for (let i = 0; i < 600; i++) {
    const jobs = (await api.jobs.list({ spaceId })).data.filter((j) => j.operation === "recheck-records");
    if (jobs.length > 0 && jobs.every((j) => j.status === "complete")) return jobs;
    await sleep(100);
  }
  throw new Error("recheck-records did not finish");
}

test("sheets.addField, sheets.removeField and sheets.updateSheet", async () => {
  const space = await api.spaces.create({ name: "Fields", environmentId });
  const wb = await api.workbooks.create({
    name: "People",
    spaceId: space.data.id,
    environmentId,
    sheets: [
      {
        name: "People",
        slug: "people",
        fields: [
          { key: "name", type: "string", label: "Name" },
          { key: "nickname", type: "string", label: "Nickname" },
          { key: "age", type: "number", label: "Age" },
        ],
      },
    ],
  });
  const sheetId = wb.data.sheets[0].id;
  await api.records.insert(sheetId, [
    { name: { value: "Bender" }, nickname: { value: "B" }, age: { value: 4 } },
    { name: { value: "Leela" }, nickname: { value: "L" }, age: { value: 25 } },
  ]);

  const added = await api.sheets.addField(sheetId, {
    body: { key: "email", type: "string", label: "Email", constraints: [{ type: "required" }] },
  });
  assert.equal(added.data.key, "email");
  assert.equal(added.data.type, "string");
  await rechecked(space.data.id);
  let counts = (await api.sheets.getRecordCounts(sheetId)).data.counts;
  assert.deepEqual({ total: counts.total, error: counts.error }, { total: 2, error: 2 });

  const removed = await api.sheets.removeField(sheetId, "nickname");
  assert.equal(removed.data.success, true);
  const sheet = await api.sheets.get(sheetId);
  assert.deepEqual(
    sheet.data.config.fields.map((f) => f.key),
    ["name", "age", "email"],
  );
  const records = await api.records.get(sheetId);
  assert.deepEqual(
    records.data.records.map((r) => [r.values.name.value, r.values.age.value, r.values.nickname]),
    [["Bender", 4, undefined], ["Leela", 25, undefined]],
  );

  // A field put first: every value stays with its field.
  const first = await api.sheets.addField(sheetId, {
    insertAtIndex: 0,
    body: { key: "rank", type: "number", label: "Rank" },
  });
  assert.equal(first.data.key, "rank");
  await rechecked(space.data.id);
  assert.deepEqual(
    (await api.sheets.get(sheetId)).data.config.fields.map((f) => f.key),
    ["rank", "name", "age", "email"],
  );
  const moved = await api.records.get(sheetId);
  assert.deepEqual(
    moved.data.records.map((r) => [r.values.rank?.value, r.values.name.value, r.values.age.value]),
    [[undefined, "Bender", 4], [undefined, "Leela", 25]],
  );
  counts = (await api.sheets.getRecordCounts(sheetId)).data.counts;
  assert.deepEqual({ total: counts.total, error: counts.error }, { total: 2, error: 2 });

  const updated = await api.sheets.updateSheet(sheetId, { name: "Crew", slug: "crew", metadata: { rowHeaders: [1] } });
  assert.equal(updated.data.name, "Crew");
  assert.equal(updated.data.slug, "crew");
  assert.deepEqual(updated.data.metadata, { rowHeaders: [1] });
  assert.equal((await api.sheets.get(sheetId)).data.name, "Crew");

  await assert.rejects(api.sheets.removeField(sheetId, "nope"), (e) => e.statusCode === 404);
  await assert.rejects(
    api.sheets.addField(sheetId, { body: { key: "name", type: "string" } }),
    (e) => e.statusCode === 409,
  );
});
