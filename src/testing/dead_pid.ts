/** The pid of a process that ran and has exited: no process has it now. */
export async function deadPid(): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "0"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await child.status;
  return child.pid;
}
