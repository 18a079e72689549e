// One scripts/dev per state folder: two runtimes on the same D1/KV files would both
// apply migrations and consume the same queues. The lock is a file holding the owner's
// pid; a lock whose process is gone (killed, crashed) is taken over.
import fs from "node:fs";
import path from "node:path";

/** Another live runtime holds the state folder. */
export class StateInUse extends Error {}

const LOCK_NAME = "scripts-dev.pid";

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/** Takes the lock of `stateDir` for this process; returns its release. Throws StateInUse. */
export function lockState(stateDir) {
  fs.mkdirSync(stateDir, { recursive: true });
  const file = path.join(stateDir, LOCK_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      return () => fs.rmSync(file, { force: true });
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    const owner = Number.parseInt(fs.readFileSync(file, "utf8"), 10);
    if (owner > 0 && owner !== process.pid && alive(owner)) {
      throw new StateInUse(`scripts/dev: another local runtime (pid ${owner}) is using the state folder ${stateDir}; stop it, or give this one its own --persist-to`);
    }
    fs.rmSync(file, { force: true }); // stale: its process is gone
  }
  throw new StateInUse(`scripts/dev: could not lock the state folder ${stateDir}`);
}
