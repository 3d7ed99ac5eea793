// Where Wharf is, for the Flatfile packages. They read these variables when they load (the
// plugins build their API client on import), so serve.mjs and poll.mjs call this first and
// import anything from @flatfile only afterwards.
export function configure() {
  const base = (process.env.WHARF_URL ?? "").replace(/\/+$/, "").replace(/\/v1$/, "");
  const key = process.env.WHARF_API_KEY ?? "";
  if (!/^https?:\/\//.test(base) || !key.startsWith("sk_")) {
    console.error(
      "Set WHARF_URL (Wharf's address, e.g. http://localhost:8080) and WHARF_API_KEY (a secret key, sk_...)."
    );
    process.exit(2);
  }
  // @flatfile/listener (event.data, event.update): base URL without /v1.
  process.env.AGENT_INTERNAL_URL = base;
  // @flatfile/api (the plugins' client): it appends /v1 itself.
  process.env.FLATFILE_API_URL = base;
  process.env.FLATFILE_BEARER_TOKEN = key;
  return { base, key };
}
