import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { join } from "node:path";
import { resolveS3 } from "./_s3_credentials.ts";

async function withDir(fn: (dir: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "cairn-s3cred-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("resolveS3() takes key files first, then AWS_* variables", async () => {
  await withDir((dir) => {
    Deno.writeTextFileSync(join(dir, "id"), "AKIDFILE\n");
    Deno.writeTextFileSync(join(dir, "secret"), "file-secret\n");
    const env = { AWS_ACCESS_KEY_ID: "AKIDENV", AWS_SECRET_ACCESS_KEY: "env-secret", HOME: dir };
    const fromFiles = resolveS3(
      { accessKeyIdFile: join(dir, "id"), secretAccessKeyFile: join(dir, "secret") },
      env,
      false,
    );
    deepStrictEqual(fromFiles.credentials, {
      accessKeyId: "AKIDFILE",
      secretAccessKey: "file-secret",
    });
    const fromEnv = resolveS3({}, { ...env, AWS_SESSION_TOKEN: "tok", AWS_REGION: "eu-2" }, false);
    deepStrictEqual(fromEnv.credentials, {
      accessKeyId: "AKIDENV",
      secretAccessKey: "env-secret",
      sessionToken: "tok",
    });
    equal(fromEnv.region, "eu-2");
    equal(resolveS3({ region: "ap-1" }, env, false).region, "ap-1");
    equal(resolveS3({}, env, false).region, "us-east-1");
  });
});

Deno.test("resolveS3() reads AWS_PROFILE from ~/.aws/credentials and its region", async () => {
  await withDir((dir) => {
    Deno.mkdirSync(join(dir, ".aws"));
    Deno.writeTextFileSync(
      join(dir, ".aws", "credentials"),
      "[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = def\n\n" +
        "[backup]\naws_access_key_id=AKIDBKP\naws_secret_access_key=bkp\naws_session_token=t\n",
    );
    Deno.writeTextFileSync(join(dir, ".aws", "config"), "[profile backup]\nregion = eu-9\n");
    equal(resolveS3({}, { HOME: dir }, false).credentials.accessKeyId, "AKIDDEF");
    const r = resolveS3({}, { HOME: dir, AWS_PROFILE: "backup" }, false);
    deepStrictEqual(r.credentials, {
      accessKeyId: "AKIDBKP",
      secretAccessKey: "bkp",
      sessionToken: "t",
    });
    equal(r.region, "eu-9");
    throws(() => resolveS3({}, { HOME: dir, AWS_PROFILE: "nope" }, false), /AWS_PROFILE "nope"/);
  });
});

Deno.test("resolveS3() errors name what is missing, never a secret", async () => {
  await withDir((dir) => {
    Deno.writeTextFileSync(join(dir, "secret"), "file-secret");
    const cases: [Parameters<typeof resolveS3>[0], Record<string, string>, RegExp][] = [
      [{}, { HOME: dir }, /No S3 credentials/],
      [{}, { HOME: dir, AWS_ACCESS_KEY_ID: "AKID" }, /AWS_SECRET_ACCESS_KEY is not set/],
      [{ secretAccessKeyFile: join(dir, "secret") }, { HOME: dir }, /Set both/],
      [
        { accessKeyIdFile: join(dir, "missing"), secretAccessKeyFile: join(dir, "secret") },
        { HOME: dir },
        /Cannot read access key id file .*missing/,
      ],
    ];
    for (const [settings, env, why] of cases) {
      throws(() => resolveS3(settings, env, false), (err: Error) => {
        equal(err.name, "ConfigError");
        ok(why.test(err.message), err.message);
        ok(!err.message.includes("file-secret"), err.message);
        return true;
      });
    }
  });
});

Deno.test("resolveS3() loads ca_file, else AWS_CA_BUNDLE, for https only", async () => {
  await withDir((dir) => {
    Deno.writeTextFileSync(join(dir, "ca.pem"), "PEM-A");
    Deno.writeTextFileSync(join(dir, "bundle.pem"), "PEM-B");
    const env = { HOME: dir, AWS_ACCESS_KEY_ID: "A", AWS_SECRET_ACCESS_KEY: "B" };
    const withBundle = { ...env, AWS_CA_BUNDLE: join(dir, "bundle.pem") };
    deepStrictEqual(resolveS3({ caFile: join(dir, "ca.pem") }, withBundle, true).caCerts, [
      "PEM-A",
    ]);
    deepStrictEqual(resolveS3({}, withBundle, true).caCerts, ["PEM-B"]);
    equal(resolveS3({}, withBundle, false).caCerts, undefined);
    throws(() => resolveS3({ caFile: join(dir, "none.pem") }, env, true), /Cannot read CA file/);
  });
});
