import { SuiteScope } from "@lockstep/shared";
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import { TEMPLATE } from "./support/app-spec.js";
import { post, startApi, startCluster, tokenCommand, waitForOperation, type ApiUnderTest } from "./support/cluster.js";
import { databaseState, nodeState } from "./support/state-digest.js";

/**
 * Hostile input against the running services: a real API process, a real agent over mTLS on
 * a simulated node, real MariaDB. Every case is refused with the right status, and the
 * database and the node are checked to be exactly as they were.
 */
type Cluster = Awaited<ReturnType<typeof startCluster>>;
const test = anyTest as TestFn<{
  cluster: Cluster;
  container: { id: string; vmid: number };
  read: string;
  operator: string;
  otherAdmin: string;
}>;

const HOSTILE = ["web;id", "$(id)", "`id`", "a|b", "a && b", "a\nb", "'\"", "../../etc", "a\u0000b", "a b", "a>b"];

const suite = new SuiteScope();

test.before(async (t) => {
  const cluster = await startCluster(suite, ["pve1"], {
    LOCKSTEP_API_RATE_PER_SECOND: "200",
    LOCKSTEP_API_RATE_BURST: "600",
    LOCKSTEP_API_RECONCILE_INTERVAL_MS: "3600000",
  });
  const res = await post(
    cluster.api,
    "/v1/containers",
    { node: "pve1", spec: { hostname: "victim", source: { template: TEMPLATE } } },
    "victim-create",
  );
  const container = (await res.json()) as { id: string; vmid: number; operation_id: string };
  t.is((await waitForOperation(cluster.api, container.operation_id)).status, "succeeded");
  const [read, operator, otherAdmin] = await Promise.all([
    tokenCommand(cluster.db.url, ["create", "--name", "viewer", "--scope", "read"]),
    tokenCommand(cluster.db.url, ["create", "--name", "panel", "--scope", "operator"]),
    tokenCommand(cluster.db.url, ["create", "--name", "other-admin", "--scope", "admin"]),
  ]);
  t.context = { cluster, container, read, operator, otherAdmin };
});
test.afterEach.always((t) => suite.noteResult(t));
test.after.always(() => suite.close());

/** Runs `attack`, then checks the database and the node are unchanged. */
async function leavesNothing(t: ExecutionContext<{ cluster: Cluster }>, attack: () => Promise<void>): Promise<void> {
  const { cluster } = t.context;
  const root = cluster.agents.get("pve1")!.root;
  const [dbBefore, nodeBefore] = [await databaseState(cluster.db.pool), nodeState(root)];
  await attack();
  t.deepEqual(await databaseState(cluster.db.pool), dbBefore, "the database is unchanged");
  t.deepEqual(nodeState(root), nodeBefore, "the simulated node is unchanged");
}

function send(
  api: ApiUnderTest,
  path: string,
  init: { method?: string; body?: string; token?: string | null; key?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", ...init.headers };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? api.token}`;
  if (init.key) headers["idempotency-key"] = init.key;
  return fetch(`${api.url}${path}`, { method: init.method ?? "GET", body: init.body, headers });
}

async function problem(
  res: Response,
): Promise<{ status: number; code: string; pointers: string[]; type: string | null }> {
  const body = (await res.json()) as { code: string; errors?: { pointer: string }[] };
  return {
    status: res.status,
    code: body.code,
    pointers: (body.errors ?? []).map((e) => e.pointer),
    type: res.headers.get("content-type"),
  };
}

const validSpec = () => ({
  hostname: "web-1",
  source: { template: TEMPLATE },
  resources: { storage: "local-lvm" },
  network: { bridge: "vmbr0", ip: "10.0.0.5/24", gateway: "10.0.0.1" },
  security: { apparmor_profile: "lxc-container-default" },
  features: [{ name: "marker", guard: ["true"], action: ["true"] }],
  files: [{ path: "/etc/app.conf", content: "x", mode: "0644", user: "root", group: "root" }],
  services: [{ unit: "app.service", content: "[Service]\nExecStart=/bin/true\n" }],
  health_checks: [{ name: "up", command: ["true"] }],
});

/** Every string field of a create body with a grammar, and how to put a value there. */
const CREATE_FIELDS: Record<
  string,
  (
    body: { node: string; ports: string[]; spec: ReturnType<typeof validSpec> & Record<string, unknown> },
    v: string,
  ) => void
> = {
  "/node": (b, v) => (b.node = v),
  "/ports/0": (b, v) => (b.ports = [v]),
  "/spec/hostname": (b, v) => (b.spec.hostname = v),
  "/spec/source/template": (b, v) => (b.spec.source = { template: `local:vztmpl/${v}.tar.zst` }),
  "/spec/source/clone/snapshot": (b, v) => (b.spec.source = { clone: { vmid: 100, snapshot: v } } as never),
  "/spec/resources/storage": (b, v) => (b.spec.resources.storage = v),
  "/spec/network/bridge": (b, v) => (b.spec.network.bridge = v),
  "/spec/network/ip": (b, v) => (b.spec.network.ip = v),
  "/spec/network/gateway": (b, v) => (b.spec.network.gateway = v),
  "/spec/security/apparmor_profile": (b, v) => (b.spec.security.apparmor_profile = v),
  "/spec/features/0/name": (b, v) => (b.spec.features[0]!.name = v),
  "/spec/files/0/path": (b, v) => (b.spec.files[0]!.path = `/etc/${v}`),
  "/spec/files/0/mode": (b, v) => (b.spec.files[0]!.mode = v),
  "/spec/files/0/user": (b, v) => (b.spec.files[0]!.user = v),
  "/spec/services/0/unit": (b, v) => (b.spec.services[0]!.unit = `${v}.service`),
  "/spec/health_checks/0/name": (b, v) => (b.spec.health_checks[0]!.name = v),
};

test.serial(
  "shell metacharacters, '..' and NUL in every string field of a create are refused with the field named",
  async (t) => {
    await leavesNothing(t, async () => {
      for (const [pointer, put] of Object.entries(CREATE_FIELDS)) {
        for (const value of HOSTILE) {
          const body = { node: "pve1", ports: ["http"], spec: validSpec() };
          put(body as never, value);
          const p = await problem(
            await send(t.context.cluster.api, "/v1/containers", {
              method: "POST",
              body: JSON.stringify(body),
              key: `hostile-${pointer}-${HOSTILE.indexOf(value)}`,
            }),
          );
          t.is(p.status, 400, `${pointer} = ${JSON.stringify(value)}`);
          t.true(
            p.pointers.some((found) => found !== "" && (pointer.startsWith(found) || found.startsWith(pointer))),
            `${pointer} = ${JSON.stringify(value)} names ${p.pointers.join(", ")}`,
          );
        }
      }
    });
  },
);

test.serial("a leading '-' is refused wherever a value could be read as an option", async (t) => {
  const fields = [
    "/node",
    "/ports/0",
    "/spec/hostname",
    "/spec/source/clone/snapshot",
    "/spec/resources/storage",
    "/spec/network/bridge",
    "/spec/features/0/name",
    "/spec/files/0/user",
    "/spec/health_checks/0/name",
  ];
  await leavesNothing(t, async () => {
    for (const pointer of fields) {
      const body = { node: "pve1", ports: ["http"], spec: validSpec() };
      CREATE_FIELDS[pointer]!(body as never, "-rf");
      t.is(
        (
          await send(t.context.cluster.api, "/v1/containers", {
            method: "POST",
            body: JSON.stringify(body),
            key: `dash-${pointer}`,
          })
        ).status,
        400,
        pointer,
      );
    }
    const unit = {
      node: "pve1",
      spec: { ...validSpec(), services: [{ unit: "-rf.service", content: "[Service]\n" }] },
    };
    t.is(
      (
        await send(t.context.cluster.api, "/v1/containers", {
          method: "POST",
          body: JSON.stringify(unit),
          key: "dash-unit",
        })
      ).status,
      400,
      "unit",
    );
  });
});

test.serial("a file path that climbs out with '..' or is not normalized is refused", async (t) => {
  await leavesNothing(t, async () => {
    for (const path of [
      "/etc/../root/.ssh/authorized_keys",
      "/var/lib/lockstep/../../x",
      "/etc/./passwd",
      "//etc/passwd",
      "etc/passwd",
      "/etc/app/",
      "/etc/a\u0000b",
    ]) {
      const spec = { ...validSpec(), files: [{ path, content: "x" }] };
      const p = await problem(
        await send(t.context.cluster.api, "/v1/containers", {
          method: "POST",
          body: JSON.stringify({ node: "pve1", spec }),
          key: `climb-${encodeURIComponent(path)}`,
        }),
      );
      t.is(p.status, 400, path);
      t.deepEqual(p.pointers, ["/spec/files/0/path"], path);
    }
  });
});

test.serial("malformed JSON is a 400 problem document", async (t) => {
  await leavesNothing(t, async () => {
    for (const body of ['{"node":', "not json", "", "\u0000", '{"node":"pve1","spec":{"hostname":"a"}}}']) {
      const p = await problem(
        await send(t.context.cluster.api, "/v1/containers", { method: "POST", body, key: `malformed-${body.length}` }),
      );
      t.is(p.status, 400, JSON.stringify(body));
      t.is(p.type, "application/problem+json");
    }
  });
});

test.serial("a body over the size limit is 413 before it is parsed", async (t) => {
  await leavesNothing(t, async () => {
    const huge = JSON.stringify({
      node: "pve1",
      spec: { ...validSpec(), script: { content: "x".repeat(5 * 1024 * 1024) } },
    });
    const p = await problem(
      await send(t.context.cluster.api, "/v1/containers", { method: "POST", body: huge, key: "too-big" }),
    );
    t.is(p.status, 413);
    t.is(p.code, "RESOURCE_EXHAUSTED");
  });
});

test.serial("deeply nested JSON is refused without harm", async (t) => {
  await leavesNothing(t, async () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    t.is(
      (await send(t.context.cluster.api, "/v1/containers", { method: "POST", body: deep, key: "deep" })).status,
      400,
    );
    t.is((await send(t.context.cluster.api, "/healthz")).status, 200);
  });
});

test.serial("wrong types are refused with each field named", async (t) => {
  await leavesNothing(t, async () => {
    const body = {
      node: 5,
      ports: "many",
      spec: { hostname: ["a"], source: { template: true }, resources: { cores: "4", memory_mb: 1.5 }, onboot: "yes" },
    };
    const p = await problem(
      await send(t.context.cluster.api, "/v1/containers", { method: "POST", body: JSON.stringify(body), key: "types" }),
    );
    t.is(p.status, 400);
    for (const pointer of ["/node", "/ports", "/spec/hostname"])
      t.true(
        p.pointers.some((found) => found.startsWith(pointer)),
        pointer,
      );
  });
});

test.serial("unknown fields are refused, at the top and deep inside the spec", async (t) => {
  await leavesNothing(t, async () => {
    for (const [name, body] of [
      ["top", { node: "pve1", spec: validSpec(), admin: true }],
      ["spec", { node: "pve1", spec: { ...validSpec(), privileged: true } }],
      [
        "nested",
        { node: "pve1", spec: { ...validSpec(), security: { unprivileged: false, lxc_raw: "lxc.cap.drop=" } } },
      ],
    ] as const) {
      t.is(
        (
          await send(t.context.cluster.api, "/v1/containers", {
            method: "POST",
            body: JSON.stringify(body),
            key: `unknown-${name}`,
          })
        ).status,
        400,
        name,
      );
    }
  });
});

test.serial("out-of-range and malformed VMIDs are refused, in bodies and in paths", async (t) => {
  const { api } = t.context.cluster;
  await leavesNothing(t, async () => {
    for (const vmid of [0, 99, 1_000_000_000, -1, 100.5, "100", null]) {
      const spec = { ...validSpec(), source: { clone: { vmid } } };
      const p = await problem(
        await send(api, "/v1/containers", {
          method: "POST",
          body: JSON.stringify({ node: "pve1", spec }),
          key: `vmid-${String(vmid)}`,
        }),
      );
      t.is(p.status, 400, String(vmid));
      t.true(
        p.pointers.some((found) => found.startsWith("/spec/source")),
        String(vmid),
      );
    }
    for (const vmid of ["0", "99", "1000000000", "-1", "1e3", "100;id", "1%2F2", "0x10"]) {
      for (const path of [`/v1/nodes/pve1/locks/${vmid}`, `/v1/nodes/pve1/containers/${vmid}`]) {
        const p = await problem(await send(api, path));
        t.is(p.status, 400, path);
        t.deepEqual(p.pointers, ["/path/vmid"], path);
      }
    }
  });
});

test.serial("malformed IDs and names in paths and queries are refused before any lookup", async (t) => {
  const { api } = t.context.cluster;
  await leavesNothing(t, async () => {
    for (const [path, pointer] of [
      ["/v1/containers/..%2F..%2Fetc", "/path/id"],
      ["/v1/containers/1;DROP%20TABLE%20containers", "/path/id"],
      ["/v1/operations/%27%20OR%201=1", "/path/id"],
      ["/v1/nodes/pve1;id/health", "/path/name"],
      ["/v1/nodes/$(id)", "/path/name"],
      ["/v1/incidents?vmid=99", "/query/vmid"],
      ["/v1/incidents?since=yesterday", "/query/since"],
      ["/v1/drift?kind=everything", "/query/kind"],
      ["/v1/containers?limit=1e9", "/query/limit"],
    ] as const) {
      const p = await problem(await send(api, path));
      t.is(p.status, 400, path);
      t.deepEqual(p.pointers, [pointer], path);
    }
    const apply = await problem(
      await send(api, "/v1/containers/not-a-uuid/apply", { method: "POST", body: "{}", key: "apply-bad-id" }),
    );
    t.deepEqual([apply.status, apply.pointers], [400, ["/path/id"]]);
  });
});

test.serial("a node registration with a hostile name or address is refused", async (t) => {
  await leavesNothing(t, async () => {
    for (const body of [
      { name: "pve2;id", address: "127.0.0.1:7000" },
      { name: "pve2", address: "127.0.0.1:7000;id" },
      { name: "pve2", address: "$(id):7000" },
      { name: "pve2", address: "[::1]:7000\nx" },
      { name: "-pve2", address: "127.0.0.1:7000" },
    ]) {
      t.is(
        (
          await send(t.context.cluster.api, "/v1/nodes", {
            method: "POST",
            body: JSON.stringify(body),
            key: `node-${JSON.stringify(body)}`,
          })
        ).status,
        400,
        JSON.stringify(body),
      );
    }
  });
});

test.serial(
  "every route but the health checks refuses a request without a token, whether the resource exists or not",
  async (t) => {
    const { api } = t.context.cluster;
    const { id } = t.context.container;
    await leavesNothing(t, async () => {
      const routes: [string, string][] = [
        ["GET", "/v1/containers"],
        ["GET", `/v1/containers/${id}`],
        ["GET", "/v1/containers/00000000-0000-0000-0000-000000000000"],
        ["POST", "/v1/containers"],
        ["POST", `/v1/containers/${id}/apply`],
        ["DELETE", `/v1/containers/${id}`],
        ["GET", "/v1/nodes"],
        ["POST", "/v1/nodes"],
        ["GET", "/v1/nodes/pve1/health"],
        ["GET", "/v1/nodes/pve1/locks/150"],
        ["GET", "/v1/operations/00000000-0000-0000-0000-000000000000"],
        ["GET", "/v1/incidents"],
        ["GET", "/v1/drift"],
        ["POST", "/v1/reconcile"],
        ["GET", "/v1/nodes/pve1/containers/150"],
        ["GET", "/metrics"],
        ["GET", "/v1/no-such-route"],
        ["GET", "/"],
      ];
      const bodies = new Set<string>();
      for (const [method, path] of routes) {
        for (const token of [null, "lst_000000000000_" + "A".repeat(43), "garbage"]) {
          const res = await send(api, path, {
            method,
            token,
            key: `noauth-${method}-${path}`,
            body: method === "GET" ? undefined : "{}",
          });
          t.is(res.status, 401, `${method} ${path}`);
          const body = (await res.json()) as { detail: string };
          bodies.add(body.detail);
        }
      }
      t.is(bodies.size, 2, "one message for no token, one for a bad token; neither depends on the route");
      t.is((await send(api, "/healthz", { token: null })).status, 200);
      t.is((await send(api, "/readyz", { token: null })).status, 200);
    });
  },
);

test.serial(
  "a read token may not create, apply, delete, reconcile or register, and the refusal is the same for any resource",
  async (t) => {
    const { api } = t.context.cluster;
    const { id } = t.context.container;
    const { read, operator } = t.context;
    await leavesNothing(t, async () => {
      const writes: [string, string, string][] = [
        ["POST", "/v1/containers", JSON.stringify({ node: "pve1", spec: validSpec() })],
        ["POST", `/v1/containers/${id}/apply`, "{}"],
        ["POST", "/v1/containers/00000000-0000-0000-0000-000000000000/apply", "{}"],
        ["DELETE", `/v1/containers/${id}`, ""],
        ["DELETE", "/v1/containers/00000000-0000-0000-0000-000000000000", ""],
        ["POST", "/v1/reconcile", "{}"],
        ["POST", "/v1/nodes", JSON.stringify({ name: "pve2", address: "127.0.0.1:7002" })],
      ];
      for (const [method, path, body] of writes) {
        const p = await problem(
          await send(api, path, { method, body: body || undefined, token: read, key: `read-${method}-${path}` }),
        );
        t.deepEqual([p.status, p.code], [403, "PERMISSION_DENIED"], `${method} ${path}`);
      }
      const register = await problem(
        await send(api, "/v1/nodes", {
          method: "POST",
          body: JSON.stringify({ name: "pve2", address: "127.0.0.1:7002" }),
          token: operator,
          key: "operator-register",
        }),
      );
      t.is(register.status, 403);
    });
  },
);

test.serial(
  "an idempotency key replayed from another token is refused, never answered with the first response",
  async (t) => {
    const { api } = t.context.cluster;
    await leavesNothing(t, async () => {
      const replay = await send(api, "/v1/containers", {
        method: "POST",
        body: JSON.stringify({ node: "pve1", spec: { hostname: "victim", source: { template: TEMPLATE } } }),
        token: t.context.otherAdmin,
        key: "victim-create",
      });
      t.is(replay.status, 422);
      t.is(replay.headers.get("idempotent-replayed"), null);
      const body = (await replay.json()) as Record<string, unknown>;
      t.is(body.code, "REQUEST_ID_REUSED");
      t.false(JSON.stringify(body).includes(t.context.container.id), "nothing of the first response leaks");
    });
  },
);

test.serial("an over-long or non-printable idempotency key is refused", async (t) => {
  await leavesNothing(t, async () => {
    const p = await problem(
      await send(t.context.cluster.api, "/v1/containers", {
        method: "POST",
        body: JSON.stringify({ node: "pve1", spec: validSpec() }),
        key: "k".repeat(256),
      }),
    );
    t.deepEqual([p.status, p.pointers], [400, ["/headers/idempotency-key"]]);
  });
});

test.serial("headers over the size limit get 431 with a problem document", async (t) => {
  await leavesNothing(t, async () => {
    const res = await send(t.context.cluster.api, "/v1/containers", {
      headers: { "x-padding": "a".repeat(64 * 1024) },
    });
    t.is(res.status, 431);
    t.is(((await res.json()) as { code: string }).code, "RESOURCE_EXHAUSTED");
  });
});

test.serial("a token over its request rate gets 429 with Retry-After while other tokens are served", async (t) => {
  // A process of its own with a small bucket, so the flood outruns the refill on any machine.
  const strict = await startApi(t.context.cluster.db.url, {
    LOCKSTEP_API_RATE_PER_SECOND: "2",
    LOCKSTEP_API_RATE_BURST: "10",
    LOCKSTEP_API_RECONCILE_INTERVAL_MS: "3600000",
  });
  t.teardown(() => strict.stop());
  await leavesNothing(t, async () => {
    const started = Date.now();
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () =>
        send(strict, "/v1/nodes", { token: t.context.read }).then(
          (r) => [r.status, r.headers.get("retry-after")] as const,
        ),
      ),
    );
    const allowedAtMost = 10 + Math.ceil((2 * (Date.now() - started)) / 1000);
    const limited = statuses.filter(([s]) => s === 429);
    t.true(
      40 - limited.length <= allowedAtMost,
      `at most the burst plus the refill went through (${40 - limited.length} of 40)`,
    );
    t.true(limited.length > 0);
    t.true(limited.every(([, retry]) => Number(retry) >= 1));
    t.is((await send(strict, "/v1/nodes", { token: t.context.operator })).status, 200);
  });
});

test.serial("secrets never appear in the API's logs or responses", async (t) => {
  const { api, db } = t.context.cluster;
  const secrets = [api.token, t.context.read, t.context.operator, t.context.otherAdmin].map((token) =>
    token.slice("lst_000000000000_".length),
  );
  const password = new URL(db.url).password;
  const logs = api.logs();
  for (const secret of [...secrets, ...(password ? [password] : [])])
    t.false(logs.includes(secret), "a secret reached the log");
  const nodes = await (await send(api, "/v1/nodes")).text();
  for (const secret of secrets) t.false(nodes.includes(secret));
});
