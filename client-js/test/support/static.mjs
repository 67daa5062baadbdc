// Serves the built browser client and an empty page on 127.0.0.1, for pages that load the client
// from their own origin (the Tether test server accepts any origin).
import { readFile } from "node:fs/promises";
import http from "node:http";
import { join } from "node:path";
import { MODULE_DIR } from "./server.mjs";

/** The single-file ESM build the browser loads (npm run build writes it). */
export const BROWSER_BUNDLE = join(MODULE_DIR, "dist", "browser", "tether-client.js");

export async function startStatic() {
  const bundle = await readFile(BROWSER_BUNDLE);
  const server = http.createServer((req, res) => {
    if (req.url === "/tether-client.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(bundle);
    } else if (req.url === "/" || req.url === "/blank.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end("<!doctype html><title>tether test</title>");
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
