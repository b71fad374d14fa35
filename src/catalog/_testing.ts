/** Test helpers: a fast-KDF repository in a temp dir and backups into it. */
import { backup } from "../archiver/mod.ts";
import { LocalBackend } from "../backend/mod.ts";
import { Repository, type SnapshotWithId } from "../repo/mod.ts";

/** A new repository in a new temp dir, with `dir/src` made for sources. */
export async function tempRepo(): Promise<{ dir: string; src: string; repo: Repository }> {
  const dir = await Deno.makeTempDir({ prefix: "cairn-catalog-" });
  Deno.mkdirSync(`${dir}/src`);
  const backend = await LocalBackend.create(`${dir}/repo`);
  const repo = await Repository.init(backend, "pw", {
    kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
  });
  return { dir, src: `${dir}/src`, repo };
}

/** Backs up `paths` (at `time`, if given) and returns the snapshot. */
export async function snap(
  repo: Repository,
  paths: string[],
  time?: Date,
): Promise<SnapshotWithId> {
  const r = await backup(repo, { paths, host: "h", workers: 1, time });
  return { ...r.snapshot, id: r.id };
}

/** Writes text files (creating parent dirs) under `root`. */
export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    const full = `${root}/${p}`;
    Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(full, text);
  }
}
