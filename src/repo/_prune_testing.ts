/**
 * Test kit for prune and lock tests: small repositories, files of random
 * bytes, and a byte-for-byte restore of every snapshot.
 */
import { join } from "node:path";
import { type Backend, FILE_TYPES, LocalBackend } from "../backend/mod.ts";
import { assertEquals } from "../testing/asserts.ts";
import { checkRepository } from "./check.ts";
import { Repository } from "./repository.ts";
import type { SnapshotWithId } from "./snapshot.ts";

export const KDF = { memoryKiB: 8192, iterations: 1, parallelism: 1 };

/** A new repository with 64 KiB packs in a temp folder. */
export async function newRepo(): Promise<{ dir: string; backend: LocalBackend; repo: Repository }> {
  const dir = await Deno.makeTempDir({ prefix: "cairn-prune-" });
  const backend = await LocalBackend.create(join(dir, "repo"));
  const repo = await Repository.init(backend, "pw", { kdf: KDF, packSize: 64 * 1024 });
  return { dir, backend, repo };
}

/** Random, incompressible bytes. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/** Writes `files` (name → bytes) into a new folder `dir/name`; returns its path. */
export function writeTree(dir: string, name: string, files: Record<string, Uint8Array>): string {
  const root = join(dir, name);
  Deno.mkdirSync(root, { recursive: true });
  for (const [f, bytes] of Object.entries(files)) Deno.writeFileSync(join(root, f), bytes);
  return root;
}

/** Every file a snapshot holds, by absolute path, restored by walking its trees. */
export async function restoreFiles(
  repo: Repository,
  snap: SnapshotWithId,
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const walk = async (treeId: string, path: string) => {
    for (const n of (await repo.loadTree(treeId)).nodes) {
      const p = `${path}/${n.name}`;
      if (n.type === "dir") await walk(n.subtree!, p);
      else if (n.type === "file") {
        const parts = await Promise.all((n.content ?? []).map((id) => repo.loadBlob("data", id)));
        const bytes = new Uint8Array(parts.reduce((s, b) => s + b.length, 0));
        let at = 0;
        for (const b of parts) (bytes.set(b, at), at += b.length);
        out.set(p, bytes);
      }
    }
  };
  await walk(snap.tree, "");
  return out;
}

/**
 * Opens the repository afresh, restores every snapshot and compares each
 * file with the source still on disk; runs `check --read-data`. Returns the
 * number of snapshots.
 */
export async function verifyRepository(dir: string): Promise<number> {
  const repo = await Repository.open(new LocalBackend(dir), "pw");
  const snaps = await repo.listSnapshots();
  for (const s of snaps) {
    const files = await restoreFiles(repo, s);
    for (const [path, bytes] of files) {
      assertEquals(bytes, Deno.readFileSync(path), `snapshot ${s.id}: ${path} differs`);
    }
  }
  const check = await checkRepository(repo, { readData: true });
  assertEquals(check.errors, [], "check --read-data reports errors");
  return snaps.length;
}

/** Every stored file, as `type/name`, sorted. */
export async function listAll(backend: Backend): Promise<string[]> {
  const out: string[] = [];
  for (const t of FILE_TYPES) for await (const f of backend.list(t)) out.push(`${t}/${f.name}`);
  return out.sort();
}

/** Sets the mtime of every pack file `ageMs` into the past. */
export async function agePacks(backend: LocalBackend, ageMs: number): Promise<void> {
  const t = new Date(Date.now() - ageMs);
  for await (const f of backend.list("data")) {
    Deno.utimeSync(join(backend.dir, "data", f.name.slice(0, 2), f.name), t, t);
  }
}

/** Copies a folder tree (a repository template) to `to`. */
export function copyTree(from: string, to: string): void {
  Deno.mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const e of Deno.readDirSync(from)) {
    const a = join(from, e.name);
    const b = join(to, e.name);
    if (e.isDirectory) copyTree(a, b);
    else {
      Deno.copyFileSync(a, b);
      const { mtime } = Deno.statSync(a);
      if (mtime) Deno.utimeSync(b, mtime, mtime);
    }
  }
}
