// The Kubernetes manifests, checked offline (there is no API server here):
// - `kubectl kustomize` renders the base and the example overlay;
// - every object validates against the Kubernetes schemas (kubernetes-models);
// - no object has a field the schema does not know (kubernetes-models does not check
//   that: a misspelt optional field passes its validation), walked here over the models'
//   type declarations, and a misspelt copy is shown to be caught;
// - the probes, ports and scrape annotations agree with ferryd's config in the ConfigMap,
//   and a real ferryd started with that config answers the probe and metrics paths;
// - the cluster overlay: three ferryd pods naming every member of its three-member etcd,
//   each advertising its stable DNS name, with FERRY_* variables ferryd reads as the
//   cluster options they are meant to set.
// Usage: node k8s_test.mjs FERRYD SOURCE_DIR
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { check, startFerryd } from "./support.mjs";

const [ferryd, source] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const modelsRoot = dirname(require.resolve("kubernetes-models/package.json"));

function render(dir) {
  const r = spawnSync("kubectl", ["kustomize", join(source, dir)], { encoding: "utf8" });
  check(r.status === 0, `kubectl kustomize ${dir} renders (${r.stderr.trim() || "no error"})`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS());
}

// The model file of an object: kubernetes-models/<group>/<version>/<Kind> (core: v1/...).
function modelPath(obj) {
  return join(modelsRoot, ...obj.apiVersion.split("/"), obj.kind);
}

// ---- unknown fields, over the models' .d.ts declarations ----
const interfaces = new Map();  // .d.ts file -> { props: Map(name -> type), imports }

function declarations(file) {
  if (interfaces.has(file)) return interfaces.get(file);
  const text = readFileSync(file, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) imports.set(m[1], m[2]);
  const body = text.match(/export interface \w+( extends TypeMeta)? \{([\s\S]*?)\n\}/);
  let props = null;
  if (body) {
    props = new Map(body[1] ? [["apiVersion", "string"], ["kind", "string"]] : []);
    for (const m of body[2].matchAll(/^ {4}"([^"]+)"\??: (.+?);?$/gm)) props.set(m[1], m[2]);
  }
  const d = { props, imports, dir: dirname(file) };
  interfaces.set(file, d);
  return d;
}

function resolveImport(d, typeName) {
  const from = d.imports.get(typeName);
  if (!from) return null;
  const base = from.startsWith(".") ? join(d.dir, from) : join(modelsRoot, "..", from);
  return existsSync(base + ".d.ts") ? base + ".d.ts" : null;
}

// Lists "path: field" for every key the declaration in `file` does not have.
function unknownFields(value, file, path, out) {
  const d = declarations(file);
  if (!d.props || value === null || typeof value !== "object" || Array.isArray(value)) return out;
  for (const [key, v] of Object.entries(value)) {
    const type = d.props.get(key);
    if (type === undefined) {
      out.push(`${path}.${key}`);
      continue;
    }
    const array = type.match(/^Array<(\w+)>$/);
    const named = array ? array[1] : type.match(/^\w+$/) ? type : null;
    const next = named && resolveImport(d, named);
    if (!next) continue;  // a primitive, a map, a union: nothing below to check
    if (array && Array.isArray(v)) v.forEach((e, i) => unknownFields(e, next, `${path}.${key}[${i}]`, out));
    else if (!array) unknownFields(v, next, `${path}.${key}`, out);
  }
  return out;
}

async function validate(objects, what) {
  for (const obj of objects) {
    const name = `${what}: ${obj.kind}/${obj.metadata.name}`;
    const mod = await import(modelPath(obj) + ".mjs");
    let error = null;
    try {
      new mod[obj.kind](obj).validate();
    } catch (e) {
      error = e.message;
    }
    check(error === null, `${name} validates against the Kubernetes schema (${error ?? "valid"})`);
    const unknown = unknownFields(obj, modelPath(obj) + ".d.ts", obj.kind, []);
    check(unknown.length === 0, `${name} has no unknown field (${unknown.join(", ") || "none"})`);
  }
}

const base = render("deploy/kubernetes/base");
const example = render("deploy/kubernetes/example");
const clustered = render("deploy/kubernetes/cluster");
await validate(base, "base");
await validate(example, "example");
await validate(clustered, "cluster");

// The walk catches what the schema lets through.
const sts = structuredClone(base.find((o) => o.kind === "StatefulSet"));
const pod = sts.spec.template.spec;
pod.terminationGracePeriodSecond = pod.terminationGracePeriodSeconds;
pod.containers[0].readinesProbe = pod.containers[0].readinessProbe;
const caught = unknownFields(sts, modelPath(sts) + ".d.ts", "StatefulSet", []);
check(caught.length === 2 && caught.every((p) => /Second$|readinesProbe$/.test(p)),
      `misspelt fields are caught (${caught.join(", ")})`);

// ---- agreement with ferryd's config ----
const configMap = base.find((o) => o.kind === "ConfigMap");
const config = parseYaml(configMap.data["ferryd.yaml"]);
const portOf = (address) => Number(address.slice(address.lastIndexOf(":") + 1));
const container = sts.spec.template.spec.containers[0];
const ports = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
check(ports.wire === portOf(config.net.listen), `the wire port is net.listen's (${ports.wire})`);
check(ports.http === portOf(config.http.listen), `the http port is http.listen's (${ports.http})`);
const dockerfile = readFileSync(join(source, "Dockerfile"), "utf8");
check(dockerfile.includes(`EXPOSE ${ports.wire} ${ports.http}`), "the Dockerfile exposes both ports");
check(dockerfile.includes("COPY deploy/kubernetes/base/ferryd.yaml /etc/ferry/ferryd.yaml"),
      "the image carries the same ferryd.yaml as the ConfigMap");
const mount = container.volumeMounts.find((m) => m.name === "config");
check(mount.mountPath === "/etc/ferry", "the ConfigMap is mounted where ferryd reads its config");
const data = container.volumeMounts.find((m) => m.name === "data");
check(data.mountPath === config.storage.data_dir, `the volume is storage.data_dir (${data.mountPath})`);
const graceMs = config.shutdown?.grace_ms ?? 8000;
check(sts.spec.template.spec.terminationGracePeriodSeconds * 1000 > graceMs,
      `terminationGracePeriodSeconds outlasts shutdown.grace_ms (${graceMs} ms)`);
const security = sts.spec.template.spec.securityContext;
check(security.runAsNonRoot && security.runAsUser === 10001 && security.fsGroup === 10001,
      "the pod runs as the image's non-root user, with fsGroup for its volume");
check(dockerfile.includes("USER 10001:10001"), "the image's user is 10001");

const probes = ["startupProbe", "livenessProbe", "readinessProbe"].map((k) => [k, container[k]]);
for (const [k, p] of probes)
  check(p && p.httpGet.port === "http", `${k} asks the http port`);
const annotations = sts.spec.template.metadata.annotations;
check(Number(annotations["prometheus.io/port"]) === ports.http, "the scrape port is the http port");
for (const svc of base.filter((o) => o.kind === "Service"))
  for (const p of svc.spec.ports)
    check(ports[p.targetPort] === p.port, `Service ${svc.metadata.name} ${p.name} reaches the container`);
for (const o of example.filter((o) => o.kind === "Deployment")) {
  const env = Object.fromEntries(o.spec.template.spec.containers[0].env.map((e) => [e.name, e.value]));
  const svc = base.find((s) => s.kind === "Service" && !s.spec.clusterIP);
  check(env.FERRY_BROKER === `${svc.metadata.name}:${ports.wire}`,
        `${o.metadata.name} reaches ferryd through the Service (${env.FERRY_BROKER})`);
}

// A real ferryd with the ConfigMap's config (loopback, free ports: the addresses are
// overridden) answers every probe path and the scrape path.
const configFile = join(mkdtempSync(join(tmpdir(), "ferry-k8s-")), "ferryd.yaml");
writeFileSync(configFile, configMap.data["ferryd.yaml"]);
const b = await startFerryd(ferryd, ["--config", configFile]);
try {
  for (const [k, p] of probes) {
    const r = await fetch(b.url + p.httpGet.path);
    check(r.status === 200, `${k} ${p.httpGet.path} answers 200 on a real ferryd`);
  }
  const r = await fetch(b.url + annotations["prometheus.io/path"]);
  check(r.status === 200 && (await r.text()).includes("ferry_build_info"),
        `${annotations["prometheus.io/path"]} serves the metrics`);
} finally {
  await b.stop();
}

// ---- the cluster overlay ----
const statefulSet = (name) => clustered.find((o) => o.kind === "StatefulSet" && o.metadata.name === name);
const nodes = statefulSet("ferryd");
const etcd = statefulSet("etcd");
check(nodes.spec.replicas === 3 && etcd.spec.replicas === 3, "three ferryd nodes and three etcd members");
const etcdService = clustered.find((o) => o.kind === "Service" && o.metadata.name === etcd.spec.serviceName);
const etcdPort = (name) => etcdService.spec.ports.find((p) => p.name === name).port;
const members = [0, 1, 2].map((i) => `${etcd.metadata.name}-${i}.${etcd.spec.serviceName}`);
const clusterEnv = Object.fromEntries(
  nodes.spec.template.spec.containers[0].env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
check(clusterEnv.FERRY_CLUSTER_ETCD === members.map((m) => `http://${m}:${etcdPort("client")}`).join(","),
      `ferryd names every etcd member at its client port (${clusterEnv.FERRY_CLUSTER_ETCD})`);
const etcdArgs = etcd.spec.template.spec.containers[0].args.join(" ");
check(etcdArgs.includes("--initial-cluster=" + members.map((m, i) => `etcd-${i}=http://${m}:${etcdPort("peer")}`).join(",")),
      "each etcd member finds the others at their peer port");
check(clusterEnv.FERRY_CLUSTER_ADVERTISE === `$(POD_NAME).${nodes.spec.serviceName}:${ports.wire}`,
      `each node advertises its stable name behind the headless Service (${clusterEnv.FERRY_CLUSTER_ADVERTISE})`);
// ferryd reads the variables as the cluster options they are meant to set (a misspelt
// FERRY_* variable would be ignored).
const podEnv = { ...clusterEnv, FERRY_CLUSTER_ADVERTISE: clusterEnv.FERRY_CLUSTER_ADVERTISE.replace("$(POD_NAME)", "ferryd-1") };
delete podEnv.POD_NAME;
const printed = spawnSync(ferryd, ["--config", configFile, "--print-config"],
                          { encoding: "utf8", env: { ...process.env, ...podEnv } });
check(printed.status === 0, `ferryd takes the cluster overlay's configuration (${printed.stderr.trim() || "ok"})`);
const effective = parseYaml(printed.stdout).cluster;
check(effective.etcd === clusterEnv.FERRY_CLUSTER_ETCD && effective.node_id_from_hostname === true &&
        effective.advertise === podEnv.FERRY_CLUSTER_ADVERTISE,
      "the FERRY_CLUSTER_* variables set cluster.etcd, node_id_from_hostname and advertise");
