// The dashboard in headless Chromium (Debian's, driven by puppeteer-core) against a real
// ferryd: the page loads with no request leaving the broker, shows the topics, and its
// numbers and charts move as the ferry CLI publishes. Saves a screenshot.
// Usage: node dashboard_test.mjs FERRYD FERRY_CLI SCREENSHOT.png
import { execFileSync } from "node:child_process";
import puppeteer from "puppeteer-core";
import { startFerryd, check } from "./support.mjs";

const [ferryd, cli, screenshot] = process.argv.slice(2);
const broker = await startFerryd(ferryd);
const post = (path, body) =>
  fetch(broker.url + path, { method: "POST", body: JSON.stringify(body) });
function publish(topic, n) {
  const lines = Array.from({ length: n }, (_, i) => `message ${i}`).join("\n") + "\n";
  execFileSync(cli, ["--broker", broker.wire, "pub", topic], { input: lines });
}

const browser = await puppeteer.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  check((await post("/v1/topics", { name: "orders", kind: "memory" })).status === 201, "topic orders");
  check((await post("/v1/subscriptions", { name: "audit", pattern: "orders" })).status === 201,
        "subscription audit");
  check((await post("/v1/topics", { name: "events", kind: "log", options: { partitions: 2 } }))
            .status === 201, "log topic events");

  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1100 });
  const foreign = [];
  page.on("request", (r) => { if (!r.url().startsWith(broker.url)) foreign.push(r.url()); });
  await page.goto(broker.url + "/", { waitUntil: "load" });
  await page.waitForFunction(() => Number(document.body.dataset.polls) >= 2, { timeout: 10000 });
  const cellOf = (selector, column) =>
    page.$eval(selector, (tr, c) => tr.children[c].textContent, column);
  check((await cellOf('tr[data-topic="orders"]', 2)) === "0", "orders shows 0 published at first");

  // Publish for a few seconds, so that the rate charts get points above zero.
  for (let i = 0; i < 4; ++i) {
    publish("orders", 50);
    publish("events", 25);
    await new Promise((r) => setTimeout(r, 700));
  }
  await page.waitForFunction(
      () => document.querySelector('tr[data-subscription="audit"]')?.children[2].textContent === "200",
      { timeout: 10000 });
  check((await cellOf('tr[data-topic="orders"]', 2)) === "200", "orders shows 200 published");
  check((await cellOf('tr[data-topic="events"]', 2)) === "100", "events shows 100 published");
  check((await cellOf('tr[data-subscription="audit"]', 2)) === "200", "audit shows a depth of 200");
  const ends = await page.$$eval("#partitions tbody tr", (rows) =>
      rows.map((r) => Number(r.children[2].textContent.replace(/,/g, ""))));
  check(ends.length === 2 && ends[0] + ends[1] === 100, `the partitions' end offsets sum to 100 (${ends})`);

  const chart = await page.$eval('tr[data-topic="orders"] svg', (svg) =>
      ({ points: Number(svg.dataset.points), max: Number(svg.dataset.max),
         drawn: svg.querySelector("polyline")?.getAttribute("points") ?? "" }));
  check(chart.points >= 3 && chart.max >= 25, `the orders rate chart has data (${JSON.stringify(chart)})`);
  const depth = await page.$eval('tr[data-subscription="audit"] svg', (svg) => Number(svg.dataset.max));
  check(depth === 200, "the audit depth chart rose to 200");
  const connections = await page.$eval("#connections", (e) => e.textContent);
  check(connections !== "-", `the broker card shows connections (${connections})`);
  check(foreign.length === 0, `the page fetched nothing from elsewhere (${foreign})`);
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log("screenshot: " + screenshot);
} finally {
  await browser.close();
  await broker.stop();
}
