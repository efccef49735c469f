// /v1/openapi.json against a real ferryd: a real OpenAPI 3.1 validator accepts it, and
// every route it lists is one the router has (and the router has no route it omits:
// the document is made from the route table, and each route answers something other than
// the router's own "no route" or "wrong method").
// Usage: node openapi_test.mjs FERRYD
import { Validator } from "@seriousme/openapi-schema-validator";
import { startFerryd, check } from "./support.mjs";

const broker = await startFerryd(process.argv[2]);
try {
  const res = await fetch(`${broker.url}/v1/openapi.json`);
  check(res.status === 200, "GET /v1/openapi.json answers 200");
  const doc = await res.json();
  const validator = new Validator();
  const result = await validator.validate(doc);
  if (!result.valid) console.log(JSON.stringify(result.errors, null, 2));
  check(result.valid, "the document is a valid OpenAPI 3.1 document");
  check(doc.openapi === "3.1.0", "it says OpenAPI 3.1.0");

  const listed = [];
  for (const [path, ops] of Object.entries(doc.paths))
    for (const method of Object.keys(ops)) listed.push([method.toUpperCase(), path]);
  for (const required of ["GET /livez", "GET /readyz", "GET /version", "GET /metrics",
                          "GET /v1/topics", "POST /v1/topics", "GET /v1/topics/{name}",
                          "DELETE /v1/topics/{name}", "GET /v1/subscriptions",
                          "POST /v1/subscriptions", "GET /v1/groups", "GET /v1/openapi.json"])
    check(listed.some(([m, p]) => `${m} ${p}` === required), `the document lists ${required}`);

  for (const [method, path] of listed) {
    const url = broker.url + path.replace(/\{[^}]+\}/g, "x");
    const r = await fetch(url, { method, body: method === "POST" ? "{}" : undefined });
    const body = await r.text();
    const noRoute = (r.status === 404 || r.status === 405) && body.includes('"UNKNOWN_REQUEST"');
    check(!noRoute, `the router has ${method} ${path} (${r.status})`);
  }
  // And the other way: a route the router lacks is refused as such.
  const none = await fetch(`${broker.url}/v1/nothing`);
  check(none.status === 404 && (await none.text()).includes("UNKNOWN_REQUEST"),
        "an unlisted path is the router's 404");
  for (const [name, schema] of Object.entries(doc.components.schemas))
    check(schema.type === "object", `schema ${name} is an object`);
} finally {
  await broker.stop();
}
