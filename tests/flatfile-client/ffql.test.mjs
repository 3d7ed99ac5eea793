// `q` (Flatfile Query Language) through the official @flatfile/api client, unchanged.
// Started by tests/integration/records_ffql.rs with WHARF_API, WHARF_KEY and WHARF_ENV_ID.
import { test } from "node:test";
import assert from "node:assert/strict";

import { api, environmentId } from "./wharf-client.mjs";

test("records.get and sheets.getRecordCounts with q", async () => {
  const space = await api.spaces.create({ name: "FFQL", environmentId });
  const wb = await api.workbooks.create({
    name: "People",
    spaceId: space.data.id,
    environmentId,
    sheets: [
      {
        name: "People",
        slug: "people",
        fields: [
          { key: "first_name", type: "string", label: "First Name", constraints: [{ type: "required" }] },
          { key: "age", type: "number", label: "Age" },
        ],
      },
    ],
  });
  const sheetId = wb.data.sheets[0].id;
  await api.records.insert(sheetId, [
    { first_name: { value: "Bender" }, age: { value: "4" } },
    { first_name: { value: "Leela" }, age: { value: "25" } },
    { first_name: { value: "" }, age: { value: "100" } },
  ]);

  const names = (res) => res.data.records.map((r) => r.values.first_name.value ?? "").sort();
  assert.deepEqual(names(await api.records.get(sheetId, { q: "age gt 10" })), ["", "Leela"]);
  assert.deepEqual(names(await api.records.get(sheetId, { q: '"First Name" eq Bender or is error' })), ["", "Bender"]);
  const counted = await api.records.get(sheetId, { q: "age gte 4 and first_name ilike %e%", includeCounts: true });
  assert.deepEqual(names(counted), ["Bender", "Leela"]);
  assert.deepEqual(
    { total: counted.data.counts.total, valid: counted.data.counts.valid, error: counted.data.counts.error },
    { total: 2, valid: 2, error: 0 },
  );
  const counts = await api.sheets.getRecordCounts(sheetId, { q: "first_name is error" });
  assert.equal(counts.data.counts.total, 1);

  await assert.rejects(api.records.get(sheetId, { q: "age eq )" }), (e) => {
    assert.equal(e.statusCode, 400);
    assert.equal(e.body.errors[0].message, 'unexpected ")" at 8; expected a value');
    return true;
  });
  await assert.rejects(api.records.get(sheetId, { q: "last_name eq x" }), (e) => {
    assert.equal(e.statusCode, 400);
    assert.match(e.body.errors[0].message, /unknown field "last_name"/);
    return true;
  });
});

test("sheets.getCellValues: distinct values with counts", async () => {
  const space = await api.spaces.create({ name: "Cells", environmentId });
  const wb = await api.workbooks.create({
    name: "Orders",
    spaceId: space.data.id,
    environmentId,
    sheets: [{ name: "Orders", slug: "orders", fields: [{ key: "country", type: "string", label: "Country" }] }],
  });
  const sheetId = wb.data.sheets[0].id;
  await api.records.insert(sheetId, ["FR", "FR", "DE", "FR", "DE", "IT"].map((c) => ({ country: { value: c } })));
  const cells = await api.sheets.getCellValues(sheetId, { fieldKey: "country", distinct: true, includeCounts: true });
  assert.deepEqual(
    cells.data.country.map((c) => [c.value, c.counts.total]),
    [["FR", 3], ["DE", 2], ["IT", 1]],
  );
  const some = await api.sheets.getCellValues(sheetId, { fieldKey: "country", distinct: true, includeCounts: true, searchValue: "r" });
  assert.deepEqual(some.data.country.map((c) => c.value), ["FR"]);
});

test("records.findAndReplace and records.bulkUpdate answer a version", async () => {
  const space = await api.spaces.create({ name: "Bulk", environmentId });
  const wb = await api.workbooks.create({
    name: "Orders",
    spaceId: space.data.id,
    environmentId,
    sheets: [{ name: "Orders", slug: "orders", fields: [{ key: "amount", type: "string", label: "Amount" }, { key: "n", type: "number", label: "N" }] }],
  });
  const sheetId = wb.data.sheets[0].id;
  await api.records.insert(sheetId, ["N/A", "12", "N/A", "7"].map((a, i) => ({ amount: { value: a }, n: { value: i } })));
  const replaced = await api.records.findAndReplace(sheetId, { find: '"N/A"', replace: "", fieldKey: "amount" });
  assert.match(replaced.data.versionId, /^us_/);
  const updated = await api.records.bulkUpdate(sheetId, { q: "n gte 2", fieldUpdates: { amount: { value: "0" } } });
  assert.match(updated.data.versionId, /^us_/);
  const rows = await api.records.get(sheetId);
  assert.deepEqual(rows.data.records.map((r) => r.values.amount.value ?? null), [null, "12", "0", "0"]);
});

test("sheets.validate re-checks every record", async () => {
  const space = await api.spaces.create({ name: "Validate", environmentId });
  const wb = await api.workbooks.create({
    name: "Checked",
    spaceId: space.data.id,
    environmentId,
    sheets: [{ name: "Checked", slug: "checked", fields: [{ key: "code", type: "string", label: "Code", constraints: [{ type: "required" }] }] }],
  });
  const sheetId = wb.data.sheets[0].id;
  await api.records.insert(sheetId, [{ code: { value: "A" } }, { code: { value: "" } }]);
  const answer = await api.sheets.validate(sheetId);
  assert.equal(answer.data.success, true);
  const counts = await api.sheets.getRecordCounts(sheetId);
  assert.equal(counts.data.counts.total, 2);
  assert.equal(counts.data.counts.error, 1);
});
