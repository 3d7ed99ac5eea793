// The team's own rules, written exactly as for Flatfile: nothing in this file knows Wharf.
// serve.mjs (webhooks) or poll.mjs (polling) hands it the events.
import { FlatfileClient } from "@flatfile/api";
import automapPlugin from "@flatfile/plugin-automap";
import { jobHandler } from "@flatfile/plugin-job-handler";
import { JSONExtractor } from "@flatfile/plugin-json-extractor";
import { recordHook } from "@flatfile/plugin-record-hook";

// A CommonJS package: Node hands its exports over as the default.
const { automap } = automapPlugin;

const api = new FlatfileClient();
const SHEET = process.env.SHEET_SLUG || "contacts";
const FREE_MAIL = new Set(["gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com"]);

export default function (listener) {
  // Runs on every commit of the sheet: an import's batch, a person's edit in the grid.
  listener.use(
    recordHook(SHEET, (record) => {
      // A contact without a name is named after the company its reference points at.
      const [company] = record.getLinks("company") ?? [];
      if (company && !record.get("name")) record.set("name", `Someone at ${company.name}`);
      const email = record.get("email");
      if (typeof email !== "string") return record;
      const clean = email.trim().toLowerCase();
      if (clean !== email) record.set("email", clean);
      const domain = clean.split("@")[1];
      if (FREE_MAIL.has(domain)) record.addError("email", `must be a company address, not ${domain}`);
      return record;
    })
  );

  // A workbook action `export-crm` (or POST /v1/jobs {operation: "export-crm", trigger: "immediate"}).
  listener.use(
    jobHandler("workbook:export-crm", async (event, tick) => {
      const { jobId } = event.context;
      const workbookId = event.context.workbookId ?? (await api.jobs.get(jobId)).data.source;
      const { data: workbook } = await api.workbooks.get(workbookId);
      // A secret of the environment or space (POST /v1/secrets) names the CRM, as listener
      // code reads its API keys; none set: "the CRM".
      const crm = await event.secrets("CRM_NAME").catch(() => "the CRM");
      let sent = 0;
      let held = 0;
      for (const [i, sheet] of workbook.sheets.entries()) {
        const { data } = await api.records.get(sheet.id, { filter: "valid", includeCounts: true });
        if (process.env.CRM_URL && data.records.length > 0) {
          const rows = data.records.map((r) => Object.fromEntries(Object.entries(r.values).map(([k, v]) => [k, v.value])));
          const res = await fetch(process.env.CRM_URL, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ sheet: sheet.slug, rows }),
          });
          if (!res.ok) throw new Error(`The CRM refused ${sheet.name}: ${res.status}`);
        }
        sent += data.records.length;
        held += data.counts?.error ?? 0;
        await tick(Math.round(((i + 1) / workbook.sheets.length) * 100), `Sent ${sheet.name}`);
      }
      return {
        outcome: {
          acknowledge: true,
          message: `Sent ${sent} valid records of ${workbook.name} to ${crm}; ${held} with errors held back.`,
        },
      };
    })
  );

  // A workbook action with an input form (`note`, `format`): the values arrive in
  // `job.input`; progress and the expected end show in the grid while it runs, and the
  // outcome opens a dialog there.
  listener.use(
    jobHandler("workbook:send-report", async (event) => {
      const { jobId } = event.context;
      const { data: job } = await api.jobs.get(jobId);
      const { note, format } = job.input ?? {};
      await api.jobs.ack(jobId, {
        info: `Preparing "${note}"`,
        progress: 40,
        estimatedCompletionAt: new Date(Date.now() + 3 * 60 * 1000),
      });
      // Stands for the real work (building and sending the report).
      await new Promise((resolve) => setTimeout(resolve, 3000));
      return {
        outcome: {
          acknowledge: true,
          heading: "Report sent",
          message: `Sent "${note}" as ${String(format).toUpperCase()}.`,
          buttonText: "Great",
          next: { type: "url", url: "https://example.com/reports", label: "See reports" },
        },
      };
    })
  );

  // Extracts JSON uploads itself, as Flatfile's extractor plugins do: set WHARF_EXTRACT on
  // the server (`csv,tsv`) to leave JSON to it, or each JSON file is extracted twice.
  if (process.env.JSON_EXTRACTOR) {
    listener.use(JSONExtractor());
  }

  // Maps every extracted file onto the sheet AUTOMAP_SHEET names (its name or slug) when the
  // plan is confident: the plugin waits for the mapping job to reach `planning`.
  if (process.env.AUTOMAP_SHEET) {
    listener.use(automap({ accuracy: "confident", defaultTargetSheet: process.env.AUTOMAP_SHEET }));
  }

  // Handlers of one namespace run only for events in a space (or workbook) of that
  // namespace, as in Flatfile projects that serve several portals from one listener.
  listener.namespace(["space:portal"], (portal) => {
    portal.use(
      jobHandler("workbook:portal-hello", async (event) => ({
        outcome: { acknowledge: false, message: `Hello from ${event.namespace.join(", ")}` },
      }))
    );
  });
}
