import { equal, ok, rejects, throws } from "node:assert/strict";
import { join, resolve } from "node:path";
import { LocalBackend } from "./local.ts";
import { createBackend, openBackend } from "./open_backend.ts";

Deno.test("openBackend() opens a plain path as a local backend", () => {
  const backend = openBackend("/srv/repo");
  ok(backend instanceof LocalBackend);
  equal(backend.location, "local:/srv/repo");
});

Deno.test("openBackend() resolves relative paths against the cwd", () => {
  equal(openBackend("repo").location, `local:${resolve("repo")}`);
  equal(openBackend("local:repo").location, `local:${resolve("repo")}`);
  equal(openBackend("local:/srv/repo").location, "local:/srv/repo");
});

Deno.test("openBackend() refuses schemes it does not support", () => {
  throws(() => openBackend("sftp:host/repo"), (err: Error) => {
    ok(err instanceof TypeError);
    ok(/"sftp:" is not supported/.test(err.message), err.message);
    return true;
  });
  throws(() => openBackend(""), TypeError);
  throws(() => openBackend("local:"), TypeError);
});

Deno.test("createBackend() lays out a new local repository and refuses an existing one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-open-" });
  try {
    const backend = await createBackend(`local:${join(dir, "repo")}`);
    equal(backend.location, `local:${join(dir, "repo")}`);
    await backend.save("config", "config", new Uint8Array([1]));
    await rejects(createBackend(join(dir, "repo")), Deno.errors.AlreadyExists);
    await rejects(createBackend("sftp:bucket"), TypeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openBackend() opens s3: locations with credentials from the given env", () => {
  const env = { AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "secret", HOME: "/nonexistent" };
  const backend = openBackend("s3:http://127.0.0.1:9/bkt/repo", { env });
  equal(backend.location, "s3:http://127.0.0.1:9/bkt/repo");
  equal(
    openBackend("s3:https://host/bkt", { env, s3: { region: "eu-1" } }).location,
    "s3:https://host/bkt?region=eu-1",
  );
  throws(() => openBackend("s3:https://host/bkt", { env: { HOME: "/nonexistent" } }), {
    name: "ConfigError",
  });
});
