/**
 * A MirrorWriterModule for mirror_sink_test.ts: plain appends, no temp file,
 * so the archiver's side of the sink is tested without `src/mirror`.
 */
import type { MirrorFileWrite, MirrorTarget } from "../mirror_sink.ts";

export class MirrorFileWriter implements MirrorFileWrite {
  readonly #file: Deno.FsFile;
  constructor(target: MirrorTarget) {
    this.#file = Deno.openSync(target.path, { write: true, createNew: true, mode: target.mode });
  }
  write(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length;) at += this.#file.writeSync(bytes.subarray(at));
  }
  commit(): string[] {
    this.#file.close();
    return ["committed"];
  }
  abort(): void {
    this.#file.close();
  }
}

export function retimeMirrorFile(_target: MirrorTarget): string[] {
  return ["retimed"];
}

export function holdsContent(target: MirrorTarget, content: readonly string[]): boolean {
  return target.expect !== undefined && target.expect.join() === content.join();
}
