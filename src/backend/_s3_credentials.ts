/**
 * Where the S3 backend's credentials, region and CA certificates come from,
 * in the order the AWS tools use: a job file's key files, then
 * `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), then
 * the `AWS_PROFILE` (default `default`) section of `~/.aws/credentials`
 * (or `AWS_SHARED_CREDENTIALS_FILE`). The secret is only ever kept in the
 * returned object: messages name files and variables, never their contents.
 *
 * @module
 */

import { join } from "node:path";
import type { S3Settings } from "./s3_settings.ts";

/** What signing needs. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Everything taken from the environment and files for one backend. */
export interface S3Resolved {
  credentials: S3Credentials;
  region: string;
  /** PEM text of extra CA certificates, when a CA file is configured. */
  caCerts?: string[];
  /** Where the CA certificates came from, for messages. */
  caFile?: string;
}

type Env = Record<string, string | undefined>;

/**
 * A setting is missing or unreadable: exit code 2, like a bad job file. The
 * name is the one the command line maps to a configuration error.
 */
export class S3ConfigError extends Error {
  /** Retrying cannot fix a setting. */
  readonly transient = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/** Resolves credentials, region and CA for `settings` from `env` and files. */
export function resolveS3(settings: S3Settings, env: Env, https: boolean): S3Resolved {
  const profileName = env.AWS_PROFILE || "default";
  const home = env.HOME ?? env.USERPROFILE ?? "";
  const credentials = fromKeyFiles(settings) ?? fromEnv(env) ??
    fromProfile(env.AWS_SHARED_CREDENTIALS_FILE || join(home, ".aws", "credentials"), profileName);
  if (!credentials && env.AWS_PROFILE) {
    throw new S3ConfigError(
      `AWS_PROFILE "${env.AWS_PROFILE}" has no section in the credentials file`,
    );
  }
  if (!credentials) {
    throw new S3ConfigError(
      "No S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE " +
        "(~/.aws/credentials), or access_key_id_file and secret_access_key_file in the job file",
    );
  }
  const region = settings.region || env.AWS_REGION || env.AWS_DEFAULT_REGION ||
    profileRegion(env.AWS_CONFIG_FILE || join(home, ".aws", "config"), profileName) ||
    "us-east-1";
  const caFile = https ? settings.caFile || env.AWS_CA_BUNDLE || undefined : undefined;
  const caCerts = caFile === undefined ? undefined : [readSetting(caFile, "CA file")];
  return { credentials, region, caCerts, caFile };
}

function fromKeyFiles(s: S3Settings): S3Credentials | undefined {
  if (s.accessKeyIdFile === undefined && s.secretAccessKeyFile === undefined) return undefined;
  if (s.accessKeyIdFile === undefined || s.secretAccessKeyFile === undefined) {
    throw new S3ConfigError("Set both access_key_id_file and secret_access_key_file, or neither");
  }
  const accessKeyId = readSetting(s.accessKeyIdFile, "access key id file").trim();
  const secretAccessKey = readSetting(s.secretAccessKeyFile, "secret access key file").trim();
  if (accessKeyId === "" || secretAccessKey === "") {
    throw new S3ConfigError(
      `S3 key file ${accessKeyId === "" ? s.accessKeyIdFile : s.secretAccessKeyFile} is empty`,
    );
  }
  return { accessKeyId, secretAccessKey };
}

function fromEnv(env: Env): S3Credentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId && !secretAccessKey) return undefined;
  if (!accessKeyId || !secretAccessKey) {
    throw new S3ConfigError(
      `${accessKeyId ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"} is not set ` +
        `(both it and ${accessKeyId ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"} are needed)`,
    );
  }
  return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined };
}

function fromProfile(file: string, profile: string): S3Credentials | undefined {
  const section = readIni(file)?.get(profile);
  if (!section) return undefined;
  const accessKeyId = section.get("aws_access_key_id");
  const secretAccessKey = section.get("aws_secret_access_key");
  if (!accessKeyId || !secretAccessKey) {
    throw new S3ConfigError(
      `Profile "${profile}" in ${file} lacks aws_access_key_id or aws_secret_access_key`,
    );
  }
  return { accessKeyId, secretAccessKey, sessionToken: section.get("aws_session_token") };
}

/** `region` of a profile in ~/.aws/config, where sections read `[profile NAME]`. */
function profileRegion(file: string, profile: string): string | undefined {
  const ini = readIni(file);
  const section = ini?.get(profile === "default" ? "default" : `profile ${profile}`) ??
    ini?.get(profile);
  return section?.get("region");
}

/** Sections of an INI file, or undefined when the file does not exist. */
function readIni(file: string): Map<string, Map<string, string>> | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new S3ConfigError(`Cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1], current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq > 0 && current) current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return sections;
}

/** Reads a settings file; the error names the file, never what is in it. */
function readSetting(file: string, what: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch (err) {
    throw new S3ConfigError(`Cannot read ${what} ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
