// The official @flatfile/api client pointed at the Wharf a test started (WHARF_API is its
// `.../v1`, WHARF_KEY a secret key, WHARF_ENV_ID the key's environment).

// Node 20's fetch refuses the client's `Keep-Alive` request header; drop that one header.
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  if (init.headers) {
    const headers = new Headers(init.headers);
    headers.delete("keep-alive");
    init = { ...init, headers };
  }
  return realFetch(input, init);
};
export const { FlatfileClient } = await import("@flatfile/api");

export const api = new FlatfileClient({ token: process.env.WHARF_KEY, environment: process.env.WHARF_API });
export const environmentId = process.env.WHARF_ENV_ID;
