import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo, writeJobFile } from "./_launcher.ts";

interface Summary {
  snapshot: string;
  bytes_read: number;
  bytes_added: number;
}

async function sh(script: string): Promise<string> {
  const out = await new Deno.Command("sh", {
    args: ["-ec", script],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`${script}: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

/** Loop devices need root and a kernel that has them. */
async function canLoop(): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  try {
    await sh("losetup -f >/dev/null && command -v mkfs.ext4 >/dev/null");
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "backup --read-special: an ext4 disk image, changed and backed up again, restores fsck-clean",
  ignore: !(await canLoop()),
  async fn() {
    const { dir, env } = await makeRepo();
    const img = `${dir}/disk.img`;
    const mnt = `${dir}/mnt`;
    await Deno.mkdir(mnt);
    await sh(`truncate -s 96M ${img} && mkfs.ext4 -q -F ${img}`);
    const dev = await sh(`losetup -f --show ${img}`);
    try {
      await sh(`mount ${dev} ${mnt} && head -c 6000000 /dev/urandom > ${mnt}/random.bin &&
        seq 1 100000 > ${mnt}/numbers.txt && mkdir ${mnt}/sub && echo hello > ${mnt}/sub/a.txt &&
        umount ${mnt}`);
      const first = await cairn(["backup", "--read-special", dev, "--json"], { env });
      assertEquals(first.code, 0, first.stderr);
      const s1 = lastJson<Summary>(first);
      assertEquals(s1.bytes_read, 96 * 1024 * 1024, "the device's size, not the node's 0");
      assert(s1.bytes_added < 16 * 1024 * 1024, `zeros stored once: ${s1.bytes_added} added`);
      const ls = await cairn(["ls", "-l", "latest"], { env });
      assert(ls.stdout.includes(`96.0 MiB`), ls.stdout);

      // 1 MB of the filesystem changes: the second image adds about that much.
      await sh(`mount ${dev} ${mnt} && head -c 1000000 /dev/urandom > ${mnt}/sub/new.bin &&
        umount ${mnt}`);
      const second = await cairn(["backup", "--read-special", dev, "--json"], { env });
      const s2 = lastJson<Summary>(second);
      console.log(`image: first added ${s1.bytes_added}, second ${s2.bytes_added} bytes`);
      assert(s2.bytes_added < 4_000_000, `second image added ${s2.bytes_added} bytes`);
      assert(s2.bytes_added < s1.bytes_added / 2);

      const target = `${dir}/restored`;
      const r = await cairn(["restore", "latest", "--target", target], { env });
      assertEquals(r.code, 0, r.stderr);
      const file = `${target}${dev}`;
      const st = await Deno.stat(file);
      assert(st.isFile);
      assertEquals(st.size, 96 * 1024 * 1024);
      assert(st.blocks! * 512 < st.size / 2, `sparse: ${st.blocks! * 512} bytes allocated`);
      await sh(`cmp ${file} ${dev}`);
      await sh(`fsck.ext4 -n -f ${file} >/dev/null`);
      const dump = await cairn(["dump", "latest", dev], { env });
      assertEquals(dump.stdoutBytes.length, st.size);
      await sh(`mount -o loop,ro ${file} ${mnt} && test "$(cat ${mnt}/sub/a.txt)" = hello &&
        test "$(wc -l < ${mnt}/numbers.txt)" = 100000 && test -s ${mnt}/sub/new.bin && umount ${mnt}`);

      // Onto a second loop device: only with room, unmounted; then fsck-clean.
      await sh(`truncate -s 96M ${dir}/dest.img && truncate -s 64M ${dir}/small.img`);
      const dest = await sh(`losetup -f --show ${dir}/dest.img`);
      const small = await sh(`losetup -f --show ${dir}/small.img`);
      try {
        const onto = (d: string) =>
          cairn(["restore", "latest", "--path", dev, "--to-device", d], { env });
        const tooSmall = await onto(small);
        assertEquals(tooSmall.code, 2, tooSmall.stderr);
        assertStringIncludes(tooSmall.stderr, `${small} holds 67108864 bytes, less than`);
        const notDev = await onto(img);
        assertEquals(notDev.code, 2);
        assertStringIncludes(notDev.stderr, "is not a block device");
        await sh(`mkfs.ext4 -q -F ${dest} && mount ${dest} ${mnt}`);
        const mounted = await onto(dest);
        await sh(`umount ${mnt}`);
        assertEquals(mounted.code, 2, mounted.stderr);
        assertStringIncludes(mounted.stderr, `${dest} is mounted on ${mnt}`);
        assertEquals(mounted.stderr.trim().split("\n").length, 1);
        const ok = await onto(dest);
        assertEquals(ok.code, 0, ok.stderr);
        await sh(`cmp ${dest} ${dev} && fsck.ext4 -n -f ${dest} >/dev/null`);
        await sh(`mount -o ro ${dest} ${mnt} &&
          test "$(cat ${mnt}/sub/a.txt)" = hello && umount ${mnt}`);
      } finally {
        await sh(`umount ${mnt} 2>/dev/null || true; losetup -d ${dest}; losetup -d ${small}`);
      }

      // A source that is a symlink to the device stands for the device.
      await Deno.symlink(dev, `${dir}/disk-link`);
      const viaLink = await cairn(["backup", "--read-special", `${dir}/disk-link`, "--json"], {
        env,
      });
      assertEquals(lastJson<Summary>(viaLink).bytes_read, 96 * 1024 * 1024, viaLink.stderr);
      assertEquals(lastJson<Summary>(viaLink).bytes_added < 100_000, true, "nothing new");

      // Without --read-special the device is a device node, as before.
      const plain = await cairn(["backup", dev, "--json"], { env });
      assertEquals(lastJson<Summary>(plain).bytes_read, 0);
    } finally {
      await sh(`umount ${mnt} 2>/dev/null || true; losetup -d ${dev}`);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a job images a mounted ext4 frozen by its before hook and thawed by its after hook",
  ignore: !(await canLoop()),
  async fn() {
    const { dir, env } = await makeRepo();
    const img = `${dir}/live.img`;
    const mnt = `${dir}/live`;
    await Deno.mkdir(mnt);
    await sh(`truncate -s 64M ${img} && mkfs.ext4 -q -F ${img}`);
    const dev = await sh(`losetup -f --show ${img}`);
    try {
      await sh(`mount ${dev} ${mnt} && seq 1 50000 > ${mnt}/data.txt`);
      const config = await writeJobFile(dir, env, [
        "[[job]]",
        `name = "live"`,
        `paths = ["${dev}"]`,
        "read_special = true",
        `before = [["fsfreeze", "--freeze", "${mnt}"]]`,
        `after = [["fsfreeze", "--unfreeze", "${mnt}"]]`,
      ]);
      const r = await cairn(["run", "--config", config, "live"]);
      assertEquals(r.code, 0, r.stdout + r.stderr);
      // Thawed again: the filesystem takes writes.
      await sh(`echo after > ${mnt}/after.txt && sync`);
      const target = `${dir}/restored`;
      assertEquals((await cairn(["restore", "latest", "--target", target], { env })).code, 0);
      const file = `${target}${dev}`;
      // Frozen, the image is consistent: clean without replaying a journal.
      await sh(`fsck.ext4 -n -f ${file} >/dev/null`);
      await sh(`mkdir ${dir}/ro && mount -o loop,ro ${file} ${dir}/ro &&
        test "$(wc -l < ${dir}/ro/data.txt)" = 50000 && test ! -e ${dir}/ro/after.txt &&
        umount ${dir}/ro`);
    } finally {
      await sh(
        `fsfreeze --unfreeze ${mnt} 2>/dev/null || true; umount ${dir}/ro 2>/dev/null || true;
        umount ${mnt} 2>/dev/null || true; losetup -d ${dev}`,
      );
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "backup --read-special on a terminal shows percent of the device's size and an ETA",
  ignore: !(await canLoop()) || !(await sh("command -v script").then(() => true, () => false)),
  async fn() {
    const { dir, env } = await makeRepo();
    await sh(`truncate -s 256M ${dir}/zero.img`);
    const dev = await sh(`losetup -f --show ${dir}/zero.img`);
    try {
      const main = new URL("../main.ts", import.meta.url).pathname;
      const cmd = `${Deno.execPath()} run --allow-all --quiet ${main} backup --read-special ${dev}`;
      const out = await new Deno.Command("script", {
        args: ["-qfec", cmd, "/dev/null"],
        env: { ...env, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, text);
      assert(/\d+\.\d% of 256\.0 MiB, ETA \d+s/.test(text), text.slice(-2000));
    } finally {
      await sh(`losetup -d ${dev}`);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
