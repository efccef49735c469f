// CloudEvents over HTTP, checked with the official SDK (npm `cloudevents`) at both ends:
// it makes the events and their HTTP requests in each content mode (binary, structured,
// batched), a real ferryd stores them in a log topic, libferry reads them back (the CLI's
// `consume --cloudevents`), and the SDK parses what came out: every attribute equal to
// what the SDK reads from its own request. The same events published to a memory topic
// come out of two push subscriptions (binary and structured mode) to a Node HTTP server,
// where the SDK reads them again, and both topics are read over a WebSocket (GET /v1/ws,
// npm's `ws` client: Debian 12's Node 18 has no WebSocket of its own), whose CloudEvents
// the SDK parses too.
// Usage: node cloudevents_test.mjs FERRYD FERRY
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { CloudEvent, HTTP } from "cloudevents";
import WebSocket from "ws";
import { check, startFerryd } from "./support.mjs";

const [ferrydPath, ferryPath] = process.argv.slice(2);
const broker = await startFerryd(ferrydPath);
try {
  const post = (path, headers, body) =>
    fetch(broker.url + path, { method: "POST", headers, body });
  const created = await post("/v1/topics", { "content-type": "application/json" },
                             JSON.stringify({ name: "user.events", kind: "log" }));
  check(created.status === 201, "a log topic is created over REST");

  // The push handler: the SDK reads each request ferryd makes.
  const pushed = { binary: [], structured: [] };
  const raw = { binary: [] };
  const handler = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const mode = req.url.slice(1);
      const body = Buffer.concat(chunks);
      // The SDK parses JSON and text from a string; other data stays bytes. No Content-Type:
      // the event had no datacontenttype, which the JSON format reads as JSON data.
      const type = req.headers["content-type"];
      const text = !type || /json|text/.test(type);
      pushed[mode].push(HTTP.toEvent({ headers: req.headers, body: text ? body.toString() : body }));
      if (mode === "binary") raw.binary.push(req.headers);
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => handler.listen(0, "127.0.0.1", r));
  const at = `http://127.0.0.1:${handler.address().port}`;
  await post("/v1/topics", {}, JSON.stringify({ name: "user.pushed", kind: "memory" }));
  for (const mode of ["binary", "structured"]) {
    const sub = await post("/v1/subscriptions", {}, JSON.stringify({
      name: `pushed.${mode}`, pattern: "user.pushed",
      options: { push: { url: `${at}/${mode}`, structured: mode === "structured" } } }));
    check(sub.status === 201, `a push subscription in ${mode} mode`);
  }
  const wsSub = await post("/v1/subscriptions", {}, JSON.stringify({
    name: "pushed.ws", pattern: "user.pushed" }));
  check(wsSub.status === 201, "a subscription read over a WebSocket");

  const time = "2026-12-07T09:30:00.250Z";
  const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const events = [
    // Binary mode (the SDK does not percent-encode header values, so these stay ASCII).
    new CloudEvent({ id: "login-1", type: "user.login", source: "/login", subject: "alice",
                     time, data: { user: "alice", ok: true }, partitionkey: "alice",
                     traceparent, region: "eu", attempt: 3 }),
    // Structured mode: text data with characters a header could not carry.
    new CloudEvent({ id: "login-2", type: "user.login", source: "/login",
                     subject: "bob ünd \"quotes\" 100%", time, datacontenttype: "text/plain",
                     data: "hello, wörld" }),
    // Structured mode: bytes (data_base64).
    new CloudEvent({ id: "blob-1", type: "blob.stored", source: "https://example.com/blobs",
                     time, datacontenttype: "application/octet-stream",
                     data: new Uint8Array([0, 1, 2, 254, 255]) }),
    // Batched mode: two events in one request.
    new CloudEvent({ id: "logout-1", type: "user.logout", source: "/login", time,
                     data: { user: "alice" }, dataschema: "https://example.com/logout.json" }),
    new CloudEvent({ id: "logout-2", type: "user.logout", source: "/login", time,
                     data: [1, 2, 3], expirytime: "2027-01-01T00:00:00.000Z" }),
  ];

  // What each request carried, as the SDK itself reads it (in binary mode the SDK sends a
  // JSON Content-Type for an event without datacontenttype, so that is part of the event).
  const sent = [];
  const send = async (message, what) => {
    const read = HTTP.toEvent(message);
    sent.push(...(Array.isArray(read) ? read : [read]));
    const p = await post("/v1/topics/user.pushed/messages", message.headers, message.body);
    check(p.status === 201, `${what}: published to the memory topic too`);
    const r = await post("/v1/topics/user.events/messages", message.headers, message.body);
    const text = await r.text();
    check(r.status === 201, `${what}: 201 (got ${r.status} ${text})`);
    return JSON.parse(text);
  };
  let ok = await send(HTTP.binary(events[0]), "binary mode");
  check(ok.accepted === 1 && ok.offsets[0] === 0, "binary mode: confirmed at offset 0");
  await send(HTTP.structured(events[1]), "structured mode, text data");
  await send(HTTP.structured(events[2]), "structured mode, data_base64");
  const batch = events.slice(3).map((e) => JSON.parse(HTTP.structured(e).body));
  ok = await send({ headers: { "content-type": "application/cloudevents-batch+json" },
                    body: JSON.stringify(batch) }, "batched mode");
  check(ok.accepted === 2 && ok.offsets.join() === "3,4", "batched mode: offsets 3 and 4");

  // A retried POST of the same event (same source and id) is confirmed, not stored again.
  const again = await post("/v1/topics/user.events/messages", HTTP.binary(events[0]).headers,
                           HTTP.binary(events[0]).body);
  const againBody = await again.json();
  check(again.status === 200 && againBody.duplicates === 1 && againBody.offsets[0] === 0,
        "a retried event is a duplicate of offset 0");

  // Read back through libferry, printed as CloudEvents, parsed by the SDK.
  const out = execFileSync(ferryPath, ["--broker", broker.wire, "consume", "user.events",
                                       "--cloudevents", "--count", "6", "--timeout-ms", "3000"],
                           { encoding: "utf8" });
  const lines = out.trim().split("\n");
  check(lines.length === events.length, `libferry read ${events.length} records (${lines.length})`);
  const norm = (v) => (v instanceof Uint8Array || Array.isArray(v) || typeof v === "object")
    ? JSON.stringify(v, (k, x) => (x instanceof Uint8Array ? Array.from(x) : x)) : String(v);
  // Bytes however the SDK holds them (it reads data_base64 into a Uint32Array of bytes).
  const bytes = (v) => Buffer.from(ArrayBuffer.isView(v) ? Array.from(v) : Buffer.from(String(v)));
  // Every attribute of `want` in `got`; data as JSON, or as bytes when it is bytes.
  const same = (got, want, how) => {
    for (const [name, value] of Object.entries(want.toJSON())) {
      if (name === "data" || name === "data_base64") continue;
      const a = norm(value), b = norm(got[name]);
      if (a !== b) throw new Error(`FAILED: ${how}: event ${want.id}: ${name} is ${b}, sent ${a}`);
    }
    const dataSame = ArrayBuffer.isView(want.data)
      ? Buffer.compare(bytes(got.data ?? Buffer.from(got.data_base64, "base64")), bytes(want.data)) === 0
      : norm(got.data) === norm(want.data);
    if (!dataSame) throw new Error(`FAILED: ${how}: event ${want.id}: data differs`);
    check(true, `${how}: event ${want.id} (${want.type}) came back with every attribute equal`);
  };
  lines.forEach((line, i) => {
    same(HTTP.toEvent({ headers: { "content-type": "application/cloudevents+json" }, body: line }),
         sent[i], "libferry");
  });

  // Over a WebSocket: the log topic through a consumer group, the memory topic through a
  // subscription whose deliveries are acked; every event parsed by the SDK.
  const ws = new WebSocket(broker.url.replace("http:", "ws:") + "/v1/ws");
  const inbox = [];
  let wake = () => {};
  ws.onmessage = (m) => { inbox.push(JSON.parse(String(m.data))); wake(); };
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const next = async (want) => {
    const until = Date.now() + 5000;
    for (;;) {
      const i = inbox.findIndex(want);
      if (i >= 0) return inbox.splice(i, 1)[0];
      if (Date.now() > until) throw new Error("FAILED: no WebSocket message in 5 s");
      await new Promise((r) => { wake = r; setTimeout(r, 100); });
    }
  };
  let nextId = 0;
  const request = async (op) => {
    const id = ++nextId;
    ws.send(JSON.stringify({ id, ...op }));
    const answer = await next((e) => e.id === id);
    check(!answer.error, `WebSocket ${Object.keys(op)[0]}: ${JSON.stringify(answer.error ?? "ok")}`);
    return answer;
  };
  const deliveries = async (count) => {
    const got = [];
    while (got.length < count) got.push(...(await next((e) => e.deliver)).deliver.deliveries);
    return got;
  };
  const asEvent = (d) => HTTP.toEvent({
    headers: { "content-type": "application/cloudevents+json" }, body: JSON.stringify(d.event) });
  await request({ consume_log: { topic: "user.events", group: "ws.readers", credit: 100 } });
  const fromLog = await deliveries(events.length);
  fromLog.sort((a, b) => a.offset - b.offset).forEach((d, i) => {
    same(asEvent(d), sent[i], "WebSocket, log topic");
  });
  const subscribed = await request({ subscribe: { subscription: "pushed.ws", prefetch: 10 } });
  const fromMemory = await deliveries(events.length);
  for (const want of sent)
    same(asEvent(fromMemory.find((d) => d.event.id === want.id)), want, "WebSocket, memory topic");
  const acked = await request({ ack: { consumer_id: subscribed.subscribe_ok.consumer_id,
                                       delivery_ids: fromMemory.map((d) => d.delivery_id) } });
  check(acked.settle_ok.settled === events.length, "WebSocket: every delivery acked");
  ws.close();

  // Pushed: each subscription POSTed every event once, the SDK reads them back.
  const until = Date.now() + 10000;
  while ((pushed.binary.length < 5 || pushed.structured.length < 5) && Date.now() < until)
    await new Promise((r) => setTimeout(r, 50));
  check(pushed.binary.length === 5 && pushed.structured.length === 5,
        `each push subscription delivered 5 events (${pushed.binary.length}, ${pushed.structured.length})`);
  for (const want of sent) {
    same(pushed.structured.find((e) => e.id === want.id), want, "push, structured mode");
    // The SDK reads binary-mode header values without percent-decoding them (the binding
    // says a receiver must): the event whose subject needs encoding is checked as sent.
    if (want.id === "login-2") continue;
    same(pushed.binary.find((e) => e.id === want.id), want, "push, binary mode");
  }
  const encoded = raw.binary.find((h) => h["ce-id"] === "login-2");
  check(encoded["ce-subject"] === "bob%20%C3%BCnd%20%22quotes%22%20100%25",
        "push, binary mode: a subject with spaces, quotes, % and ü is percent-encoded");
  handler.close();

  // Bad input: refused whole with a message naming what is wrong; nothing stored.
  const refuse = async (headers, body, status, text, what) => {
    const r = await post("/v1/topics/user.events/messages", headers, body);
    const b = await r.json();
    check(r.status === status && b.error.message.includes(text),
          `${what}: ${status} "${b.error.message}"`);
  };
  const binary = HTTP.binary(new CloudEvent({ type: "t", source: "/s", data: "x" }));
  const noSource = { ...binary.headers };
  delete noSource["ce-source"];
  await refuse(noSource, binary.body, 400, "ce-source: missing", "binary mode without ce-source");
  const bad = batch.map((e) => ({ ...e }));
  delete bad[1].type;
  await refuse({ "content-type": "application/cloudevents-batch+json" }, JSON.stringify(bad), 400,
               "events[1].type: missing", "a batch with one bad event");
  await refuse({ "content-type": "application/cloudevents+json" }, "{not json", 400,
               "not JSON", "structured mode with a body that is not JSON");
  await refuse({ "content-type": "application/cloudevents+xml" }, "<e/>", 400,
               "not an event format", "an event format ferry does not read");
  const topic = await (await fetch(broker.url + "/v1/topics/user.events")).json();
  check(topic.messages_published === 5, "nothing of the refused requests was stored");
} finally {
  await broker.stop();
}
