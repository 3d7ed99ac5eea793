// Drives Wharf through the official @flatfile/api client, unchanged: only the base URL and
// the key differ from a Flatfile deployment. Started by tests/integration/flatfile_client.rs
// with WHARF_API (…/v1), WHARF_KEY and WHARF_ENV_ID for a fresh app on SQLite or PostgreSQL.
import { test } from "node:test";
import assert from "node:assert/strict";

import { api, environmentId, FlatfileClient } from "./wharf-client.mjs";

const sheetConfigs = [
  { name: "Companies", slug: "companies", fields: [{ key: "code", type: "string", constraints: [{ type: "unique" }] }] },
  {
    name: "Contacts",
    slug: "contacts",
    fields: [
      { key: "email", type: "string", label: "Email", constraints: [{ type: "required" }, { type: "unique" }] },
      { key: "age", type: "number", label: "Age" },
      { key: "tier", type: "enum", label: "Tier", config: { options: [{ value: "gold", label: "Gold" }] } },
      { key: "company", type: "reference", label: "Company", config: { ref: "companies", key: "code", relationship: "has-one" } },
    ],
  },
];

test("environments: list, get, create, update, delete", async () => {
  const list = await api.environments.list();
  assert.deepEqual(list.data.map((e) => e.name).slice(0, 2), ["development", "production"]);
  const got = await api.environments.get(environmentId);
  assert.equal(got.data.id, environmentId);
  const created = await api.environments.create({ name: "staging", isProd: false });
  assert.match(created.data.id, /^us_env_/);
  const updated = await api.environments.update(created.data.id, { name: "staging-2", isProd: true });
  assert.equal(updated.name, "staging-2");
  assert.equal(updated.isProd, true);
  const deleted = await api.environments.delete(created.data.id);
  assert.equal(deleted.data.success, true);
  await assert.rejects(api.environments.get(created.data.id), (e) => e.statusCode === 404);
});

test("spaces, workbooks, sheets, records and events", async () => {
  const space = await api.spaces.create({ name: "Client space", environmentId, metadata: { team: "ops" } });
  assert.match(space.data.id, /^us_sp_/);
  assert.equal(space.data.environmentId, environmentId);
  const spaceId = space.data.id;

  const listed = await api.spaces.list({ environmentId });
  assert.ok(listed.data.some((s) => s.id === spaceId));
  const renamed = await api.spaces.update(spaceId, { name: "Client space (renamed)" });
  assert.equal(renamed.data.name, "Client space (renamed)");
  assert.equal((await api.spaces.get(spaceId)).data.metadata.team, "ops");

  const wb = await api.workbooks.create({ name: "Customers", spaceId, environmentId, sheets: sheetConfigs });
  assert.match(wb.data.id, /^us_wb_/);
  assert.equal(wb.data.sheets.length, 2);
  const workbooks = await api.workbooks.list({ spaceId });
  assert.equal(workbooks.data.length, 1);
  assert.equal((await api.workbooks.update(wb.data.id, { name: "Customers 2024" })).data.name, "Customers 2024");
  assert.equal((await api.workbooks.get(wb.data.id)).data.name, "Customers 2024");

  const sheets = await api.sheets.list({ workbookId: wb.data.id });
  const companies = sheets.data.find((s) => s.slug === "companies").id;
  const contacts = sheets.data.find((s) => s.slug === "contacts").id;
  assert.equal((await api.sheets.get(contacts)).data.config.fields.length, 4);

  await api.records.insert(companies, [{ code: { value: "ACME" } }]);
  const inserted = await api.records.insert(contacts, [
    { email: { value: "ada@example.com" }, age: { value: "1,200" }, tier: { value: "Gold" }, company: { value: "ACME" } },
    { email: { value: "" }, age: { value: "twelve" }, tier: { value: "tin" }, company: { value: "NOPE" } },
  ]);
  assert.equal(inserted.data.records.length, 2);
  const [good, bad] = inserted.data.records;
  assert.equal(good.values.age.value, 1200);
  assert.equal(good.values.tier.value, "gold");
  assert.equal(bad.valid, false);
  assert.equal(bad.values.email.messages[0].source, "required-constraint");
  assert.equal(bad.values.tier.messages[0].source, "invalid-option");

  const errors = await api.records.get(contacts, { filter: "error", includeCounts: true });
  assert.equal(errors.data.records.length, 1);
  assert.deepEqual(
    { total: errors.data.counts.total, valid: errors.data.counts.valid, error: errors.data.counts.error },
    { total: 2, valid: 1, error: 1 },
  );

  await api.records.update(contacts, [
    { id: bad.id, values: { email: { value: "bob@example.com" }, age: { value: "12" }, tier: { value: "gold" }, company: { value: "ACME" } } },
  ]);
  const counts = await api.sheets.getRecordCounts(contacts);
  assert.equal(counts.data.counts.error, 0);
  assert.equal(counts.data.counts.valid, 2);

  // A reference cell's linked records, parsed by the client as RecordsWithLinks.
  const linked = await api.records.get(contacts, { includeLinks: true });
  for (const record of linked.data.records) {
    const [company] = record.values.company.links;
    assert.equal(company.values.code.value, "ACME");
  }

  const sorted = await api.records.get(contacts, { sortField: "age", sortDirection: "asc", pageSize: 1 });
  assert.equal(sorted.data.records[0].values.email.value, "bob@example.com");
  const found = await api.records.get(contacts, { searchValue: "ada", searchField: "email" });
  assert.equal(found.data.records.length, 1);

  const csv = await api.sheets.getRecordsAsCsv(contacts);
  const chunks = [];
  for await (const chunk of csv) chunks.push(Buffer.from(chunk));
  const text = Buffer.concat(chunks).toString("utf8");
  assert.match(text, /^Email,Age,Tier,Company\n/);
  assert.match(text, /ada@example.com,1200,gold,ACME/);

  await api.records.delete(contacts, { ids: [good.id] });
  assert.equal((await api.sheets.getRecordCounts(contacts)).data.counts.total, 1);

  const events = await api.events.list({ spaceId, pageSize: 100 });
  const topics = events.data.map((e) => e.topic);
  assert.equal(topics[0], "space:created");
  for (const t of ["workbook:created", "records:created", "records:updated", "records:deleted"]) {
    assert.ok(topics.includes(t), `missing ${t} in ${topics}`);
  }
  const onlyDeleted = await api.events.list({ spaceId, topic: "records:deleted" });
  assert.equal(onlyDeleted.data.length, 1);

  assert.equal((await api.sheets.delete(companies)).data.success, true);
  assert.equal((await api.workbooks.delete(wb.data.id)).data.success, true);
  await api.spaces.archiveSpace(spaceId);
  assert.ok((await api.spaces.get(spaceId)).data.archivedAt);
  await api.spaces.delete(spaceId);
  await assert.rejects(api.spaces.get(spaceId), (e) => e.statusCode === 404);
});

test("errors come back as Flatfile's typed errors", async () => {
  const bad = new FlatfileClient({ token: "sk_wrong", environment: process.env.WHARF_API });
  await assert.rejects(bad.spaces.list(), (e) => e.statusCode === 401);
  await assert.rejects(api.sheets.get("us_sh_missing1"), (e) => e.statusCode === 404);
});

test("files and jobs: upload, extraction, mapping plan, lifecycle", async () => {
  const fs = await import("node:fs");
  const os = await import("node:os");
  const path = await import("node:path");
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (jobId) => {
    for (let i = 0; i < 300; i++) {
      const job = (await api.jobs.get(jobId)).data;
      if (["complete", "failed", "canceled"].includes(job.status)) return job;
      await sleep(100);
    }
    throw new Error(`job ${jobId} did not finish`);
  };

  const space = await api.spaces.create({ name: "Files space", environmentId });
  const spaceId = space.data.id;
  const wb = await api.workbooks.create({ name: "Target", spaceId, environmentId, sheets: [{ ...sheetConfigs[1], fields: sheetConfigs[1].fields.slice(0, 3) }] });
  const contacts = wb.data.sheets[0].id;

  // An fs.ReadStream: chunked body, the file part before `actions` and `origin`.
  const text = "Email,Age,Tier\nada@example.com,36,Gold\nbob@example.com, 41 ,gold\n";
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "wharf-")), "people.csv");
  fs.writeFileSync(file, text);
  const uploaded = await api.files.upload(fs.createReadStream(file), {
    spaceId, environmentId, mode: "import", actions: [{ label: "Op 1", operation: "op1" }], origin: "filesystem",
  });
  assert.match(uploaded.data.id, /^us_fl_/);
  assert.equal(uploaded.data.name, "people.csv");
  assert.equal(uploaded.data.size, text.length);
  assert.equal(uploaded.data.actions[0].operation, "op1");
  const fileId = uploaded.data.id;

  const jobs = await api.jobs.list({ fileId });
  assert.equal(jobs.data[0].operation, "extract");
  const extracted = await until(jobs.data[0].id);
  assert.equal(extracted.status, "complete");
  const got = (await api.files.get(fileId)).data;
  assert.equal(got.status, "complete");
  const source = await api.workbooks.get(got.workbookId);
  assert.equal(source.data.name, "[file] people.csv");
  assert.deepEqual(source.data.labels, ["file"]);
  const raw = await api.records.get(source.data.sheets[0].id);
  assert.equal(raw.data.records[1].values[source.data.sheets[0].config.fields[1].key].value, " 41 ");

  const download = await api.files.download(fileId);
  const chunks = [];
  for await (const chunk of download) chunks.push(Buffer.from(chunk));
  assert.equal(Buffer.concat(chunks).toString("utf8"), text);

  const listed = await api.files.list({ spaceId, pageSize: 10 });
  assert.equal(listed.pagination.totalCount, 1);
  assert.equal((await api.files.update(fileId, { name: "renamed.csv" })).data.name, "renamed.csv");

  // A mapping job with its plan.
  const map = await api.jobs.create({
    type: "workbook", operation: "map", source: got.workbookId, destination: wb.data.id, managed: true,
    config: { sourceSheetId: source.data.sheets[0].id, destinationSheetId: contacts },
  });
  const plan = await api.jobs.getExecutionPlan(map.data.id);
  assert.equal(plan.data.job.id, map.data.id);
  const keys = plan.data.plan.fieldMapping.map((e) => e.destinationField.key).sort();
  assert.deepEqual(keys, ["age", "email", "tier"]);
  assert.ok(plan.data.plan.fieldMapping.every((e) => ["absolute", "strong"].includes(e.metadata.certainty)));
  const patched = await api.jobs.updateExecutionPlanFields(map.data.id, {
    jobId: map.data.id, fileId, fieldMapping: plan.data.plan.fieldMapping.filter((e) => e.destinationField.key !== "tier"),
  });
  assert.equal(patched.data.plan.fieldMapping.length, 2);
  await api.jobs.execute(map.data.id);
  const mapped = await until(map.data.id);
  assert.equal(mapped.status, "complete");
  const records = await api.records.get(contacts);
  assert.equal(records.data.records.length, 2);
  assert.equal(records.data.records[1].values.age.value, 41);

  // A listener's job: ack, complete, acknowledge the outcome; fail and cancel others.
  const custom = await api.jobs.create({ type: "space", operation: "submitAction", source: spaceId });
  await api.jobs.execute(custom.data.id);
  assert.equal((await api.jobs.ack(custom.data.id, { info: "working", progress: 50 })).data.progress, 50);
  await api.jobs.ack(custom.data.id);
  const done = await api.jobs.complete(custom.data.id, { info: "done", outcome: { message: "ok" } });
  assert.equal(done.data.status, "complete");
  assert.ok((await api.jobs.ackOutcome(custom.data.id)).data.outcomeAcknowledgedAt);
  const other = await api.jobs.create({ type: "space", operation: "other", source: spaceId });
  assert.equal((await api.jobs.fail(other.data.id, { outcome: { message: "no" } })).data.status, "failed");
  const third = await api.jobs.create({ type: "space", operation: "third", source: spaceId });
  assert.equal((await api.jobs.cancel(third.data.id, { info: "stop" })).data.status, "canceled");

  assert.equal((await api.files.delete(fileId)).data.success, true);
  await assert.rejects(api.files.get(fileId), (e) => e.statusCode === 404);
});

test("guests: create, list, get, update, token, invite, delete", async () => {
  const space = await api.spaces.create({ name: "Guest space", environmentId });
  const other = await api.spaces.create({ name: "Second guest space", environmentId });
  const spaceId = space.data.id;
  const created = await api.guests.create([
    { environmentId, email: "Partner@Example.com", name: "Partner", spaces: [{ id: spaceId }] },
  ]);
  assert.equal(created.data.length, 1);
  const guest = created.data[0];
  assert.match(guest.id, /^us_g_/);
  assert.equal(guest.email, "partner@example.com");
  assert.ok(guest.createdAt instanceof Date);

  const listed = await api.guests.list({ spaceId, email: "partner@example.com" });
  assert.deepEqual(listed.data.map((g) => g.id), [guest.id]);
  const got = await api.guests.get(guest.id);
  assert.equal(got.data.name, "Partner");
  const updated = await api.guests.update(guest.id, {
    name: "Partner Ltd",
    spaces: [{ id: spaceId }, { id: other.data.id }],
  });
  assert.equal(updated.data.name, "Partner Ltd");
  assert.equal(updated.data.spaces.length, 2);

  const token = await api.guests.getGuestToken(guest.id, { spaceId });
  assert.match(token.data.token, /^gt_/);
  assert.equal(token.data.valid, true);
  const invited = await api.guests.invite([{ guestId: guest.id, spaceId, fromName: "Ops", message: "Welcome" }]);
  assert.equal(invited.data.success, true);

  const removedOne = await api.guests.delete(guest.id, { spaceId: other.data.id });
  assert.equal(removedOne.data.success, true);
  assert.deepEqual((await api.guests.get(guest.id)).data.spaces.map((s) => s.id), [spaceId]);
  const removed = await api.guests.delete(guest.id);
  assert.equal(removed.data.success, true);
  await assert.rejects(api.guests.get(guest.id), (e) => e.statusCode === 404);
});
