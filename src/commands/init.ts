import {
  type Command,
  createRepositoryBackend,
  expectPositionals,
  FROM_REPOSITORY_OPTIONS,
  intFlag,
  obtainPassword,
  openFromRepository,
  repositoryLocation,
  UsageError,
} from "../cli/mod.ts";
import { DEFAULT_KDF_PARAMS, validateKdfParams } from "../crypto/mod.ts";
import {
  DEFAULT_COMPRESSION,
  DEFAULT_PACK_SIZE,
  DEFAULT_S3_PACK_SIZE,
  type ObjectLockConfig,
  Repository,
} from "../repo/mod.ts";

/** `cairn init`: create a repository. */
export const initCommand: Command = {
  name: "init",
  summary: "create a new repository (refuses to overwrite one)",
  usage: "cairn init [--repo LOCATION] [--copy-chunker-params --from-repo SRC]",
  description: [
    "With --copy-chunker-params the new repository takes the chunk sizes, the chunker",
    "secret and the blob id key of the repository --from-repo names (its encryption key",
    "stays its own), so the same content makes the same blobs in both: 'cairn copy'",
    "between them copies blobs as they are and deduplicates with what each holds.",
  ].join("\n"),
  usesRepository: true,
  options: {
    "copy-chunker-params": {
      type: "boolean",
      description: "take the chunker parameters and blob id key of --from-repo",
    },
    ...FROM_REPOSITORY_OPTIONS,
    "kdf-memory": {
      type: "string",
      arg: "MiB",
      description: `Argon2id memory for the key (default ${DEFAULT_KDF_PARAMS.memoryKiB / 1024})`,
    },
    "kdf-iterations": {
      type: "string",
      arg: "N",
      description: `Argon2id passes (default ${DEFAULT_KDF_PARAMS.iterations})`,
    },
    "pack-size": {
      type: "string",
      arg: "MiB",
      description: `target size of a pack file (default ${DEFAULT_PACK_SIZE / 1048576}, ` +
        `${DEFAULT_S3_PACK_SIZE / 1048576} on s3:)`,
    },
    compression: {
      type: "string",
      arg: "LEVEL",
      description: `zstd level 0-19 for new data, 0 for none (default ${DEFAULT_COMPRESSION})`,
    },
    "object-lock": {
      type: "string",
      arg: "MODE:DAYS",
      description: "S3 only: keep packs, index and snapshots under Object Lock, e.g. governance:30",
    },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 0);
    const location = repositoryLocation(ctx);
    const password = await obtainPassword(ctx, { confirm: true });
    if (password === "") throw new Error("Refusing an empty password");
    const memMiB = intFlag(ctx.flags, "kdf-memory");
    const kdf = {
      ...DEFAULT_KDF_PARAMS,
      ...(memMiB !== undefined ? { memoryKiB: memMiB * 1024 } : {}),
      ...(intFlag(ctx.flags, "kdf-iterations") !== undefined
        ? { iterations: intFlag(ctx.flags, "kdf-iterations")! }
        : {}),
    };
    try {
      validateKdfParams(kdf); // before anything is created
    } catch (err) {
      throw new UsageError(`--kdf-memory/--kdf-iterations: ${(err as Error).message}`);
    }
    const compression = intFlag(ctx.flags, "compression");
    if (compression !== undefined && compression > 19) {
      throw new RangeError(`--compression ${compression} is above zstd's maximum of 19`);
    }
    const packMiB = intFlag(ctx.flags, "pack-size");
    if (packMiB !== undefined && (packMiB < 1 || packMiB > 128)) {
      throw new RangeError(`--pack-size ${packMiB} is outside 1-128 MiB`);
    }
    const copyParams = ctx.flags["copy-chunker-params"] === true;
    if (!copyParams && ctx.flags["from-repo"] !== undefined) {
      throw new UsageError("cairn init: --from-repo is used only with --copy-chunker-params");
    }
    // Opened before anything is created, so a wrong source password creates nothing.
    const chunksLike = copyParams ? await openFromRepository(ctx) : undefined;
    const lockFlag = ctx.flags["object-lock"];
    const objectLock = typeof lockFlag === "string" ? parseObjectLock(lockFlag) : undefined;
    const backend = await createRepositoryBackend(location, ctx.env, {
      objectLock: objectLock !== undefined,
    });
    const repo = await Repository.init(backend, password, {
      kdf,
      compression,
      objectLock,
      chunksLike,
      packSize: packMiB === undefined ? undefined : packMiB * 1048576,
      host: Deno.hostname(),
      username: ctx.env.USER ?? "",
    });
    const like = chunksLike ? { chunker_params_from: chunksLike.config.id } : {};
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify({ id: repo.config.id, location: backend.location, ...like }));
    } else {
      ctx.output.out(
        `created repository ${repo.config.id} at ${backend.location}` +
          (chunksLike ? ` with the chunker parameters of ${chunksLike.config.id}` : ""),
      );
    }
    return 0;
  },
};

/** "governance:30" or "compliance:365"; UsageError otherwise. */
export function parseObjectLock(s: string): ObjectLockConfig {
  const m = /^(governance|compliance):(\d{1,5})$/.exec(s.trim());
  const days = m ? Number(m[2]) : NaN;
  if (!m || days < 1 || days > 36500) {
    throw new UsageError(
      `--object-lock takes MODE:DAYS (governance or compliance, 1-36500 days), not "${s}"`,
    );
  }
  return { mode: m[1] as ObjectLockConfig["mode"], days };
}
