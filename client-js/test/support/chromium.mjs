// Finds and launches the machine's Chromium (the Debian package `chromium`) through puppeteer-core.
// No browser is downloaded: without Chromium the browser tests fail and say so.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import puppeteer from "puppeteer-core";

export function chromiumPath() {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    }
    return fromEnv;
  }
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      const path = execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
      if (path) {
        return path;
      }
    } catch {
      // not on the PATH; try the next name
    }
  }
  throw new Error("Chromium not found: the browser tests need it. Install the Debian package 'chromium'"
    + " (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH to a Chromium or Chrome binary.");
}

/** A headless Chromium; close it with `browser.close()`. */
export async function launchChromium() {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
}
