import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { formatS3Location, parseS3Location } from "./_s3_location.ts";

Deno.test("parseS3Location() reads endpoint, bucket and prefix of each form", () => {
  deepStrictEqual(parseS3Location("s3:https://rgw.example:8443/backups/hosts/web1"), {
    endpoint: "https://rgw.example:8443",
    bucket: "backups",
    prefix: "hosts/web1",
    settings: {},
  });
  deepStrictEqual(parseS3Location("s3:http://127.0.0.1:7480/bkt"), {
    endpoint: "http://127.0.0.1:7480",
    bucket: "bkt",
    prefix: "",
    settings: {},
  });
  // restic's short form means https.
  deepStrictEqual(parseS3Location("s3:s3.amazonaws.com/bucket/a/b/"), {
    endpoint: "https://s3.amazonaws.com",
    bucket: "bucket",
    prefix: "a/b",
    settings: {},
  });
});

Deno.test("parseS3Location() refuses malformed locations with one line naming them", () => {
  for (
    const [location, why] of [
      ["s3:", /no bucket/],
      ["s3:https://host", /no bucket/],
      ["s3:http://backup.example.com/bkt", /plain http is only allowed/],
      ["s3:https://key:secret@host/bkt", /credentials do not belong/],
      ["s3:https://host/Bad_Bucket", /not a valid bucket name/],
      ["s3:ftp://host/bkt", /only http/],
      ["s3:https://host/bkt?colour=red", /unknown setting "colour"/],
    ] as const
  ) {
    throws(() => parseS3Location(location), (err: Error) => {
      equal(err instanceof TypeError, true);
      equal(why.test(err.message), true, err.message);
      equal(err.message.includes(location), true, err.message);
      equal(err.message.includes("\n"), false);
      return true;
    });
  }
  for (const host of ["10.1.2.3", "192.168.0.9", "172.20.0.1", "localhost", "[::1]"]) {
    equal(parseS3Location(`s3:http://${host}/bkt`).bucket, "bkt");
  }
});

Deno.test("formatS3Location() round-trips settings through the query", () => {
  const loc = parseS3Location("s3:https://host/bkt/p", {
    region: "eu-west-1",
    pathStyle: false,
    accessKeyIdFile: "/etc/cairn/key id",
    secretAccessKeyFile: "/etc/cairn/secret",
  });
  const text = formatS3Location(loc);
  deepStrictEqual(parseS3Location(text), loc);
  equal(formatS3Location(parseS3Location("s3:https://host/bkt")), "s3:https://host/bkt");
});
